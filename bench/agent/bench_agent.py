"""Agent benchmark on the real test bed (kite issue 6): 100 busybox pods created at once
through the API server, API create -> Running as a watch sees it, against the same 100 pods
driven straight through CRI (`kite cri run`) at the same concurrency.

Per run: a `kite server --disable-agent` (API server, scheduler, controllers) and a separate
`kite agent` joined with the token (so the RSS read is the agent's alone), both on the bed's
containerd. The image is warmed with one pod first. Then:
  - direct CRI: 100 `kite cri run` processes at once (sandbox + container, no kubelet), per-pod
    latency = the process's wall time; then 100 `kite cri rmp` at once, timed until containerd
    holds none of their containers;
  - kite: 100 pods created at once from 10 client threads; per-pod latency = the moment a watch
    (started before) first shows phase Running minus the start of that pod's create call; then
    all deleted at once, timed until containerd holds none of their containers;
  - the agent's RSS (VmRSS) idle and with the 100 pods running; the agent's and the server's
    CPU time (utime + stime) while the pods start and while they are removed;
  - API requests the agent made per pod lifecycle (create -> Running -> deleted -> gone), from
    its `rest_client_requests_total{code,method}` on the kubelet's /metrics, less the idle rate
    (lease renewals) over the same time.

Usage (inside the bed):
  tests/testbed/testbed.sh exec BED /usr/bin/python3 bench/agent/bench_agent.py KITE [--runs 3]
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from kubernetes import client, config, watch

ENV = os.environ
IMAGE = "busybox:1.35"
COMMAND = "trap 'exit 0' TERM; while true; do sleep 1; done"  # exits on SIGTERM at once
NAMESPACE = "default"
CRI_NAMESPACE = "bench-cri"
NODE = "bench-agent-node"
THREADS = 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


TICKS = os.sysconf("SC_CLK_TCK")


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


def wait(predicate, timeout, what, interval=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise RuntimeError(f"timed out waiting for {what}")


def containers_in(namespace):
    out = subprocess.run(["ctr", "--address", ENV["KITE_TB_CONTAINERD_SOCK"], "-n", "k8s.io",
                          "containers", "list", "-q",
                          f'labels."io.kubernetes.pod.namespace"=={namespace}'],
                         capture_output=True, text=True, check=True)
    return out.stdout.split()


class Run:
    """One server + agent pair in a temp folder, stopped by PID."""

    def __init__(self, kite):
        self.kite = kite
        self.dir = tempfile.mkdtemp(prefix="bench-agent-", dir=ENV["KITE_TB_DIR"])
        self.api_port = free_port()
        self.kubelet_port = free_port()
        self.procs = []
        self.kubeconfig = os.path.join(self.dir, "admin.kubeconfig")

    def spawn(self, name, args):
        log = open(os.path.join(self.dir, name + ".log"), "w")
        proc = subprocess.Popen([self.kite, *args], stdout=log, stderr=subprocess.STDOUT)
        self.procs.append((proc, log))
        return proc

    def start(self):
        self.server = self.spawn("server", [
            "server", "--disable-agent", "--bind-address", "127.0.0.1",
            "--https-listen-port", str(self.api_port),
            "--data-dir", os.path.join(self.dir, "server-data"),
            "--write-kubeconfig", self.kubeconfig])
        token_file = os.path.join(self.dir, "server-data", "server", "token")
        wait(lambda: os.path.exists(token_file) and os.path.exists(self.kubeconfig), 60,
             "server token")
        with open(token_file) as f:
            token = f.read().strip()
        self.agent = self.spawn("agent", [
            "agent", "--server", f"https://127.0.0.1:{self.api_port}", "--token", token,
            "--data-dir", os.path.join(self.dir, "agent-data"),
            "--container-runtime-endpoint", ENV["KITE_TB_CRI_ENDPOINT"],
            "--root-dir", os.path.join(self.dir, "kubelet"),
            "--pod-logs-dir", os.path.join(self.dir, "pod-logs"),
            "--cgroup-root", ENV["KITE_TB_CGROUP_PARENT"] + "/" + NODE,
            "--node-name", NODE, "--node-ip", "127.0.0.1",
            "--healthz-port", str(free_port()), "--port", str(self.kubelet_port),
            # /metrics readable by the bench without a client certificate.
            "--anonymous-auth", "true", "--authorization-mode", "AlwaysAllow"])
        config.load_kube_config(config_file=self.kubeconfig)
        self.api = client.CoreV1Api()
        wait(self.node_ready, 90, "node Ready", 0.5)
        wait(lambda: self.service_account_ready(), 60, "default service account", 0.5)

    def node_ready(self):
        try:
            node = self.api.read_node(NODE)
        except client.ApiException:
            return False
        return any(c.type == "Ready" and c.status == "True"
                   for c in (node.status.conditions or []))

    def service_account_ready(self):
        try:
            self.api.read_namespaced_service_account("default", NAMESPACE)
            return True
        except client.ApiException:
            return False

    def stop(self):
        for proc, log in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()
        subprocess.run(["umount", "-R", self.dir], stderr=subprocess.DEVNULL)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- the agent's own figures ---------------------------------------------------
    def request_counts(self):
        """{(method, code): count} from rest_client_requests_total, or None if not served."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{self.kubelet_port}/metrics",
                                        context=ctx, timeout=10) as r:
                text = r.read().decode()
        except OSError:
            return None
        counts = {}
        for m in re.finditer(r'^rest_client_requests_total\{([^}]*)\} (\d+)', text, re.M):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            counts[(labels.get("method", "?"), labels.get("code", "?"))] = int(m.group(2))
        return counts if counts else None

    # --- pods through the API -------------------------------------------------------
    @staticmethod
    def pod(name):
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"terminationGracePeriodSeconds": 5, "containers": [{
                    "name": "main", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", COMMAND]}]}}

    def round(self, names):
        """Creates the pods at once; returns ({name: ms to Running}, rss KiB with them)."""
        running, created = {}, {}
        done = threading.Event()
        rv = self.api.list_namespaced_pod(NAMESPACE).metadata.resource_version
        watcher = watch.Watch()

        def observe():
            for event in watcher.stream(self.api.list_namespaced_pod, NAMESPACE,
                                        resource_version=rv, timeout_seconds=600):
                pod = event["object"]
                if pod.status and pod.status.phase == "Running":
                    running.setdefault(pod.metadata.name, time.time())
                    if all(n in running for n in names):
                        done.set()
                        watcher.stop()

        observer = threading.Thread(target=observe, daemon=True)
        observer.start()
        time.sleep(0.5)  # the watch is open before the first create
        local = threading.local()

        def create(name):
            if not hasattr(local, "api"):
                local.api = client.CoreV1Api(client.ApiClient())
            created[name] = time.time()
            local.api.create_namespaced_pod(NAMESPACE, self.pod(name))

        with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(create, names))
        if not done.wait(600):
            raise RuntimeError(f"only {len(running)} of {len(names)} pods Running")
        time.sleep(3)
        rss = rss_kib(self.agent.pid)
        return {n: (running[n] - created[n]) * 1e3 for n in names}, rss

    def delete(self, names):
        """Deletes the pods at once; ms until containerd holds none of their containers."""
        start = time.time()
        local = threading.local()

        def delete(name):
            if not hasattr(local, "api"):
                local.api = client.CoreV1Api(client.ApiClient())
            local.api.delete_namespaced_pod(name, NAMESPACE)

        with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(delete, names))
        # The warm pod's two containers (sandbox and main) stay.
        wait(lambda: len(containers_in(NAMESPACE)) <= 2, 600, "containerd empty", 0.25)
        return (time.time() - start) * 1e3


def cri(kite, *args):
    return [kite, "cri", "--container-runtime-endpoint", ENV["KITE_TB_CRI_ENDPOINT"], *args]


def direct_cri(kite, n, tag, concurrency):
    """n `kite cri run`, `concurrency` at a time, then n `kite cri rmp` as many at a time:
    per-pod ms (from the round's start when bounded: all pods are asked for at once),
    teardown ms."""
    def run_pod(i):
        return subprocess.Popen(
            cri(kite, "run", "--name", f"cri-{tag}-{i}", "--namespace", CRI_NAMESPACE,
                "--image", IMAGE, "--cgroup-parent", ENV["KITE_TB_CGROUP_PARENT"] + "/bench-cri",
                "--", "sh", "-c", COMMAND), stdout=subprocess.PIPE, text=True)

    round_start = time.time()
    starts, pending, latencies, pods = {}, {}, [], []
    queued = list(range(n))
    while queued or pending:  # poll so each process's end time is its own
        while queued and len(pending) < concurrency:
            i = queued.pop(0)
            starts[i] = time.time() if concurrency >= n else round_start
            pending[i] = run_pod(i)
        for i, p in list(pending.items()):
            if p.poll() is not None:
                latencies.append((time.time() - starts[i]) * 1e3)
                out = p.stdout.read()
                p.stdout.close()
                if p.returncode != 0:
                    raise RuntimeError(f"kite cri run {i} failed")
                pods.append(out.split()[1])
                del pending[i]
        time.sleep(0.01)
    start = time.time()
    for k in range(0, len(pods), concurrency):
        removers = [subprocess.Popen(cri(kite, "rmp", pod), stdout=subprocess.DEVNULL)
                    for pod in pods[k:k + concurrency]]
        for p in removers:
            p.wait()
    wait(lambda: not containers_in(CRI_NAMESPACE), 300, "direct-CRI pods removed", 0.25)
    return latencies, (time.time() - start) * 1e3


def remove_leftovers(kite, namespace):
    """Sandboxes the agent left behind (it leaves pods running when it stops)."""
    for cid in containers_in(namespace):
        subprocess.run(cri(kite, "rmp", cid), capture_output=True)


def one_run(kite, index, pods, cri_concurrency):
    # The runtime alone first, on a quiet containerd: the agent, once up, stops every sandbox
    # it does not own, as the upstream kubelet does.
    cri_lat, cri_down = direct_cri(kite, pods, index, cri_concurrency)
    run = Run(kite)
    try:
        run.start()
        time.sleep(5)
        idle_rss = rss_kib(run.agent.pid)
        # Warm the image (and the agent's first-pod paths) with one pod, left running.
        run.round([f"warm-{index}"])
        counts0, t0 = run.request_counts(), time.time()
        time.sleep(20)
        counts1, t1 = run.request_counts(), time.time()

        names = [f"b{index}-{i}" for i in range(pods)]
        counts2, t2 = run.request_counts(), time.time()
        cpu0 = cpu_seconds(run.agent.pid), cpu_seconds(run.server.pid)
        latencies, busy_rss = run.round(names)
        cpu1 = cpu_seconds(run.agent.pid), cpu_seconds(run.server.pid)
        down = run.delete(names)
        cpu2 = cpu_seconds(run.agent.pid), cpu_seconds(run.server.pid)
        counts3, t3 = run.request_counts(), time.time()
        left = len(run.api.list_namespaced_pod(NAMESPACE).items) - 1  # less the warm pod
        requests = None
        if counts0 and counts3:
            requests = {}
            for key in set(counts3) | set(counts0):
                idle_rate = (counts1.get(key, 0) - counts0.get(key, 0)) / (t1 - t0)
                used = counts3.get(key, 0) - counts2.get(key, 0) - idle_rate * (t3 - t2)
                if abs(used) >= 0.5:
                    requests[key] = used / pods
        lat = list(latencies.values())
        return {"p50": statistics.median(lat), "p99": percentile(lat, 99),
                "cri_p50": statistics.median(cri_lat), "cri_p99": percentile(cri_lat, 99),
                "down": down, "cri_down": cri_down, "idle_rss": idle_rss / 1024,
                "busy_rss": busy_rss / 1024, "requests": requests, "left_in_api": left,
                "agent_cpu_up": cpu1[0] - cpu0[0], "server_cpu_up": cpu1[1] - cpu0[1],
                "agent_cpu_down": cpu2[0] - cpu1[0], "server_cpu_down": cpu2[1] - cpu1[1]}
    finally:
        run.stop()
        remove_leftovers(kite, NAMESPACE)
        print(f"run {index}: logs in {run.dir}", file=sys.stderr)
        if not ENV.get("BENCH_KEEP"):
            run.cleanup()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kite")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--cri-concurrency", type=int, default=0,
                        help="`kite cri` processes at a time (default: all pods at once)")
    args = parser.parse_args()
    subprocess.run(cri(args.kite, "pull", IMAGE), check=True, capture_output=True)
    concurrency = args.cri_concurrency or args.pods
    results = []
    for i in range(args.runs):
        r = one_run(args.kite, i, args.pods, concurrency)
        print(f"run {i}: " + ", ".join(f"{k} {v:.1f}" for k, v in r.items()
                                       if isinstance(v, (int, float))), flush=True)
        results.append(r)

    med = {k: statistics.median(r[k] for r in results) for k in results[0] if k != "requests"}
    if med["left_in_api"]:
        print(f"\nwarning: {med['left_in_api']} deleted pods still in the API after containerd "
              "was empty (the agent's final DELETE refused)")
    print(f"\n{args.pods} busybox pods at once, medians of {len(results)} runs "
          f"(direct CRI: {args.pods} `kite cri run` processes, {concurrency} at a time)")
    print(f"{'':<30} {'kite':>10} {'direct CRI':>11} {'ratio':>6}")
    for label, k, c in (("p50 create -> Running, ms", "p50", "cri_p50"),
                        ("p99 create -> Running, ms", "p99", "cri_p99"),
                        ("teardown, ms", "down", "cri_down")):
        print(f"{label:<30} {med[k]:>10.1f} {med[c]:>11.1f} {med[k] / med[c]:>6.2f}")
    print(f"agent RSS idle {med['idle_rss']:.1f} MiB, with {args.pods} pods "
          f"{med['busy_rss']:.1f} MiB")
    print(f"CPU seconds while the pods start (create -> all Running + 3 s): agent "
          f"{med['agent_cpu_up']:.2f}, server {med['server_cpu_up']:.2f}; while they are "
          f"removed: agent {med['agent_cpu_down']:.2f}, server {med['server_cpu_down']:.2f}")
    reqs = [r["requests"] for r in results if r["requests"]]
    if reqs:
        print("API requests by the agent per pod lifecycle (idle rate subtracted), median:")
        keys = sorted({k for r in reqs for k in r})
        total = 0.0
        for key in keys:
            value = statistics.median(r.get(key, 0.0) for r in reqs)
            total += value
            print(f"  {key[0]:<7} {key[1]:>4} {value:6.2f}")
        print(f"  total        {total:6.2f}")
    else:
        print("API requests per pod: not available (no rest_client_requests_total on /metrics)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
