"""What the cluster bed tests share: kite processes stopped by PID, the agent flags for a node
on the bed, a second containerd for a second node, and kubectl helpers.

Runs inside the bed (tests/testbed/testbed.sh exec), so KITE_TB_* is set."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "kubelet", "bed"))
from harness import ENV, Kubelet, free_port  # noqa: E402,F401

KITE = "kite"  # set by the test script from its arguments
wait_for = Kubelet.wait_for


class Process:
    """A kite process with its own folder, stopped by PID."""

    def __init__(self, name, args):
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=ENV["KITE_TB_DIR"])
        self.args = args
        self.log_path = os.path.join(self.dir, name + ".log")
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen([kite_binary()] + self.args(self.dir), stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()


def agent_args(root, node, runtime, extra=(), proxy=False):
    """Flags for a node on the bed. Only one node runs the Service proxy: all nodes share the
    bed's network namespace, and with it one nftables table."""
    return ["--container-runtime-endpoint", runtime, *([] if proxy else ["--disable-kube-proxy"]),
            "--root-dir", os.path.join(root, "kubelet"),
            "--pod-logs-dir", os.path.join(root, "pod-logs"),
            "--cgroup-root", ENV["KITE_TB_CGROUP_PARENT"] + "/" + node,
            "--node-name", node, "--node-ip", "127.0.0.1",
            "--healthz-port", str(free_port()), "--port", str(free_port()),
            "--sync-frequency", "2", "--node-lease-renew-interval", "2s", *extra]


class SecondContainerd:
    """A containerd of its own for the second node: the bed's configuration with its own root,
    state, sockets, runc root and streaming port (same netns, CNI network and registries, so
    pod IPs come from the same pool without clashing)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="containerd2-", dir=ENV["KITE_TB_DIR"])
        bed = ENV["KITE_TB_DIR"]
        with open(os.path.join(bed, "containerd.toml")) as f:
            config = f.read()
        for name in ("containerd/root", "containerd/state", "containerd.sock",
                     "containerd-ttrpc.sock", "containerd-debug.sock", '/opt"', '/runc"'):
            config = config.replace(f"{bed}/{name}", f"{self.dir}/{name}")
        config = config.replace(f'stream_server_port = "{ENV["KITE_TB_STREAM_PORT"]}"',
                                f'stream_server_port = "{free_port()}"')
        self.socket = os.path.join(self.dir, "containerd.sock")
        self.config = os.path.join(self.dir, "containerd.toml")
        with open(self.config, "w") as f:
            f.write(config)
        self.log = open(os.path.join(self.dir, "containerd.log"), "a")
        self.proc = subprocess.Popen(["containerd", "--config", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(self.socket), 30, "second containerd")

    def container_ids(self, uid):
        out = subprocess.run(["ctr", "--address", self.socket, "-n", "k8s.io", "containers",
                              "list", "-q", f'labels."io.kubernetes.pod.uid"=={uid}'],
                             capture_output=True, text=True, check=True)
        return out.stdout.split()

    def remove_all_pods(self):
        """What a killed agent left running here (the bed's `down` would get it too)."""
        cri = [kite_binary(), "cri", "--container-runtime-endpoint", "unix://" + self.socket]
        out = subprocess.run(cri + ["pods"], capture_output=True, text=True)
        for line in out.stdout.splitlines()[1:]:
            if line.split():
                subprocess.run(cri + ["rmp", line.split()[0]], capture_output=True)

    def stop(self):
        self.remove_all_pods()
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        subprocess.run(["umount", "-R", self.dir], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


def kite_binary():
    return KITE


class Kubectl:
    """kubectl against one kubeconfig."""

    def __init__(self, kubeconfig):
        self.kubeconfig = kubeconfig

    def __call__(self, *args, stdin=None, check=True):
        out = subprocess.run(["kubectl", "--kubeconfig", self.kubeconfig, *args],
                             input=stdin, capture_output=True, text=True)
        if check and out.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {out.stderr}")
        return out

    def json(self, *args):
        out = self(*args, "-o", "json", check=False)
        return json.loads(out.stdout) if out.returncode == 0 else None


def node_ready(node):
    return bool(node) and any(c["type"] == "Ready" and c["status"] == "True"
                              for c in node["status"].get("conditions", []))


def start_server(port, node, extra=()):
    """`kite server` with its agent on the bed's containerd; returns (process, kubectl)."""
    server = Process("server", lambda d: [
        "server", "--bind-address", "127.0.0.1", "--https-listen-port", str(port),
        "--data-dir", os.path.join(d, "data"),
        "--write-kubeconfig", os.path.join(d, "admin.kubeconfig"),
        *agent_args(d, node, ENV["KITE_TB_CRI_ENDPOINT"], proxy=True), *extra])
    server.start()
    kubectl = Kubectl(os.path.join(server.dir, "admin.kubeconfig"))
    wait_for(lambda: os.path.exists(kubectl.kubeconfig) and kubectl.json("get", "node", node),
             60, "the server's own node registered")
    return server, kubectl


def stop_server(server):
    server.stop()
    subprocess.run(["umount", "-R", os.path.join(server.dir, "kubelet")],
                   stderr=subprocess.DEVNULL)
    shutil.rmtree(server.dir, ignore_errors=True)


def join_token(server):
    with open(os.path.join(server.dir, "data", "server", "token")) as f:
        return f.read().strip()
