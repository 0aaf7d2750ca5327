#!/usr/bin/python3
"""kite API server benchmark: both storage backends side by side in one run.

Starts `kite server --disable-agent` on embedded SQLite, then on etcd (Debian's
/usr/bin/etcd, started here on free loopback ports in a temporary folder), and measures
over HTTPS with the admin client certificate from the kubeconfig kite writes:
pod creates/s, gets/s of one pod, a full list of 10k pods (and the same through
`kubectl get pods -o name`), watch fan-out, and the server's RSS idle and with 10k pods.
The HTTP load comes from bench_apiserver_load (C++; wrk cannot present a client
certificate). Prints a table with upstream's figures and kite's targets beside kite's.

  bench/apiserver/bench_apiserver.py                 # from /work/main, after building
  bench/apiserver/bench_apiserver.py --backends sqlite --pods 2000 --watchers 50
"""

import argparse
import base64
import json
import os
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Upstream, measured on this kind of machine with the same kind of load (issue 5).
UPSTREAM = {
    "create_rate": 1824, "create_p99": 104.0, "create_5xx": "53 / 36,548",
    "get_rate": 4732, "get_p99": 48.0,
    "list_ms": 154.0, "kubectl_ms": 3400.0,
    "rss_idle": "307 + 41", "rss_10k": "630–900",
}
TARGET = {
    "create_rate": 5000, "create_p99": 50.0, "get_rate": 15000, "get_p99": 10.0,
    "list_ms": 60.0, "rss_idle": 48.0, "rss_10k": 160.0,
}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Etcd:
    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "etcd")
        self.client = free_port()
        self.peer = free_port()
        self.endpoint = f"http://127.0.0.1:{self.client}"
        self.logf = open(os.path.join(workdir, "etcd.log"), "wb")
        self.proc = subprocess.Popen(
            ["/usr/bin/etcd", "--name", "bench", "--data-dir", self.dir,
             "--listen-client-urls", self.endpoint, "--advertise-client-urls", self.endpoint,
             "--listen-peer-urls", f"http://127.0.0.1:{self.peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer}",
             "--initial-cluster", f"bench=http://127.0.0.1:{self.peer}",
             "--listen-metrics-urls", f"http://127.0.0.1:{free_port()}"],
            stdout=self.logf, stderr=subprocess.STDOUT, preexec_fn=raise_nofile)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.endpoint + "/health", timeout=1) as r:
                    if b"true" in r.read():
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("etcd did not become healthy; see " + self.logf.name)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.logf.close()


class Kite:
    def __init__(self, args, workdir, endpoint):
        self.port = free_port()
        self.data = os.path.join(workdir, "kite")
        self.kubeconfig = os.path.join(workdir, "kubeconfig")
        cmd = [args.kite, "server", "--disable-agent", "--data-dir", self.data,
               "--https-listen-port", str(self.port), "--write-kubeconfig", self.kubeconfig,
               "--log-level", "warn"]
        if endpoint:
            cmd += ["--datastore-endpoint", endpoint]
        self.logf = open(os.path.join(workdir, "kite.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT,
                                     preexec_fn=raise_nofile)
        deadline = time.monotonic() + 60
        while not os.path.exists(self.kubeconfig):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("kite server did not start; see " + self.logf.name)
            time.sleep(0.1)
        self._write_credentials(workdir)
        self.ctx = ssl.create_default_context(cafile=self.ca)
        self.ctx.check_hostname = False
        self.ctx.load_cert_chain(self.cert, self.key)
        while True:
            try:
                self.call("GET", "/version")
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _write_credentials(self, workdir):
        # The kubeconfig holds base64 PEM inline; the load generator wants files.
        text = open(self.kubeconfig, encoding="utf-8").read()
        values = {}
        for line in text.splitlines():
            line = line.strip()
            for key in ("certificate-authority-data", "client-certificate-data",
                        "client-key-data"):
                if line.startswith(key + ":"):
                    values[key] = base64.b64decode(line.split(":", 1)[1].strip().strip('"'))
        self.ca = os.path.join(workdir, "ca.pem")
        self.cert = os.path.join(workdir, "client.pem")
        self.key = os.path.join(workdir, "client-key.pem")
        for path, key in ((self.ca, "certificate-authority-data"),
                          (self.cert, "client-certificate-data"),
                          (self.key, "client-key-data")):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(values[key])

    def call(self, method, path, body=None):
        req = urllib.request.Request(f"https://127.0.0.1:{self.port}{path}", method=method,
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
            return json.loads(r.read())

    def load(self, args, *mode):
        cmd = [args.load, "--port", str(self.port), "--ca", self.ca, "--cert", self.cert,
               "--key", self.key, *mode]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                             preexec_fn=raise_nofile).stdout
        return json.loads(out.strip().splitlines()[-1])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()


def loadavg():
    with open("/proc/loadavg", encoding="ascii") as f:
        return f.read().split()[0]


def run_backend(args, name):
    workdir = tempfile.mkdtemp(prefix=f"kite-bench-{name}-", dir=args.tmp)
    etcd = Etcd(workdir) if name == "etcd" else None
    kite = None
    r = {"backend": name, "loadavg": [loadavg()]}
    try:
        kite = Kite(args, workdir, etcd.endpoint if etcd else "")
        pid = kite.proc.pid
        for ns in ("bench", "fanout"):
            kite.call("POST", "/api/v1/namespaces",
                      {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        time.sleep(args.settle)
        r["rss_idle"] = rss_mib(pid)
        r["etcd_rss_idle"] = rss_mib(etcd.proc.pid) if etcd else 0.0
        log(f"[{name}] idle RSS {r['rss_idle']:.1f} MiB (etcd {r['etcd_rss_idle']:.1f})")

        cpu0 = cpu_seconds(pid)
        r["create"] = kite.load(args, "create", "--namespace", "bench", "--prefix", "pod-",
                                "--count", str(args.pods), "--connections", str(args.connections))
        r["create_cpu_s"] = cpu_seconds(pid) - cpu0
        r["loadavg"].append(loadavg())
        log(f"[{name}] create {r['create']}")

        gets = []
        for _ in range(args.get_runs):
            gets.append(kite.load(args, "get", "--namespace", "bench", "--name", "pod-0",
                                  "--seconds", str(args.get_seconds),
                                  "--connections", str(args.connections)))
            log(f"[{name}] get {gets[-1]}")
        r["gets"] = gets
        r["loadavg"].append(loadavg())

        lst = kite.load(args, "list", "--target", "/api/v1/namespaces/bench/pods",
                        "--runs", str(args.list_runs))
        r["list"] = lst
        log(f"[{name}] list {lst}")
        r["rss_10k_after_list"] = rss_mib(pid)

        kubectl = []
        for _ in range(args.kubectl_runs):
            t0 = time.monotonic()
            out = subprocess.run([args.kubectl, "--kubeconfig", kite.kubeconfig, "get", "pods",
                                  "-n", "bench", "-o", "name"], check=True,
                                 capture_output=True, text=True).stdout
            kubectl.append((time.monotonic() - t0) * 1000.0)
            r["kubectl_lines"] = len(out.splitlines())
        r["kubectl_ms"] = kubectl
        log(f"[{name}] kubectl get pods -o name {kubectl} ms, {r['kubectl_lines']} lines")

        time.sleep(args.settle)
        r["rss_10k"] = rss_mib(pid)
        r["hwm_10k"] = rss_mib(pid, "VmHWM")
        r["etcd_rss_10k"] = rss_mib(etcd.proc.pid) if etcd else 0.0
        log(f"[{name}] 10k RSS {r['rss_10k']:.1f} MiB (peak {r['hwm_10k']:.1f}, "
            f"etcd {r['etcd_rss_10k']:.1f})")

        r["fanout"] = kite.load(args, "fanout", "--namespace", "fanout", "--prefix", "fan-",
                                "--watchers", str(args.watchers), "--events", str(args.events))
        log(f"[{name}] fanout {r['fanout']}")
        r["rss_after_fanout"] = rss_mib(pid)
        r["hwm_end"] = rss_mib(pid, "VmHWM")
        r["loadavg"].append(loadavg())
    finally:
        if kite:
            kite.stop()
        if etcd:
            etcd.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return r


def fmt_int(v):
    return f"{v:,.0f}"


def table(results):
    cols = [r["backend"] for r in results]
    head = "| measure | kube-apiserver 1.20 + etcd 3.4 | kite target (SQLite) | " + " | ".join(
        f"kite {c} | {c} vs upstream" for c in cols) + " |"
    sep = "| --- | ---: | ---: | " + " | ".join("---: | ---:" for _ in cols) + " |"
    rows = []

    def row(label, up, target, values, up_num=None, higher_better=True):
        cells = []
        for v, shown in values:
            if up_num and v:
                ratio = v / up_num if higher_better else up_num / v
                cells.append(f"{shown} | {ratio:.1f}x {'better' if ratio >= 1 else 'worse'}")
            else:
                cells.append(f"{shown} | ")
        rows.append(f"| {label} | {up} | {target} | " + " | ".join(cells) + " |")

    row("pod creates/s (64 conns)", "1,824", "≥ 5,000",
        [(r["create"]["rate"], fmt_int(r["create"]["rate"])) for r in results], 1824)
    row("create p50", "", "",
        [(0, f"{r['create']['p50_ms']:.1f} ms") for r in results])
    row("create p99", "104 ms", "≤ 50 ms",
        [(r["create"]["p99_ms"], f"{r['create']['p99_ms']:.1f} ms") for r in results], 104.0,
        False)
    row("create 5xx", "53 / 36,548", "0",
        [(0, f"{r['create']['5xx'] + r['create']['transport_errors']} / "
             f"{fmt_int(r['create']['requests'])}") for r in results])
    row("gets/s of one pod", "4,732", "≥ 15,000",
        [(med(r, "rate"), fmt_int(med(r, "rate"))) for r in results], 4732)
    row("get p50", "", "", [(0, f"{med(r, 'p50_ms'):.2f} ms") for r in results])
    row("get p99", "48 ms", "≤ 10 ms",
        [(med(r, "p99_ms"), f"{med(r, 'p99_ms'):.2f} ms") for r in results], 48.0, False)
    row("list 10k pods, full JSON (median)", "154 ms (watch cache)", "≤ 60 ms",
        [(statistics.median(r["list"]["ms"]), f"{statistics.median(r['list']['ms']):.0f} ms")
         for r in results], 154.0, False)
    row("kubectl get pods -o name, 10k (median)", "3.4 s", "",
        [(statistics.median(r["kubectl_ms"]), f"{statistics.median(r['kubectl_ms']) / 1000:.2f} s")
         for r in results], 3400.0, False)
    row("watch fan-out: events delivered", "", "all",
        [(0, f"{fmt_int(r['fanout']['delivered'])} / {fmt_int(r['fanout']['expected'])}")
         for r in results])
    row("fan-out: write → last watcher, p50", "", "",
        [(0, f"{r['fanout']['lag_p50_ms']:.1f} ms") for r in results])
    row("fan-out: write → last watcher, p99", "", "",
        [(0, f"{r['fanout']['lag_p99_ms']:.1f} ms") for r in results])
    row("fan-out: first write → last delivery", "", "",
        [(0, f"{r['fanout']['span_ms']:.0f} ms") for r in results])
    row("RSS idle (server + etcd)", "307 + 41 MiB", "≤ 48 MiB",
        [(r["rss_idle"] + r["etcd_rss_idle"],
          f"{r['rss_idle']:.0f}" + (f" + {r['etcd_rss_idle']:.0f}" if r["etcd_rss_idle"] else "")
          + " MiB") for r in results], 348.0, False)
    row("RSS with 10k pods (server + etcd)", "630–900 MiB", "≤ 160 MiB",
        [(r["rss_10k"] + r["etcd_rss_10k"],
          f"{r['rss_10k']:.0f}" + (f" + {r['etcd_rss_10k']:.0f}" if r["etcd_rss_10k"] else "")
          + f" MiB (peak {r['hwm_10k']:.0f})") for r in results], 630.0, False)
    return "\n".join([head, sep] + rows)


def med(r, key):
    return statistics.median(g[key] for g in r["gets"])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--kite", default=os.path.join(ROOT, "build/cmd/kite/kite"))
    p.add_argument("--load", default=os.path.join(ROOT, "build/bench/apiserver/bench_apiserver_load"))
    p.add_argument("--kubectl", default="/usr/bin/kubectl")
    p.add_argument("--backends", default="sqlite,etcd")
    p.add_argument("--pods", type=int, default=10000, help="pods created (and listed)")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--get-seconds", type=float, default=5)
    p.add_argument("--get-runs", type=int, default=3)
    p.add_argument("--list-runs", type=int, default=7)
    p.add_argument("--kubectl-runs", type=int, default=3)
    p.add_argument("--watchers", type=int, default=500)
    p.add_argument("--events", type=int, default=200)
    p.add_argument("--settle", type=float, default=2.0, help="seconds before RSS readings")
    p.add_argument("--tmp", default=None, help="parent folder for data (default: $TMPDIR)")
    p.add_argument("--keep", action="store_true", help="keep data folders and logs")
    p.add_argument("--json", help="write the raw figures here")
    args = p.parse_args()

    results = []
    for name in args.backends.split(","):
        results.append(run_backend(args, name))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    print(table(results))
    print()
    print("ratios: throughput kite/upstream, latency and RSS upstream/kite (>1 = kite better);"
          " load average during the runs: " +
          "; ".join(f"{r['backend']} {' '.join(r['loadavg'])}" for r in results))


if __name__ == "__main__":
    main()
