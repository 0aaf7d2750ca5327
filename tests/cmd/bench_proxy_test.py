#!/usr/bin/env python3
"""`kite bench proxy` at a tiny N: the table has a row per backend and their ratio, every
connect through a ClusterIP succeeded on both backends, the plot is drawn, and without root
it refuses with a clear message. Root only (it creates network namespaces); exit 77 skips."""

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

    before = namespaces()
    scratch = tempfile.mkdtemp(prefix="kite-bench-test-")
    try:
        plot = os.path.join(scratch, "proxy.svg")
        args = [KITE, "bench", "proxy", "--services", "5,8", "--endpoints", "2",
                "--repetitions", "1", "--connections", "40"]
        if shutil.which("gnuplot"):
            args += ["--plot", plot]
        run = subprocess.run(args, capture_output=True, text=True, timeout=60)
        out = run.stdout
        if run.returncode != 0:
            fail("kite bench proxy failed: " + run.stderr, out)
        rows = [cells(line) for line in out.splitlines() if line.startswith("|")]
        if not rows or rows[0] != COLUMNS:
            fail("the table's header is not as expected", out)
        data = rows[2:]
        if [(r[0], r[1], r[2]) for r in data] != [
                (n, "2", b) for n in ("5", "8")
                for b in ("nftables", "iptables", "nftables/iptables")]:
            fail("expected rows nftables, iptables and their ratio at 5 and 8 Services", out)
        for r in data:
            if len(r) != len(COLUMNS):
                fail("a row has the wrong number of cells", out)
            if r[2] == "nftables/iptables":
                continue
            if r[10] != "40/40":
                fail(f"{r[2]} at {r[0]} Services: connects through the ClusterIP failed: {r[10]}",
                     out)
            for column, value in enumerate(r[3:10], start=3):
                if column == 7 and r[2] == "iptables" and value == "-":
                    continue  # the baseline has no process whose RSS counts
                if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value):
                    fail(f"not a number: {value!r}", out)
            if float(r[3]) <= 0 or float(r[4]) <= 0 or float(r[8]) <= 0:
                fail("a sync or connect time is not positive", out)
            if float(r[6]) <= 0:
                fail("no rules were listed", out)
        if "--plot" in args:
            with open(plot, encoding="utf-8") as f:
                if "<svg" not in f.read():
                    fail("the plot is not an SVG", out)
        # Nothing left behind: the namespaces it made are gone (others may run beside it).
        left = {ns for ns in namespaces() - before if ns.startswith("kite-bench-")}
        if left:
            fail("network namespaces left behind: " + ", ".join(sorted(left)), out)
        print(out)
        print("PASS")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


main()
