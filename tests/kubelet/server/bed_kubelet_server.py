"""The kubelet HTTPS server end to end on the test bed: a real `kite server`
and `kite kubelet --kubeconfig`, then real kubectl through the API server to the
kubelet and on to containerd's streaming server: logs (also -f), exec and attach
(over WebSocket v5.channel.k8s.io, which the API server translates to SPDY, and
over SPDY itself; also to a reader slower than the command, and over the
base64.channel.k8s.io protocols client libraries use), port-forward, the same
WebSocket exec, attach and port-forward through nodes/NAME/proxy/ (a raw
WebSocket client; other WebSocket upgrades there get a 400), and a request
without credentials refused with 401.

Usage (through CTest): testbed.sh exec BED python3 bed_kubelet_server.py KITE"""

import base64
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import ssl
import struct
import subprocess
import sys
import tempfile
import termios
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bed"))
from harness import ENV, Kubelet, free_port  # noqa: E402
from stream_clients import OP_BINARY, SpdyPortForward, WebSocket  # noqa: E402

KITE = sys.argv[1] if len(sys.argv) > 1 else "kite"
del sys.argv[1:2]

NODE = "kite-server-node"
KUBELET_PORT = 10250  # what the Node reports (the bed has a network namespace of its own)

POD = f"""
apiVersion: v1
kind: Pod
metadata:
  name: streams
spec:
  nodeName: {NODE}
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: nginx:1.22.1
  - name: counter
    image: busybox:1.35
    command: ["sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.3; done"]
  - name: reader
    image: busybox:1.35
    stdin: true
    command: ["sh", "-c", "while read l; do echo got $l; done"]
"""


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="server-", dir=ENV["KITE_TB_DIR"])
        self.data = os.path.join(self.dir, "data")
        self.kubeconfig = os.path.join(self.dir, "admin.kubeconfig")
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "server.log"), "a")
        self.proc = subprocess.Popen(
            [KITE, "server", "--disable-agent", "--disable-scheduler",
             "--disable-controller-manager", "--bind-address", "127.0.0.1",
             "--https-listen-port", str(self.port), "--data-dir", self.data,
             "--write-kubeconfig", self.kubeconfig, "--log-level", "warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        Kubelet.wait_for(lambda: os.path.exists(self.kubeconfig) and subprocess.run(
            ["kubectl", "--kubeconfig", self.kubeconfig, "get", "--raw", "/readyz"],
            capture_output=True).returncode == 0, 30, "API server")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def sign_serving_certificate(ca_cert, ca_key, folder):
    """A serving certificate for 127.0.0.1 signed by the given CA: (cert, key) paths."""
    key, csr, cert = (os.path.join(folder, f"kubelet.{x}") for x in ("key", "csr", "crt"))
    ext = os.path.join(folder, "kubelet.ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=IP:127.0.0.1,DNS:{NODE}\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-subj", f"/CN={NODE}", "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
            "-days", "1", "-extfile", ext, "-out", cert)
    return cert, key


class ImpostorKubelet:
    """An HTTPS server with a self-signed certificate, counting the requests that reach it."""

    def __init__(self, folder):
        import http.server
        import threading
        self.requests = 0
        cert, key = os.path.join(folder, "impostor.crt"), os.path.join(folder, "impostor.key")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=impostor",
                "-addext", "subjectAltName=IP:127.0.0.1")
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server spelling)
                outer.requests += 1
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"secrets the impostor should never be asked for\n")

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class KubeletServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kubelet = None
        cls.server = Server()
        try:
            tls = os.path.join(cls.server.data, "server", "tls")
            # The API server checks kubelets' serving certificates against its server CA
            # (agents get theirs when they join); a kubelet started by hand gets one the same
            # CA signed.
            cert, key = sign_serving_certificate(os.path.join(tls, "server-ca.crt"),
                                                 os.path.join(tls, "server-ca.key"),
                                                 cls.server.dir)
            cls.kubelet = Kubelet(KITE, node_name=NODE, extra_args=[
                "--kubeconfig", cls.server.kubeconfig, "--node-ip", "127.0.0.1",
                "--address", "127.0.0.1", "--port", str(KUBELET_PORT),
                "--client-ca-file", os.path.join(tls, "client-ca.crt"),
                "--tls-cert-file", cert, "--tls-private-key-file", key])
            cls.kubelet.start()
            Kubelet.wait_for(
                lambda: cls.kubectl("get", "node", NODE, check=False).returncode == 0,
                30, "node registered")
            cls.kubectl("apply", "-f", "-", stdin=POD)
            Kubelet.wait_for(lambda: cls.running(), 90, "pod running")
        except BaseException:
            cls.tearDownClass()  # unittest skips it when setUpClass fails: leave nothing
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.kubectl("delete", "pod", "streams", "--grace-period=1", "--wait=false",
                        check=False)
            Kubelet.wait_for(lambda: cls.kubectl("get", "pod", "streams", check=False)
                             .returncode != 0, 30, "pod deleted")
        except AssertionError:
            pass
        finally:
            if cls.kubelet:
                cls.kubelet.cleanup()
            cls.server.stop()

    @classmethod
    def kubectl(cls, *args, stdin=None, check=True, timeout=60):
        out = subprocess.run(["kubectl", "--kubeconfig", cls.server.kubeconfig, *args],
                             input=stdin, capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {out.stderr}")
        return out

    @classmethod
    def running(cls):
        out = cls.kubectl("get", "pod", "streams", "-o", "json", check=False)
        if out.returncode != 0:
            return False
        statuses = json.loads(out.stdout)["status"].get("containerStatuses", [])
        return len(statuses) == 3 and all("running" in s["state"] for s in statuses)

    def test_logs(self):
        Kubelet.wait_for(lambda: "line 2" in self.kubectl("logs", "streams", "-c", "counter").stdout,
                         20, "three lines")
        out = self.kubectl("logs", "streams", "-c", "counter", "--tail=1").stdout
        self.assertEqual(len(out.strip().splitlines()), 1, out)
        self.assertTrue(out.startswith("line "), out)
        stamped = self.kubectl("logs", "streams", "-c", "counter", "--tail=1",
                               "--timestamps").stdout
        self.assertRegex(stamped, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line \d+\n$")
        limited = self.kubectl("logs", "streams", "-c", "counter", "--limit-bytes=4").stdout
        self.assertEqual(limited, "line")
        # No container named and two in the pod: the API server's own error (kubectl itself
        # would pick the first container).
        err = self.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/streams/log",
                           check=False)
        self.assertNotEqual(err.returncode, 0)
        self.assertIn("a container name must be specified", err.stderr)

    def test_logs_follow(self):
        proc = subprocess.Popen(["kubectl", "--kubeconfig", self.server.kubeconfig, "logs", "-f",
                                 "streams", "-c", "counter", "--tail=1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = proc.stdout.readline()
            second = proc.stdout.readline()
            third = proc.stdout.readline()
            numbers = [int(line.split()[1]) for line in (first, second, third)]
            self.assertEqual(numbers, [numbers[0], numbers[0] + 1, numbers[0] + 2])
        finally:
            proc.terminate()
            proc.wait(10)
            proc.stdout.close()
            proc.stderr.close()

    def kubectl_streaming(self, websockets, *args, stdin=None, verbose=True, level=6):
        """kubectl with remote command WebSockets on or off (and -v=6, so its requests show)."""
        env = dict(os.environ,
                   KUBECTL_REMOTE_COMMAND_WEBSOCKETS="true" if websockets else "false")
        return subprocess.run(["kubectl", "--kubeconfig", self.server.kubeconfig,
                               *([f"-v={level}"] if verbose else []), *args],
                              input=stdin, capture_output=True, text=True, timeout=60, env=env)

    def assert_upgrade(self, stderr, sub, websockets):
        """kubectl -v=6 logged the upgrade it made: WebSocket (GET) accepted with 101 and no
        fallback to SPDY (POST), or SPDY alone when WebSockets are off."""
        if websockets:
            self.assertRegex(stderr, rf"GET https://\S+/pods/streams/{sub}\?\S* 101")
            self.assertNotRegex(stderr, rf"POST https://\S+/pods/streams/{sub}")
        else:
            self.assertRegex(stderr, rf"POST https://\S+/pods/streams/{sub}\?\S* 101")
            self.assertNotRegex(stderr, rf"GET https://\S+/pods/streams/{sub}")

    def check_exec(self, websockets):
        mode = "websocket" if websockets else "spdy"
        out = self.kubectl_streaming(websockets, "exec", "streams", "-c", "web", "--", "sh", "-c",
                                     "cat /etc/hostname", level=8 if websockets else 6)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "streams")
        if websockets:
            # -v=8 shows the headers: kubectl offers v5.channel.k8s.io alone, the API server
            # agrees to it, and there is no fallback (POST).
            self.assertRegex(out.stderr, r"(?s)Sec-Websocket-Protocol: v5\.channel\.k8s\.io\n.*"
                                         r"Response Status: 101 Switching Protocols")
            self.assertIn("The subprotocol is v5.channel.k8s.io", out.stderr)
            self.assertNotIn("POST https://", out.stderr)
        else:
            self.assert_upgrade(out.stderr, "exec", websockets)
        # stdout and stderr arrive apart (channels 1 and 2, or two SPDY streams).
        both = self.kubectl_streaming(websockets, "exec", "streams", "-c", "web", "--", "sh", "-c",
                                      "echo out; echo err >&2", verbose=False)
        self.assertEqual(both.returncode, 0, both.stderr)
        self.assertEqual(both.stdout, "out\n", mode)
        self.assertEqual(both.stderr, "err\n", mode)
        # The exit code comes back (the error channel's Status, reason NonZeroExitCode).
        failed = self.kubectl_streaming(websockets, "exec", "streams", "-c", "web", "--", "sh",
                                        "-c", "exit 3")
        self.assertEqual(failed.returncode, 3, failed.stderr)
        self.assert_upgrade(failed.stderr, "exec", websockets)
        # stdin, and its end reaching the command (v5's close message, or the SPDY half-close):
        # cat returns once stdin is over.
        echoed = self.kubectl_streaming(websockets, "exec", "-i", "streams", "-c", "web", "--",
                                        "cat", stdin="hi\n")
        self.assertEqual(echoed.returncode, 0, echoed.stderr)
        self.assertEqual(echoed.stdout, "hi\n", mode)
        self.assert_upgrade(echoed.stderr, "exec", websockets)
        data = "x" * 100000 + "\n"
        counted = self.kubectl_streaming(websockets, "exec", "-i", "streams", "-c", "web", "--",
                                         "sh", "-c", "wc -c", stdin=data, verbose=False)
        self.assertEqual(counted.returncode, 0, counted.stderr)
        self.assertEqual(counted.stdout.strip(), str(len(data)), mode)

        # Output larger than SPDY's 64 KiB window and many WebSocket messages, intact.
        big = self.kubectl_streaming(websockets, "exec", "streams", "-c", "web", "--", "sh", "-c",
                                     "head -c 3000000 /dev/zero | tr '\\0' x", verbose=False)
        self.assertEqual(big.returncode, 0, big.stderr)
        self.assertEqual(big.stdout, "x" * 3000000, mode)

    def test_exec(self):
        # kubectl's default: WebSocket v5.channel.k8s.io, translated to SPDY by the API server.
        self.check_exec(websockets=True)

    def test_exec_failures_read_the_same_both_ways(self):
        # A command the runtime cannot start: the runtime's Status reaches kubectl unchanged
        # through the translator, so kubectl says and returns what it does over SPDY.
        results = [self.kubectl_streaming(websockets, "exec", "streams", "-c", "web", "--",
                                          "/no/such/command", verbose=False)
                   for websockets in (True, False)]
        self.assertNotEqual(results[0].returncode, 0, results[0].stderr)
        self.assertEqual(results[0].returncode, results[1].returncode,
                         (results[0].stderr, results[1].stderr))
        # (The runtime names each exec by a fresh 64-hex-digit id.)
        messages = [re.sub(r"[0-9a-f]{64}", "ID", r.stderr) for r in results]
        self.assertEqual(messages[0], messages[1])
        self.assertIn("/no/such/command", messages[0])
        self.assertEqual(results[0].stdout, results[1].stdout)

    def test_cp_round_trip_over_websocket(self):
        # kubectl cp runs tar through exec: the upload ends only when stdin's end (v5's close
        # message, a SPDY FIN on the kubelet's side) reaches tar.
        folder = tempfile.mkdtemp(dir=self.server.dir)
        source = os.path.join(folder, "source.bin")
        payload = os.urandom(300000)
        with open(source, "wb") as f:
            f.write(payload)
        up = self.kubectl_streaming(True, "cp", source, "streams:/tmp/copied.bin", "-c", "web")
        self.assertEqual(up.returncode, 0, up.stderr)
        self.assertNotIn("POST https://", up.stderr)
        back = os.path.join(folder, "back.bin")
        down = self.kubectl_streaming(True, "cp", "streams:/tmp/copied.bin", back, "-c", "web",
                                      verbose=False)
        self.assertEqual(down.returncode, 0, down.stderr)
        with open(back, "rb") as f:
            self.assertEqual(f.read(), payload)

    def test_exec_over_spdy(self):
        self.check_exec(websockets=False)

    def run_in_terminal(self, websockets, args, rows, cols, on_output):
        """Runs kubectl on a pseudo-terminal of rows x cols; on_output(text, master) is called
        with all output so far until it returns True. Returns (exit code, output)."""
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(os.environ,
                   KUBECTL_REMOTE_COMMAND_WEBSOCKETS="true" if websockets else "false")
        proc = subprocess.Popen(["kubectl", "--kubeconfig", self.server.kubeconfig, *args],
                                stdin=slave, stdout=slave, stderr=slave, env=env,
                                start_new_session=True)
        os.close(slave)
        output = ""
        try:
            deadline = time.monotonic() + 30
            done = False
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.5)
                if ready:
                    try:
                        chunk = os.read(master, 4096)
                    except OSError:
                        break  # the terminal closed: kubectl is gone
                    if not chunk:
                        break
                    output += chunk.decode(errors="replace")
                    if not done and on_output(output, master, proc):
                        done = True
                elif proc.poll() is not None:
                    break
            self.assertTrue(done, f"terminal output: {output!r}")
            return proc.wait(15), output
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)

    def check_terminal(self, websockets):
        # A terminal (tty=true: stdout only, and the resize stream): the command sees kubectl's
        # terminal size (sent on the resize channel as it starts, hence the sleep), then the new
        # size after the window changes (kubectl's SIGWINCH handler sends it).
        step = {"resized": False}

        def on_output(text, master, proc):
            sizes = re.findall(r"size=(\d+ \d+)", text)
            if len(sizes) == 1 and not step["resized"]:
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 41, 117, 0, 0))
                os.kill(proc.pid, signal.SIGWINCH)
                step["resized"] = True
                time.sleep(1)  # the resize travels kubectl -> API server -> kubelet -> runtime
                os.write(master, b"go\r")
            return len(sizes) >= 2
        code, output = self.run_in_terminal(
            websockets, ["-v=6", "exec", "-it", "streams", "-c", "web", "--", "sh", "-c",
                         "sleep 1; echo size=$(stty size); read x; echo size=$(stty size); exit 4"],
            23, 91, on_output)
        sizes = re.findall(r"size=(\d+ \d+)", output)
        self.assertEqual(sizes[:2], ["23 91", "41 117"], output)
        self.assertEqual(code, 4, output)
        self.assert_upgrade(output, "exec", websockets)

    def test_exec_terminal_and_resize(self):
        self.check_terminal(websockets=True)

    def test_exec_terminal_and_resize_over_spdy(self):
        self.check_terminal(websockets=False)

    def check_attach(self, websockets):
        # kubectl attach to the running counter: its output arrives as it is printed.
        env = dict(os.environ,
                   KUBECTL_REMOTE_COMMAND_WEBSOCKETS="true" if websockets else "false")
        proc = subprocess.Popen(["kubectl", "--kubeconfig", self.server.kubeconfig, "-v=6",
                                 "attach", "streams", "-c", "counter"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
        try:
            lines = [proc.stdout.readline() for _ in range(3)]
            numbers = [int(line.split()[1]) for line in lines]
            self.assertEqual(numbers, [numbers[0], numbers[0] + 1, numbers[0] + 2], lines)
        finally:
            proc.terminate()
            proc.wait(10)
            stderr = proc.stderr.read()
            proc.stdout.close()
            proc.stderr.close()
        self.assert_upgrade(stderr, "attach", websockets)

    def test_attach(self):
        self.check_attach(websockets=True)

    def test_attach_over_spdy(self):
        self.check_attach(websockets=False)

    def check_attach_input(self, websockets):
        # kubectl attach -i to a container that reads its stdin: lines typed reach it and its
        # answers come back, on the same session.
        env = dict(os.environ,
                   KUBECTL_REMOTE_COMMAND_WEBSOCKETS="true" if websockets else "false")
        proc = subprocess.Popen(["kubectl", "--kubeconfig", self.server.kubeconfig, "-v=6",
                                 "attach", "-i", "streams", "-c", "reader"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        try:
            for word in ("one", "two"):
                proc.stdin.write(word + "\n")
                proc.stdin.flush()
                self.assertEqual(proc.stdout.readline(), f"got {word}\n")
        finally:
            proc.terminate()
            proc.wait(10)
            stderr = proc.stderr.read()
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                pipe.close()
        self.assert_upgrade(stderr, "attach", websockets)

    def test_attach_with_input(self):
        self.check_attach_input(websockets=True)

    def test_attach_with_input_over_spdy(self):
        self.check_attach_input(websockets=False)

    def port_forward(self, websockets):
        local = free_port()
        env = dict(os.environ, KUBECTL_PORT_FORWARD_WEBSOCKETS="true" if websockets else "false")
        proc = subprocess.Popen(["kubectl", "--kubeconfig", self.server.kubeconfig, "-v=6",
                                 "port-forward", "pod/streams", f"{local}:80"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
        try:
            line = proc.stdout.readline()
            self.assertIn("Forwarding from", line)

            # The stand-in's httpd may bind port 80 a moment after the container started.
            def fetch():
                with urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=10) as r:
                    return r.read().decode()
            self.assertIn("Welcome to nginx!", Kubelet.wait_for(fetch, 15, "page through the forward"))
            # Twice: a second connection is a second pair of SPDY streams on the same tunnel.
            self.assertIn("Welcome to nginx!", fetch())
        finally:
            proc.terminate()
            proc.wait(10)
            stderr = proc.stderr.read()
            proc.stdout.close()
            proc.stderr.close()
        return stderr

    def test_port_forward_over_websocket_tunnel(self):
        stderr = self.port_forward(websockets=True)
        # kubectl -v=6: the WebSocket upgrade (GET) was accepted, no fallback to SPDY (POST).
        self.assertRegex(stderr, r"GET https://\S+/pods/streams/portforward 101")
        self.assertNotRegex(stderr, r"POST https://\S+/portforward")

    def test_port_forward_over_spdy(self):
        stderr = self.port_forward(websockets=False)
        self.assertRegex(stderr, r"POST https://\S+/pods/streams/portforward 101")

    def test_node_proxy(self):
        base = f"/api/v1/nodes/{NODE}/proxy"
        self.assertEqual(self.kubectl("get", "--raw", f"{base}/healthz").stdout.strip(), "ok")
        pods = json.loads(self.kubectl("get", "--raw", f"{base}/pods").stdout)
        self.assertIn("streams", [p["metadata"]["name"] for p in pods["items"]])
        summary = json.loads(self.kubectl("get", "--raw", f"{base}/stats/summary").stdout)
        self.assertEqual(summary["node"]["nodeName"], NODE)
        self.assertIn("kubelet_running_pods", self.kubectl("get", "--raw", f"{base}/metrics").stdout)

    def test_api_server_refuses_a_kubelet_its_ca_did_not_sign(self):
        impostor = ImpostorKubelet(self.server.dir)
        try:
            node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "impostor"}}
            self.kubectl("create", "-f", "-", stdin=json.dumps(node))
            status = {"status": {
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": impostor.port}}}}
            self.kubectl("patch", "node", "impostor", "--subresource=status", "--type=merge",
                         "-p", json.dumps(status))
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "on-impostor"},
                   "spec": {"nodeName": "impostor",
                            "containers": [{"name": "c", "image": "busybox:1.35"}]}}
            self.kubectl("create", "-f", "-", stdin=json.dumps(pod))
            out = self.kubectl("logs", "on-impostor", check=False)
            self.assertNotEqual(out.returncode, 0, out.stdout)
            self.assertIn("certificate", out.stderr)
            self.assertEqual(impostor.requests, 0)
        finally:
            self.kubectl("delete", "pod", "on-impostor", "--grace-period=0", "--force",
                         check=False)
            self.kubectl("delete", "node", "impostor", check=False)
            impostor.stop()

    def rss_kib(self):
        with open(f"/proc/{self.server.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def test_exec_output_waits_for_a_slow_reader(self):
        # kubectl's output goes to a pipe nobody reads for a while: the API server stops reading
        # the kubelet once 1 MiB waits for kubectl (it does not keep the rest in memory), and
        # every byte and the exit code still arrive.
        size = 48 * 1024 * 1024
        env = dict(os.environ, KUBECTL_REMOTE_COMMAND_WEBSOCKETS="true")
        before = self.rss_kib()
        proc = subprocess.Popen(
            ["bash", "-c", 'kubectl --kubeconfig "$1" exec streams -c web -- sh -c '
             '"head -c $2 /dev/zero; exit 3" | (sleep 4; wc -c); '
             'echo "exit ${PIPESTATUS[0]}"', "-", self.server.kubeconfig, str(size)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        peak = before
        while proc.poll() is None:
            peak = max(peak, self.rss_kib())
            time.sleep(0.1)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(out.split(), [str(size), "exit", "3"], err)
        # Without the bound the API server held most of the 48 MiB.
        self.assertLess(peak - before, 24 * 1024, f"RSS {before} KiB -> {peak} KiB")

    def websocket(self, target, protocol):
        """A raw WebSocket to the API server at `target`, offering only `protocol`."""
        config = json.loads(self.kubectl("config", "view", "--raw", "--minify", "-o",
                                         "json").stdout)
        return WebSocket(self, config, target, protocol)

    def websocket_exec(self, protocol, command):
        """Runs `command` in streams/web over a raw WebSocket offering only `protocol`; returns
        the messages received (opcode, payload) up to the close."""
        query = "&".join(["container=web", "stdout=true", "stderr=true"] +
                         ["command=" + urllib.request.quote(c, safe="") for c in command])
        with self.websocket(f"/api/v1/namespaces/default/pods/streams/exec?{query}",
                            protocol) as ws:
            ws.expect_switch()
            return ws.messages_until_close()

    def test_exec_over_the_base64_channel_protocols(self):
        command = ["sh", "-c", "echo out; echo err >&2; exit 3"]
        for protocol in ("base64.channel.k8s.io", "v4.base64.channel.k8s.io"):
            messages = self.websocket_exec(protocol, command)
            self.assertEqual(messages[-1][0], 8, messages)  # close
            text = [m for m in messages if m[0] == 1]  # text messages: "<digit><base64>"
            self.assertEqual(len(text), len(messages) - 1, messages)
            channels = {}
            for _, payload in text:
                channel = payload[:1].decode()
                channels[channel] = channels.get(channel, b"") + base64.b64decode(payload[1:])
            self.assertEqual(channels.get("1"), b"out\n", protocol)
            self.assertEqual(channels.get("2"), b"err\n", protocol)
            if protocol == "base64.channel.k8s.io":
                # The first protocol version: the failure's message as text, no JSON status.
                self.assertIn(b"exit code 3", channels.get("3", b""), protocol)
                self.assertNotIn(b"{", channels.get("3", b""), protocol)
            else:
                status = json.loads(channels.get("3", b"{}"))
                self.assertEqual(status.get("reason"), "NonZeroExitCode", status)

    @staticmethod
    def node_proxy(path):
        return f"/api/v1/nodes/{NODE}/proxy/{path}"

    @staticmethod
    def channel_data(messages):
        """The v5/v4 binary messages' payloads by channel (their first byte), concatenated."""
        channels = {}
        for opcode, payload in messages:
            if opcode == OP_BINARY and payload:
                channels[payload[0]] = channels.get(payload[0], b"") + payload[1:]
        return channels

    def test_exec_through_node_proxy_over_websocket(self):
        # kubectl's WebSocket protocol to the kubelet's own exec route, through nodes/proxy:
        # the API server translates it to SPDY as it does for pods/exec.
        command = ["sh", "-c", "echo out; echo err >&2; exit 3"]
        query = "&".join(["stdout=true", "stderr=true"] +
                         ["command=" + urllib.request.quote(c, safe="") for c in command])
        with self.websocket(self.node_proxy(f"exec/default/streams/web?{query}"),
                            "v5.channel.k8s.io") as ws:
            ws.expect_switch()
            channels = self.channel_data(ws.messages_until_close())
        self.assertEqual(channels.get(1), b"out\n", channels)
        self.assertEqual(channels.get(2), b"err\n", channels)
        status = json.loads(channels.get(3, b"{}"))
        self.assertEqual(status.get("reason"), "NonZeroExitCode", status)
        self.assertEqual(status["details"]["causes"][0], {"reason": "ExitCode", "message": "3"})
        # stdin, and its end (v5's close of channel 0) reaching cat, which then returns.
        with self.websocket(self.node_proxy("exec/default/streams/web?stdin=true&stdout=true&"
                                            "command=cat"), "v5.channel.k8s.io") as ws:
            ws.expect_switch()
            ws.send(b"\x00hi\n")
            ws.send(b"\xff\x00")
            channels = self.channel_data(ws.messages_until_close())
        self.assertEqual(channels.get(1), b"hi\n", channels)
        self.assertEqual(json.loads(channels.get(3, b"{}")).get("status"), "Success", channels)

    def test_attach_through_node_proxy_over_websocket(self):
        with self.websocket(self.node_proxy("attach/default/streams/counter?stdout=true"),
                            "v5.channel.k8s.io") as ws:
            ws.expect_switch()
            out = b""
            while out.count(b"\n") < 3:
                opcode, payload = ws.receive()
                self.assertEqual(opcode, OP_BINARY, payload)
                if payload[:1] == b"\x01":
                    out += payload[1:]
        numbers = [int(line.split()[1]) for line in out.decode().splitlines()[:3]]
        self.assertEqual(numbers, [numbers[0], numbers[0] + 1, numbers[0] + 2], out)

    def test_port_forward_through_node_proxy_over_websocket_tunnel(self):
        # kubectl's WebSocket tunnel (SPDY in binary messages) to the kubelet's own portForward
        # route, through nodes/proxy: the API server unwraps it as for pods/portforward.
        def fetch():
            with self.websocket(self.node_proxy("portForward/default/streams"),
                                "SPDY/3.1+portforward.k8s.io") as ws:
                ws.expect_switch()
                forward = SpdyPortForward(ws, 80)
                forward.write(b"GET / HTTP/1.0\r\nHost: streams\r\n\r\n")
                page, error = forward.read_until(lambda data: b"</html>" in data)
            # The stand-in's httpd may bind port 80 a moment after the container started: the
            # kubelet then reports the failed dial on the error stream.
            return page if not error else None
        page = Kubelet.wait_for(fetch, 15, "page through the node proxy's forward")
        self.assertTrue(page.startswith(b"HTTP/1.1 200 OK\r\n"), page)
        self.assertIn(b"Welcome to nginx!", page)

    def test_other_websocket_upgrades_through_node_proxy_are_refused(self):
        for path in ("pods", "exec/default/streams", "portForward/default"):
            with self.websocket(self.node_proxy(path), "v5.channel.k8s.io") as ws:
                self.assertEqual(ws.status, 400, ws.head)
                self.assertIn("only to the kubelet's exec/NAMESPACE/POD/CONTAINER", ws.refusal())

    def test_unauthenticated_request_is_refused(self):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        for path in ("/pods", "/containerLogs/default/streams/counter", "/healthz"):
            with self.assertRaises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(f"https://127.0.0.1:{KUBELET_PORT}{path}", timeout=5,
                                       context=context)
            self.assertEqual(caught.exception.code, 401, path)
            caught.exception.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
