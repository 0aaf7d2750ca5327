#!/usr/bin/env python3
"""`kite bench proxy` at a tiny N: the table has a row per backend and their ratios, every
connect through a ClusterIP succeeded on every backend, the plot is drawn, and without root
it refuses with a clear message. `--mode nftables --wrk-seconds 0` keeps the nftables-only
table; the default (all) adds the eBPF backend, measured from processes in a cgroup of the
bench's own, direct connects to the pod IP, wrk requests/s and the north-south NodePort
table, and leaves no cgroup, pin directory or namespace behind. Root only; exit 77 skips."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

KITE = sys.argv[1]
SKIP = 77
COLUMNS = ["services", "endpoints", "backend", "full sync ms", "1-endpoint change ms",
           "kernel KiB", "rules KiB", "RSS MiB", "connect p50 µs", "connect p99 µs",
           "connects ok"]
WRK_COLUMNS = COLUMNS + ["req/s"]
NUMBER = r"-?[0-9]+(\.[0-9]+)?"


def fail(message, output=""):
    print("FAIL:", message)
    print(output)
    sys.exit(1)


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def main():
    if os.geteuid() != 0:
        print("skipped: needs root (network namespaces)")
        sys.exit(SKIP)

    # Bad input names the flag.
    bad = subprocess.run([KITE, "bench", "proxy", "--services", "0"], capture_output=True,
                         text=True, timeout=30)
    if bad.returncode == 0 or "--services" not in bad.stderr:
        fail("--services 0 was not refused by name", bad.stderr)

    # Without root: a clear refusal, nothing created.
    if shutil.which("setpriv"):
        user = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               KITE, "bench", "proxy", "--services", "5"],
                              capture_output=True, text=True, timeout=30)
        # (A binary under a directory nobody may enter cannot be tested this way.)
        denied = "Permission denied" in user.stderr and "kite" not in user.stderr.split(":")[0]
        if not denied and (user.returncode == 0 or "must run as root" not in user.stderr):
            fail("a non-root run was not refused clearly", user.stderr)

    def namespaces():
        listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        return {line.split()[0] for line in listing.splitlines() if line.strip()}

    def leftovers():
        found = {ns for ns in namespaces() if ns.startswith("kite-bench-")}
        for root in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup", "/sys/fs/bpf"):
            if os.path.isdir(root):
                found |= {os.path.join(root, d) for d in os.listdir(root)
                          if d.startswith("kite-bench-")}
        return found

    before = leftovers()
    scratch = tempfile.mkdtemp(prefix="kite-bench-test-")
    try:
        # nftables only, no wrk: the table as it was before the eBPF backend.
        args = [KITE, "bench", "proxy", "--mode", "nftables", "--wrk-seconds", "0",
                "--services", "5,8", "--endpoints", "2", "--repetitions", "1",
                "--connections", "40"]
        run = subprocess.run(args, capture_output=True, text=True, timeout=60)
        out = run.stdout
        if run.returncode != 0:
            fail("kite bench proxy --mode nftables failed: " + run.stderr, out)
        rows = [cells(line) for line in out.splitlines() if line.startswith("|")]
        if not rows or rows[0] != COLUMNS:
            fail("the nftables-only table's header is not as before", out)
        data = rows[2:]
        if [(r[0], r[1], r[2]) for r in data] != [
                (n, "2", b) for n in ("5", "8")
                for b in ("nftables", "iptables", "nftables/iptables")]:
            fail("expected rows nftables, iptables and their ratio at 5 and 8 Services", out)
        for r in data:
            if r[2] != "nftables/iptables":
                check_backend_row(r, len(COLUMNS), out)

        # All backends at 10 Services, with wrk and the plot.
        if not shutil.which("wrk"):
            print("skipped: wrk is not installed (tools/install-deps.sh)")
            sys.exit(SKIP)
        plot = os.path.join(scratch, "proxy.svg")
        args = [KITE, "bench", "proxy", "--services", "10", "--endpoints", "2",
                "--repetitions", "1", "--connections", "100", "--wrk-seconds", "1",
                "--wrk-connections", "4"]
        if shutil.which("gnuplot"):
            args += ["--plot", plot]
        run = subprocess.run(args, capture_output=True, text=True, timeout=90)
        out = run.stdout
        if run.returncode != 0:
            fail("kite bench proxy (all) failed: " + run.stderr, out)
        tables = out.split("--proxy-mode ebpf as deployed:")
        if len(tables) != 2:
            fail("no table of the eBPF mode as deployed (north-south)", out)
        rows = [cells(line) for line in tables[0].splitlines() if line.startswith("|")]
        if not rows or rows[0] != WRK_COLUMNS:
            fail("the table's header is not as expected", out)
        data = {r[2]: r for r in rows[2:]}
        expected = ["nftables", "iptables", "ebpf", "direct", "direct, programs attached",
                    "nftables/iptables", "ebpf/direct", "ebpf/direct attached", "ebpf/nftables"]
        if [r[2] for r in rows[2:]] != expected or any(r[0] != "10" for r in rows[2:]):
            fail("expected the rows " + ", ".join(expected) + " at 10 Services", out)
        for name in ("nftables", "iptables", "ebpf", "direct"):
            check_backend_row(data[name], len(WRK_COLUMNS), out)
            if not re.fullmatch(NUMBER, data[name][11]) or float(data[name][11]) <= 0:
                fail(f"{name}: no wrk requests/s without errors: {data[name][11]!r}", out)
        # Direct connects from the bench's cgroup with the programs attached: connects only.
        check_backend_row(data["direct, programs attached"], len(WRK_COLUMNS), out)
        if data["direct, programs attached"][11] != "-":
            fail("wrk is not run for the direct connects with the programs attached", out)
        ebpf = data["ebpf"]
        # The maps are preallocated: they take megabytes whatever N, and kite holds them.
        if float(ebpf[6]) < 1024 or ebpf[7] == "-":
            fail("the eBPF maps' memory or the RSS is missing", out)
        for ratio in ("ebpf/direct", "ebpf/direct attached", "ebpf/nftables"):
            if not re.fullmatch(NUMBER + "×", data[ratio][8]):
                fail(f"{ratio}: no connect p50 ratio", out)
        # The direct baseline has no rules; sanity: a ClusterIP connect through the socket
        # programs is not 20× slower than a direct one (the target is 1.05×; this machine is
        # shared, so only gross breakage fails).
        if float(data["ebpf/direct"][8][:-1]) > 20:
            fail("eBPF connects are grossly slower than direct ones", out)
        ns = [cells(line) for line in tables[1].splitlines() if line.startswith("|")][2:]
        paths = ["NodePort (nftables table)", "ClusterIP (ebpf, table loaded)", "direct"]
        if [(r[0], r[1]) for r in ns] != [("10", p) for p in paths]:
            fail("expected NodePort, ClusterIP and direct rows in the north-south table", out)
        for r in ns:
            if not re.fullmatch(NUMBER, r[2]) or float(r[2]) <= 0:
                fail("north-south wrk failed: " + " | ".join(r), out)
        if ns[1][6] != "100/100" or float(ns[1][4]) <= 0:
            fail("connects through the ClusterIP with the table loaded failed", out)
        if "--plot" in args:
            with open(plot, encoding="utf-8") as f:
                svg = f.read()
            if "<svg" not in svg or "ebpf" not in svg:
                fail("the plot is not an SVG with the ebpf curves", out)
        # Nothing left behind: namespaces, the cgroup, the pins (others may run beside it).
        left = leftovers() - before
        if left:
            fail("left behind: " + ", ".join(sorted(left)), out)
        print(out)
        print("PASS")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def check_backend_row(r, width, out):
    """One backend's row (not a ratio): every connect succeeded, the figures are numbers."""
    if len(r) != width:
        fail("a row has the wrong number of cells", out)
    done, attempted = r[10].split("/")
    if done != attempted:
        fail(f"{r[2]} at {r[0]} Services: connects failed: {r[10]}", out)
    for column, value in enumerate(r[3:10], start=3):
        if value == "-" and (r[2].startswith("direct") or (column == 7 and r[2] == "iptables")):
            continue  # no rules (direct), no process of its own (iptables)
        if not re.fullmatch(NUMBER, value):
            fail(f"not a number: {value!r}", out)
    if not r[2].startswith("direct") and (float(r[3]) <= 0 or float(r[4]) <= 0 or float(r[6]) <= 0):
        fail("a sync time or the rules' size is not positive", out)
    if float(r[8]) <= 0:
        fail("a connect time is not positive", out)


main()
