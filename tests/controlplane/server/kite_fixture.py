"""Test fixture: a `kite server --disable-agent` on a free loopback port with a temporary data
directory, and helpers to run the real kubectl against it.

The server is started as a child process and always ended by its PID (on success, failure
and interpreter exit), so a failing test never leaves it behind. With KITE_DATASTORE=etcd
each server gets its own etcd (Debian's /usr/bin/etcd on free loopback ports, data in the
temp dir) and runs with --datastore-endpoint, so the same tests cover both backends.
"""

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

KITE = os.environ.get("KITE_BIN", "")
KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")
EXAMPLES = os.environ.get("KITE_EXAMPLES", "")
DATASTORE = os.environ.get("KITE_DATASTORE", "sqlite")
ETCD = os.environ.get("KITE_ETCD_BINARY", "/usr/bin/etcd")

_live = set()


def _kill_all():
    for proc in list(_live):
        _stop_process(proc, signal.SIGKILL)


atexit.register(_kill_all)


def _stop_process(proc, sig):
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    _live.discard(proc)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_tools(test_case_class):
    """Skips the whole class when the kite binary or kubectl is missing."""
    if not KITE or not os.access(KITE, os.X_OK):
        raise unittest.SkipTest("KITE_BIN does not name the kite binary")
    if not os.access(KUBECTL, os.X_OK):
        raise unittest.SkipTest(KUBECTL + " not installed")


class KiteServer:
    """One `kite server` process. start() may be called again after stop()/kill() to restart
    on the same data directory and port."""

    def __init__(self, workdir=None):
        self._own_dir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="kite-server-test-")
        self.data_dir = os.path.join(self.workdir, "data")
        self.kubeconfig = os.path.join(self.workdir, "kubeconfig")
        self.log_path = os.path.join(self.workdir, "server.log")
        self.port = None
        self.proc = None
        self.etcd = None
        self.etcd_endpoint = None

    # -- lifecycle ------------------------------------------------------------------------

    def _start_etcd(self, timeout=60):
        if self.etcd is not None and self.etcd.poll() is None:
            return
        if not os.access(ETCD, os.X_OK):
            raise AssertionError(ETCD + " not found: install etcd-server (tools/install-deps.sh)")
        client, peer = free_port(), free_port()
        self.etcd_endpoint = "http://127.0.0.1:%d" % client
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
        log = open(os.path.join(self.workdir, "etcd.log"), "ab")
        try:
            self.etcd = subprocess.Popen(
                [ETCD, "--name", "kite-test", "--data-dir", os.path.join(self.workdir, "etcd"),
                 "--listen-client-urls", self.etcd_endpoint,
                 "--advertise-client-urls", self.etcd_endpoint,
                 "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
                 "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
                 "--initial-cluster", "kite-test=http://127.0.0.1:%d" % peer],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        finally:
            log.close()
        _live.add(self.etcd)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.etcd.poll() is not None:
                raise AssertionError("etcd exited; see " + os.path.join(self.workdir, "etcd.log"))
            # Listening is not serving yet: ask etcd itself.
            r = subprocess.run(["etcdctl", "--endpoints", self.etcd_endpoint, "endpoint",
                                "health"], capture_output=True, text=True,
                               env=dict(env, ETCDCTL_API="3"))
            if r.returncode == 0:
                return
            time.sleep(0.2)
        raise AssertionError("etcd did not become healthy")

    def start(self, timeout=60):
        if DATASTORE == "etcd":
            self._start_etcd()
        for _attempt in range(5):
            if self.port is None:
                self.port = free_port()
            if self._spawn(timeout):
                return self
            # The port was taken between picking and binding: pick another one.
            if "in use" in self.log():
                self.port = None
                continue
            raise AssertionError("kite server did not become ready:\n" + self.log())
        raise AssertionError("kite server found no free port:\n" + self.log())

    def _spawn(self, timeout):
        log = open(self.log_path, "ab")
        try:
            # The API server alone: no controllers writing objects (kube-root-ca.crt, default
            # ServiceAccounts, the kube-dns Service) into the namespaces these tests count.
            args = [KITE, "server", "--disable-agent", "--disable-scheduler",
                    "--disable-controller-manager", "--disable=coredns", "--data-dir", self.data_dir,
                    "--bind-address", "127.0.0.1", "--https-listen-port", str(self.port),
                    "--write-kubeconfig", self.kubeconfig]
            if self.etcd_endpoint:
                args += ["--datastore-endpoint", self.etcd_endpoint]
            self.proc = subprocess.Popen(
                args,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            log.close()
        _live.add(self.proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                _live.discard(self.proc)
                return False
            if os.path.exists(self.kubeconfig):
                r = self.kubectl("get", "--raw", "/readyz", check=False, timeout=10)
                if r.returncode == 0:
                    return True
            time.sleep(0.1)
        self.stop()
        return False

    def stop(self):
        if self.proc is not None:
            _stop_process(self.proc, signal.SIGTERM)

    def kill9(self):
        if self.proc is not None:
            _stop_process(self.proc, signal.SIGKILL)

    def cleanup(self):
        self.kill9()
        if self.etcd is not None:
            _stop_process(self.etcd, signal.SIGKILL)
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # -- kubectl --------------------------------------------------------------------------

    def env(self, **extra):
        e = dict(os.environ)
        e["KUBECONFIG"] = self.kubeconfig
        e["HOME"] = self.workdir  # kubectl's discovery cache stays in the temp dir
        e.update(extra)
        return e

    def kubectl(self, *args, check=True, input=None, timeout=60, env=None):
        """Runs kubectl; returns the CompletedProcess (text). check=True raises with both
        outputs on a non-zero exit."""
        r = subprocess.run([KUBECTL, *args], capture_output=True, text=True, input=input,
                           timeout=timeout, env=env or self.env())
        if check and r.returncode != 0:
            raise AssertionError("kubectl %s failed (%d):\nstdout: %s\nstderr: %s" %
                                 (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def kubectl_json(self, *args):
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def popen_kubectl(self, *args):
        """A background kubectl (e.g. get -w); the caller ends it with stop_kubectl()."""
        p = subprocess.Popen([KUBECTL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=self.env())
        _live.add(p)
        return p

    @staticmethod
    def stop_kubectl(p):
        _stop_process(p, signal.SIGKILL)


class ServerTestCase(unittest.TestCase):
    """One server shared by the tests of a class."""

    server = None

    @classmethod
    def setUpClass(cls):
        require_tools(cls)
        cls.server = KiteServer()
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()

    def kubectl(self, *args, **kw):
        return self.server.kubectl(*args, **kw)

    # Objects are made with `kubectl apply` (JSON bodies): `kubectl create <kind>` sends
    # protobuf, which has its own test.
    def apply_json(self, obj):
        return self.kubectl("apply", "-f", "-", input=json.dumps(obj))

    def make_namespace(self, name):
        self.apply_json({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return name

    def configmap(self, ns, name, data):
        self.apply_json({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": name, "namespace": ns}, "data": data})

    def service(self, ns, name, port=80):
        self.apply_json({"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": name, "namespace": ns},
                         "spec": {"selector": {"app": name},
                                  "ports": [{"port": port, "protocol": "TCP"}]}})
