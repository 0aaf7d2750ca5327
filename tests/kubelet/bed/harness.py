"""A real `kite kubelet` against the test bed's containerd, driven by writing
and removing static pod manifests, observed through its /pods endpoint, the
CRI (`kite cri`) and real network traffic to pod IPs.

Runs inside the bed (tests/testbed/testbed.sh exec), so KITE_TB_* is set."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

ENV = os.environ


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(ip, port, path="/", timeout=2.0):
    """Body of GET http://ip:port/path, or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://{ip}:{port}{path}", timeout=timeout) as r:
            return r.read().decode()
    except OSError:
        return None


def tcp_exchange(ip, port, line, timeout=3.0):
    """Sends one line, returns the first line of the answer (mysql stand-in protocol)."""
    with socket.create_connection((ip, port), timeout=timeout) as s:
        s.sendall(line.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode().strip()


class Kubelet:
    def __init__(self, kite, node_name="kite-test", extra_args=()):
        self.kite = kite
        self.node = node_name
        self.dir = tempfile.mkdtemp(prefix="kubelet-", dir=ENV["KITE_TB_DIR"])
        self.manifests = os.path.join(self.dir, "manifests")
        self.root = os.path.join(self.dir, "root")
        self.logs = os.path.join(self.dir, "logs")
        os.makedirs(self.manifests)
        self.port = free_port()
        self.cgroup_root = ENV["KITE_TB_CGROUP_PARENT"] + "/kubelet"
        self.extra_args = list(extra_args)
        self.proc = None
        self.log_path = os.path.join(self.dir, "kubelet.log")

    # --- process -------------------------------------------------------------
    def start(self):
        cmd = [self.kite, "kubelet", "--pod-manifest-path", self.manifests,
               "--container-runtime-endpoint", ENV["KITE_TB_CRI_ENDPOINT"],
               "--root-dir", self.root, "--pod-logs-dir", self.logs,
               "--cgroup-root", self.cgroup_root, "--node-name", self.node,
               "--healthz-port", str(self.port), "--sync-frequency", "2"] + self.extra_args
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_for(lambda: self.pods() is not None, 20, "kubelet status endpoint")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and not self.log.closed:
            self.log.close()

    def cleanup(self):
        """Removes every manifest, lets the kubelet remove the pods, stops it,
        and sweeps anything left in the runtime."""
        if self.proc and self.proc.poll() is None:
            for f in os.listdir(self.manifests):
                os.remove(os.path.join(self.manifests, f))
            try:
                self.wait_for(lambda: self.pods() == [] and not self.cri_pods(), 90,
                              "pods removed")
            except AssertionError:
                pass
        self.stop()
        for pod_id in self.cri_pods():
            self.cri("rmp", pod_id)
        subprocess.run(["umount", "-R", self.root], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    # --- observing -----------------------------------------------------------
    def pods(self):
        """The kubelet's pods (with status), or None when it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/pods", timeout=2) as r:
                return json.loads(r.read())["items"]
        except OSError:
            return None

    def pod(self, name, namespace="default"):
        for p in self.pods() or []:
            if p["metadata"]["name"] == f"{name}-{self.node}" and \
                    p["metadata"]["namespace"] == namespace:
                return p
        return None

    def cri(self, *args):
        out = subprocess.run([self.kite, "cri", "--container-runtime-endpoint",
                              ENV["KITE_TB_CRI_ENDPOINT"], *args],
                             capture_output=True, text=True, check=True)
        return out.stdout

    def _kite_containers(self, kind):
        """Ids of kite-created containerd containers of a CRI kind (sandbox | container)."""
        out = subprocess.run(["ctr", "--address", ENV["KITE_TB_CONTAINERD_SOCK"], "-n", "k8s.io",
                              "containers", "list", "-q",
                              'labels."io.kite.managed-by"==kite-kubelet,'
                              f'labels."io.cri-containerd.kind"=={kind}'],
                             capture_output=True, text=True, check=True)
        return sorted(line for line in out.stdout.split() if line)

    def cri_pods(self):
        """Ids of the sandboxes kite created (label io.kite.managed-by)."""
        return self._kite_containers("sandbox")

    def cri_containers(self):
        return self._kite_containers("container")

    @staticmethod
    def wait_for(predicate, timeout, what):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = predicate()
                if last:
                    return last
            except (KeyError, IndexError, TypeError, OSError) as e:
                last = f"{type(e).__name__}: {e}"
            time.sleep(0.25)
        raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")

    def wait_pod(self, name, predicate, timeout=60, namespace="default"):
        return self.wait_for(lambda: (lambda p: p if p and predicate(p) else None)(
            self.pod(name, namespace)), timeout, f"pod {name}")

    # --- desired state -------------------------------------------------------
    def write_manifest(self, filename, text):
        tmp = os.path.join(self.manifests, "." + filename + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, os.path.join(self.manifests, filename))

    def copy_manifest(self, path):
        shutil.copy(path, self.manifests)

    def remove_manifest(self, filename):
        os.remove(os.path.join(self.manifests, filename))


def phase(p):
    return p.get("status", {}).get("phase")


def container_state(p, name, init=False):
    key = "initContainerStatuses" if init else "containerStatuses"
    for s in p.get("status", {}).get(key, []):
        if s["name"] == name:
            return s
    return None


def waiting_reason(p, name, init=False):
    s = container_state(p, name, init)
    return s and s.get("state", {}).get("waiting", {}).get("reason")
