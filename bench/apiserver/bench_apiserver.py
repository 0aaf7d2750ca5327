#!/usr/bin/python3
"""kite API server benchmark: both storage backends side by side in one run.

Starts `kite server --disable-agent --disable-scheduler --disable-controller-manager` (the
API server alone, as upstream's kube-apiserver figures are; --control-loops keeps the
scheduler and controllers, which then act on every pod created) on embedded SQLite, then on
etcd (Debian's
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
        if not args.control_loops:
            cmd += ["--disable-scheduler", "--disable-controller-manager"]
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


def busy_seconds():
    # CPU time the whole machine spent busy (all cores), from /proc/stat.
    with open("/proc/stat", encoding="ascii") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


def children_seconds():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def top_processes(interval=1.0):
    # The busiest processes over `interval` seconds, as "42% name" (100% = one core).
    def sample():
        out = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            name = text[text.index("(") + 1:text.rindex(")")]
            fields = text.rsplit(")", 1)[1].split()
            out[pid] = (name, int(fields[11]) + int(fields[12]))
        return out
    a = sample()
    time.sleep(interval)
    b = sample()
    hz = os.sysconf("SC_CLK_TCK")
    busy = sorted(((b[p][1] - a[p][1]) / hz / interval * 100, b[p][0]) for p in b if p in a)
    return [f"{pct:.0f}% {name}" for pct, name in reversed(busy[-5:]) if pct >= 5]


def loadavg():
    with open("/proc/loadavg", encoding="ascii") as f:
        return f.read().split()[0]


class PhaseCpu:
    """CPU seconds the server (and etcd) spent in each phase."""

    def __init__(self, pids):
        self.pids = pids
        self.phases = {}
        self.mark = [cpu_seconds(p) for p in pids]

    def end(self, phase):
        now = [cpu_seconds(p) for p in self.pids]
        self.phases[phase] = [round(b - a, 2) for a, b in zip(self.mark, now)]
        self.mark = now


def run_backend(args, name):
    workdir = tempfile.mkdtemp(prefix=f"kite-bench-{name}-", dir=args.tmp)
    etcd = Etcd(workdir) if name == "etcd" else None
    kite = None
    r = {"backend": name, "loadavg": [loadavg()], "top_before": top_processes()}
    wall0, busy0, kids0 = time.monotonic(), busy_seconds(), children_seconds()
    try:
        kite = Kite(args, workdir, etcd.endpoint if etcd else "")
        pid = kite.proc.pid
        for ns in ["bench", "fanout"] + [f"bench{i}" for i in range(1, args.create_runs)]:
            kite.call("POST", "/api/v1/namespaces",
                      {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        time.sleep(args.settle)
        r["rss_idle"] = rss_mib(pid)
        r["etcd_rss_idle"] = rss_mib(etcd.proc.pid) if etcd else 0.0
        log(f"[{name}] idle RSS {r['rss_idle']:.1f} MiB (etcd {r['etcd_rss_idle']:.1f})")

        cpu = PhaseCpu([pid] + ([etcd.proc.pid] if etcd else []))
        r["create"] = kite.load(args, "create", "--namespace", "bench", "--prefix", "pod-",
                                "--count", str(args.pods), "--connections", str(args.connections))
        cpu.end("create")
        r["loadavg"].append(loadavg())
        log(f"[{name}] create {r['create']}")

        gets = []
        for _ in range(args.get_runs):
            gets.append(kite.load(args, "get", "--namespace", "bench", "--name", "pod-0",
                                  "--seconds", str(args.get_seconds),
                                  "--connections", str(args.connections)))
            log(f"[{name}] get {gets[-1]}")
        r["gets"] = gets
        cpu.end("get")
        r["loadavg"].append(loadavg())

        lst = kite.load(args, "list", "--target", "/api/v1/namespaces/bench/pods",
                        "--runs", str(args.list_runs))
        r["list"] = lst
        cpu.end("list")
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
        cpu.end("kubectl")
        log(f"[{name}] kubectl get pods -o name {kubectl} ms, {r['kubectl_lines']} lines")

        time.sleep(args.settle)
        r["rss_10k"] = rss_mib(pid)
        r["hwm_10k"] = rss_mib(pid, "VmHWM")
        r["etcd_rss_10k"] = rss_mib(etcd.proc.pid) if etcd else 0.0
        log(f"[{name}] 10k RSS {r['rss_10k']:.1f} MiB (peak {r['hwm_10k']:.1f}, "
            f"etcd {r['etcd_rss_10k']:.1f})")

        creates = [r["create"]]
        for i in range(1, args.create_runs):
            creates.append(kite.load(args, "create", "--namespace", f"bench{i}", "--prefix",
                                     "pod-", "--count", str(args.pods),
                                     "--connections", str(args.connections)))
            log(f"[{name}] create {creates[-1]}")
        r["creates"] = creates
        cpu.end("more creates")

        r["fanout"] = kite.load(args, "fanout", "--namespace", "fanout", "--prefix", "fan-",
                                "--watchers", str(args.watchers), "--events", str(args.events))
        log(f"[{name}] fanout {r['fanout']}")
        r["rss_after_fanout"] = rss_mib(pid)
        r["fanout_rss_peak"] = rss_mib(pid, "VmHWM")
        cpu.end("fanout")
        r["phase_cpu_s"] = cpu.phases
        r["hwm_end"] = rss_mib(pid, "VmHWM")
        r["loadavg"].append(loadavg())
    finally:
        if kite:
            kite.stop()
        if etcd:
            etcd.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    # Everything this script started has been waited for, so the rest is other load.
    r["wall_s"] = time.monotonic() - wall0
    r["bench_cpu_s"] = children_seconds() - kids0
    r["other_cpu_s"] = max(0.0, busy_seconds() - busy0 - r["bench_cpu_s"])
    log(f"[{name}] {r['wall_s']:.0f} s wall; kite, etcd, load and kubectl used "
        f"{r['bench_cpu_s']:.0f} CPU-s, other processes {r['other_cpu_s']:.0f} CPU-s")
    return r


def fmt_int(v):
    return f"{v:,.0f}"


def cmed(r, key):
    return statistics.median(c[key] for c in r["creates"])


def table(results, pods):
    k = f"{pods // 1000}k" if pods % 1000 == 0 else str(pods)
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

    row("pod creates/s (median of runs)", "1,824", "≥ 5,000",
        [(cmed(r, "rate"), fmt_int(cmed(r, "rate"))) for r in results], 1824)
    row("create p50", "", "", [(0, f"{cmed(r, 'p50_ms'):.1f} ms") for r in results])
    row("create p99", "104 ms", "≤ 50 ms",
        [(cmed(r, "p99_ms"), f"{cmed(r, 'p99_ms'):.1f} ms") for r in results], 104.0, False)
    row("create 5xx (all runs)", "53 / 36,548", "0",
        [(0, f"{sum(c['5xx'] + c['transport_errors'] for c in r['creates'])} / "
             f"{fmt_int(sum(c['requests'] for c in r['creates']))}") for r in results])
    row("gets/s of one pod", "4,732", "≥ 15,000",
        [(med(r, "rate"), fmt_int(med(r, "rate"))) for r in results], 4732)
    row("get p50", "", "", [(0, f"{med(r, 'p50_ms'):.2f} ms") for r in results])
    row("get p99", "48 ms", "≤ 10 ms",
        [(med(r, "p99_ms"), f"{med(r, 'p99_ms'):.2f} ms") for r in results], 48.0, False)
    row(f"list {k} pods, full JSON (median)", "154 ms (watch cache)", "≤ 60 ms",
        [(statistics.median(r["list"]["ms"]), f"{statistics.median(r['list']['ms']):.0f} ms")
         for r in results], 154.0, False)
    row(f"kubectl get pods -o name, {k} (median)", "3.4 s", "",
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
    row(f"RSS with {k} pods (server + etcd)", "630–900 MiB", "≤ 160 MiB",
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
    p.add_argument("--create-runs", type=int, default=3,
                   help="create runs of --pods each; runs after the first go to namespaces "
                        "of their own once the list and RSS figures are taken")
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
    p.add_argument("--control-loops", action="store_true",
                   help="run kite server's scheduler and controllers too (default: the API "
                        "server alone, as upstream's figures are)")
    args = p.parse_args()

    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    built = time.strftime("%Y-%m-%d %H:%M", time.gmtime(os.path.getmtime(args.kite)))
    log(f"kite binary built {built} UTC, tree at {rev}")
    results = []
    for name in args.backends.split(","):
        results.append(run_backend(args, name))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    print(f"kite binary built {built} UTC, tree at {rev}; {os.cpu_count()} cores; "
          + ("with the scheduler and controllers" if args.control_loops
             else "the API server alone (--disable-scheduler --disable-controller-manager)"))
    print()
    print(table(results, args.pods))
    print()
    print(f"{args.watchers} watchers x {args.events} events; ratios: throughput kite/upstream, "
          "latency and RSS upstream/kite (>1 = kite better)")
    for r in results:
        print(f"{r['backend']}: {r['wall_s']:.0f} s; benchmark processes {r['bench_cpu_s']:.0f} "
              f"CPU-s, other load {r['other_cpu_s']:.0f} CPU-s "
              f"({r['other_cpu_s'] / r['wall_s']:.2f} cores); load average "
              f"{' '.join(r['loadavg'])}; busiest before: {', '.join(r['top_before'][:3])}")
        print(f"{r['backend']} CPU-s per phase (kite" + (" + etcd" if r["backend"] == "etcd"
                                                        else "") + "): " +
              ", ".join(f"{k} {'+'.join(str(x) for x in v)}" for k, v in r["phase_cpu_s"].items()))


if __name__ == "__main__":
    main()
