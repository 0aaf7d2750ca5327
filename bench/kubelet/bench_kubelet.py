"""Kubelet benchmark on the real test bed: static pod manifest written → all
containers running, for 1, 10 and 100 pods.

Per pod, latency is the container's startedAt as the runtime records it (CRI
ContainerStatus, nanoseconds) minus the moment its manifest was renamed into
the manifest directory, so polling the kubelet adds no error. The kubelet's own
CPU time (utime + stime from /proc/<pid>/stat) is read around each round; its
RSS (VmRSS) idle and with the pods running. The runtime's own time for the
same pod shape is measured in the same run with `kite cri run` (sandbox +
container through CRI with no kubelet), less the cost of a `kite cri`
process that makes one call.

Usage (inside the bed):
  tests/testbed/testbed.sh exec BED python3 bench/kubelet/bench_kubelet.py KITE [--sizes 1,10,100]
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ENV = os.environ
IMAGE = "busybox:1.35"
# Exits on SIGTERM at once, so removing 100 pods does not wait out grace periods.
COMMAND = "trap 'exit 0' TERM; while true; do sleep 1; done"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def thread_cpu_ns(pid):
    """CPU ns of each live thread (/proc/<pid>/task/<tid>/schedstat, nanosecond precision)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                out[tid] = int(f.read().split()[0])
        except OSError:
            pass  # ended meanwhile
    return out


class CpuWindow:
    """The process's CPU over a window, in ns: per thread from schedstat (10 ms ticks of
    /proc/<pid>/stat are too coarse for a few ms per pod). A thread that ends inside the
    window takes its time with it, so utime + stime (ticks, which keep ended threads' time)
    are read too, as a check."""

    def __init__(self, pid):
        self.pid = pid
        self.threads0 = thread_cpu_ns(pid)
        self.ticks0 = cpu_seconds(pid)

    def end(self):
        threads1 = thread_cpu_ns(self.pid)
        ns = sum(t1 - self.threads0.get(tid, 0) for tid, t1 in threads1.items())
        ended = len(set(self.threads0) - set(threads1))
        return ns / 1e9, cpu_seconds(self.pid) - self.ticks0, ended


def rss_kib(pid):
    return status_kib(pid)["VmRSS"]


def status_kib(pid):
    """VmRSS, RssAnon, RssFile (KiB) and Threads from /proc/<pid>/status."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                out[key] = int(value.split()[0])
    return out


class Bench:
    def __init__(self, kite):
        self.kite = kite
        self.dir = tempfile.mkdtemp(prefix="bench-kubelet-", dir=ENV["KITE_TB_DIR"])
        self.manifests = os.path.join(self.dir, "manifests")
        os.makedirs(self.manifests)
        self.port = free_port()
        self.node = "bench"
        self.proc = None
        self.reads = 0  # GET /pods by this script: they cost the kubelet CPU too

    def cri(self, *args):
        done = subprocess.run([self.kite, "cri", "--container-runtime-endpoint",
                               ENV["KITE_TB_CRI_ENDPOINT"], *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"kite cri {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def start(self):
        self.log = open(os.path.join(self.dir, "kubelet.log"), "w")
        self.proc = subprocess.Popen(
            [self.kite, "kubelet", "--pod-manifest-path", self.manifests,
             "--container-runtime-endpoint", ENV["KITE_TB_CRI_ENDPOINT"],
             "--root-dir", os.path.join(self.dir, "root"),
             "--pod-logs-dir", os.path.join(self.dir, "logs"),
             "--cgroup-root", ENV["KITE_TB_CGROUP_PARENT"] + "/bench",
             "--node-name", self.node, "--healthz-port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.wait(lambda: self.pods() is not None, 20, "kubelet up")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        self.log.close()

    def pods(self):
        self.reads += 1
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/pods", timeout=5) as r:
                return json.loads(r.read())["items"]
        except OSError:
            return None

    @staticmethod
    def wait(predicate, timeout, what, interval=0.05):
        deadline = time.time() + timeout
        while time.time() < deadline:
            result = predicate()
            if result:
                return result
            time.sleep(interval)
        raise RuntimeError(f"timed out waiting for {what}")

    def manifest(self, name):
        return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n"
                f"  terminationGracePeriodSeconds: 5\n  containers:\n  - name: main\n"
                f"    image: {IMAGE}\n    imagePullPolicy: IfNotPresent\n"
                f"    command: [\"sh\", \"-c\", {json.dumps(COMMAND)}]\n")

    def running_ids(self, count):
        """Container ids by pod name once `count` pods run, else None."""
        pods = self.pods() or []
        ids = {}
        for p in pods:
            for s in p.get("status", {}).get("containerStatuses", []):
                if "running" in s.get("state", {}) and s.get("containerID"):
                    ids[p["metadata"]["name"]] = s["containerID"].split("://", 1)[1]
        return ids if len(ids) == count else None

    def read_cost(self, count=20):
        """Kubelet CPU seconds of one GET /pods with the pods it has now."""
        window = CpuWindow(self.proc.pid)
        for _ in range(count):
            self.pods()
        return window.end()[0] / count

    def round(self, n, tag):
        """Starts n pods at once; returns per-pod latencies (ms), total (ms), CPU (s) less
        the status reads, CPU in ticks (s, reads included), RSS (KiB)."""
        names = [f"b{tag}-{i}" for i in range(n)]
        reads0 = self.reads
        window = CpuWindow(self.proc.pid)
        written = {}
        for name in names:
            tmp = os.path.join(self.manifests, f".{name}.tmp")
            with open(tmp, "w") as f:
                f.write(self.manifest(name))
            written[f"{name}-{self.node}"] = time.time_ns()
            os.rename(tmp, os.path.join(self.manifests, f"{name}.yaml"))
        # Polled less often for more pods: each read encodes every pod's status.
        ids = self.wait(lambda: self.running_ids(n), 600, f"{n} pods running",
                        0.05 * max(1, n // 10))
        cpu, ticks, ended = window.end()
        reads = self.reads - reads0
        if ended:
            print(f"round {tag}: {ended} kubelet threads ended during the round", file=sys.stderr)
        cpu -= reads * self.read_cost()
        started = {}
        for pod, cid in ids.items():
            status = json.loads(self.cri("inspect", cid))["status"]
            started[pod] = int(status["startedAt"])
        latencies = [(started[p] - written[p]) / 1e6 for p in ids]
        total = (max(started.values()) - min(written.values())) / 1e6
        rss = rss_kib(self.proc.pid)
        return latencies, total, cpu, ticks, rss

    def clear(self):
        """Removes every manifest and waits until the kubelet removed the pods
        (it forgets a pod only once its sandbox is gone)."""
        for f in os.listdir(self.manifests):
            os.remove(os.path.join(self.manifests, f))
        self.wait(lambda: self.pods() == [], 600, "pods removed", 0.25)

    def runtime_baseline(self, count):
        """Wall ms of `kite cri run` (sandbox + container, no kubelet), less the
        wall ms of a `kite cri version` process (process start + one call)."""
        runs, bare = [], []
        for i in range(count):
            t = time.perf_counter()
            self.cri("version")
            bare.append((time.perf_counter() - t) * 1e3)
            t = time.perf_counter()
            out = self.cri("run", "--name", f"cri-base-{i}", "--image", IMAGE,
                           "--cgroup-parent", ENV["KITE_TB_CGROUP_PARENT"] + "/bench-cri",
                           "--", "sleep", "60")
            runs.append((time.perf_counter() - t) * 1e3)
            pod_id = out.split()[1]
            self.cri("rmp", pod_id)
        return statistics.median(runs) - statistics.median(bare), runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kite")
    parser.add_argument("--sizes", default="1,10,100")
    parser.add_argument("--ones", type=int, default=10, help="repetitions of the 1-pod round")
    parser.add_argument("--baseline", type=int, default=10,
                        help="runs of `kite cri run` for the runtime-alone figure (0: none)")
    args = parser.parse_args()
    bench = Bench(args.kite)
    try:
        bench.cri("pull", IMAGE)
        # The runtime alone first, on a quiet containerd (no pods being removed).
        base_ms, base_runs = bench.runtime_baseline(args.baseline) if args.baseline else (0, [0])
        bench.start()
        time.sleep(5)
        idle = status_kib(bench.proc.pid)
        idle_window = CpuWindow(bench.proc.pid)
        time.sleep(10)
        idle_cpu_per_s = idle_window.end()[0] / 10

        results = []
        full, settled_cpu = {}, {}
        for n in [int(s) for s in args.sizes.split(",")]:
            reps = args.ones if n == 1 else 1
            lat, totals, cpus, ticks, rsss = [], [], [], [], []
            for r in range(reps):
                latencies, total, cpu, tick, rss = bench.round(n, f"{n}x{r}")
                lat += latencies
                totals.append(total)
                cpus.append(cpu)
                ticks.append(tick)
                rsss.append(rss)
                time.sleep(3)  # settled: one PLEG relist and status update per pod
                rsss.append(rss_kib(bench.proc.pid))
                if r == reps - 1:
                    full[n] = status_kib(bench.proc.pid)
                    settled = CpuWindow(bench.proc.pid)
                    time.sleep(10)
                    settled_cpu[n] = settled.end()[0] / 10
                bench.clear()
            results.append((n, reps, statistics.median(lat), percentile(lat, 99),
                            statistics.median(totals), sum(cpus) / (n * reps) * 1e3,
                            sum(ticks) / (n * reps) * 1e3, max(rsss)))
        time.sleep(3)
        after = status_kib(bench.proc.pid)
    finally:
        if bench.proc and bench.proc.poll() is None:
            try:
                bench.clear()
            except RuntimeError as e:
                print(f"cleanup: {e}", file=sys.stderr)
        bench.stop()
        subprocess.run(["umount", "-R", bench.dir], stderr=subprocess.DEVNULL)
        shutil.rmtree(bench.dir, ignore_errors=True)

    print("\nkite kubelet: manifest written -> container running (busybox, one container per pod)")
    print(f"{'pods':>5} {'rounds':>6} {'median ms':>10} {'p99 ms':>8} {'total ms':>9} "
          f"{'CPU ms/pod':>11} {'(ticks)':>8} {'RSS MiB':>8}")
    for n, reps, med, p99, total, cpu, tick, rss in results:
        print(f"{n:>5} {reps:>6} {med:>10.1f} {p99:>8.1f} {total:>9.1f} {cpu:>11.2f} "
              f"{tick:>8.1f} {rss / 1024:>8.1f}")
    print("CPU ms/pod: kubelet threads' schedstat over the round, less its GET /pods answers to "
          "this script; (ticks): utime+stime, those answers included")

    def mem(m):
        return (f"RSS {m['VmRSS'] / 1024:.1f} MiB (anon {m['RssAnon'] / 1024:.1f}, "
                f"file {m['RssFile'] / 1024:.1f}), {m['Threads']} threads")
    print(f"\nidle: {mem(idle)}, CPU {idle_cpu_per_s * 1e3:.2f} ms/s")
    for n, m in full.items():
        print(f"{n} pods running, settled: {mem(m)}, CPU {settled_cpu[n] * 1e3:.2f} ms/s")
    print(f"after the rounds (no pods): {mem(after)}")
    one = results[0]
    if not args.baseline:
        return 0
    print(f"runtime alone (`kite cri run`, sandbox + container, 10 runs): median {base_ms:.1f} ms "
          f"(raw {statistics.median(base_runs):.1f} ms)")
    if one[0] == 1:
        print(f"1-pod latency over the runtime alone: {one[2] - base_ms:+.1f} ms wall; "
              f"kubelet CPU per pod: {one[5]:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
