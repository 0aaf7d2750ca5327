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


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Bench:
    def __init__(self, kite):
        self.kite = kite
        self.dir = tempfile.mkdtemp(prefix="bench-kubelet-", dir=ENV["KITE_TB_DIR"])
        self.manifests = os.path.join(self.dir, "manifests")
        os.makedirs(self.manifests)
        self.port = free_port()
        self.node = "bench"
        self.proc = None

    def cri(self, *args):
        return subprocess.run([self.kite, "cri", "--container-runtime-endpoint",
                               ENV["KITE_TB_CRI_ENDPOINT"], *args],
                              capture_output=True, text=True, check=True).stdout

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

    def round(self, n, tag):
        """Starts n pods at once; returns per-pod latencies (ms), total (ms), CPU (s)."""
        names = [f"b{tag}-{i}" for i in range(n)]
        cpu0 = cpu_seconds(self.proc.pid)
        written = {}
        for name in names:
            tmp = os.path.join(self.manifests, f".{name}.tmp")
            with open(tmp, "w") as f:
                f.write(self.manifest(name))
            written[f"{name}-{self.node}"] = time.time_ns()
            os.rename(tmp, os.path.join(self.manifests, f"{name}.yaml"))
        ids = self.wait(lambda: self.running_ids(n), 600, f"{n} pods running")
        cpu1 = cpu_seconds(self.proc.pid)
        started = {}
        for pod, cid in ids.items():
            status = json.loads(self.cri("inspect", cid))["status"]
            started[pod] = int(status["startedAt"])
        latencies = [(started[p] - written[p]) / 1e6 for p in ids]
        total = (max(started.values()) - min(written.values())) / 1e6
        rss = rss_kib(self.proc.pid)
        return latencies, total, cpu1 - cpu0, rss

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
    args = parser.parse_args()
    bench = Bench(args.kite)
    try:
        bench.cri("pull", IMAGE)
        # The runtime alone first, on a quiet containerd (no pods being removed).
        base_ms, base_runs = bench.runtime_baseline(10)
        bench.start()
        time.sleep(5)
        idle_rss = rss_kib(bench.proc.pid)
        idle_cpu0 = cpu_seconds(bench.proc.pid)
        time.sleep(10)
        idle_cpu_per_s = (cpu_seconds(bench.proc.pid) - idle_cpu0) / 10

        results = []
        for n in [int(s) for s in args.sizes.split(",")]:
            reps = args.ones if n == 1 else 1
            lat, totals, cpus, rsss = [], [], [], []
            for r in range(reps):
                latencies, total, cpu, rss = bench.round(n, f"{n}x{r}")
                lat += latencies
                totals.append(total)
                cpus.append(cpu)
                rsss.append(rss)
                time.sleep(3)  # settled: one PLEG relist and status update per pod
                rsss.append(rss_kib(bench.proc.pid))
                bench.clear()
            # CPU ticks are 10 ms: summed over every round before dividing.
            results.append((n, reps, statistics.median(lat), percentile(lat, 99),
                            statistics.median(totals), sum(cpus) / (n * reps) * 1e3, max(rsss)))
        after_rss = rss_kib(bench.proc.pid)
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
          f"{'CPU ms/pod':>11} {'RSS MiB':>8}")
    for n, reps, med, p99, total, cpu, rss in results:
        print(f"{n:>5} {reps:>6} {med:>10.1f} {p99:>8.1f} {total:>9.1f} {cpu:>11.2f} "
              f"{rss / 1024:>8.1f}")
    print(f"\nidle: RSS {idle_rss / 1024:.1f} MiB, CPU {idle_cpu_per_s * 1e3:.2f} ms/s; "
          f"after the rounds (no pods): RSS {after_rss / 1024:.1f} MiB")
    one = results[0]
    print(f"runtime alone (`kite cri run`, sandbox + container, 10 runs): median {base_ms:.1f} ms "
          f"(raw {statistics.median(base_runs):.1f} ms)")
    if one[0] == 1:
        print(f"1-pod latency over the runtime alone: {one[2] - base_ms:+.1f} ms wall; "
              f"kubelet CPU per pod: {one[5]:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
