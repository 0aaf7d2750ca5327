#!/usr/bin/env python3
"""`kite bench netpol` at a tiny N: the table has a row per backend and their ratio, every
allowed connect to an isolated pod succeeded and every denied one was refused on both backends,
the workload table is there, the plot is drawn, bad flags are refused by name, without root it
refuses clearly, and no network namespace is left behind. Root only (it creates network
namespaces); exit 77 skips."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

KITE = sys.argv[1]
SKIP = 77
COLUMNS = ["policies", "backend", "full sync ms", "1-pod change ms", "kernel KiB", "rules",
           "set elements", "rules KiB", "RSS MiB", "connect p50 µs", "connect p99 µs",
           "allowed ok", "denied refused"]
STATE_COLUMNS = ["policies", "enforced here", "isolated pods", "computeState ms",
                 "computeState after 1-pod change ms"]
NUMBER = r"-?[0-9]+(\.[0-9]+)?"


def fail(message, output=""):
    print("FAIL:", message)
    print(output)
    sys.exit(1)


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def namespaces():
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in listing.splitlines() if line.strip()}


def main():
    if os.geteuid() != 0:
        print("skipped: needs root (network namespaces)")
        sys.exit(SKIP)

    # Bad input names the flag.
    for flag, value in (("--policies", "0"), ("--pods", "3"), ("--peers", "0"),
                        ("--plot", "out.pdf")):
        bad = subprocess.run([KITE, "bench", "netpol", flag, value], capture_output=True,
                             text=True, timeout=30)
        if bad.returncode == 0 or flag not in bad.stderr:
            fail(f"{flag} {value} was not refused by name", bad.stderr)

    if shutil.which("setpriv"):
        user = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               KITE, "bench", "netpol", "--policies", "5"],
                              capture_output=True, text=True, timeout=30)
        denied = "Permission denied" in user.stderr and "kite" not in user.stderr.split(":")[0]
        if not denied and (user.returncode == 0 or "must run as root" not in user.stderr):
            fail("a non-root run was not refused clearly", user.stderr)

    before = namespaces()
    scratch = tempfile.mkdtemp(prefix="kite-bench-test-")
    try:
        plot = os.path.join(scratch, "netpol.svg")
        args = [KITE, "bench", "netpol", "--policies", "5,40", "--pods", "40", "--peers", "200",
                "--repetitions", "1", "--connections", "30", "--denied", "10"]
        if shutil.which("gnuplot"):
            args += ["--plot", plot]
        run = subprocess.run(args, capture_output=True, text=True, timeout=100)
        out = run.stdout
        if run.returncode != 0:
            fail("kite bench netpol failed: " + run.stderr, out)
        tables = [[]]
        for line in out.splitlines():
            if line.startswith("|"):
                tables[-1].append(cells(line))
            elif tables[-1]:
                tables.append([])
        tables = [t for t in tables if t]
        if len(tables) != 2:
            fail("expected the measurements' and the workload's tables", out)
        rows, state = tables
        if rows[0] != COLUMNS:
            fail("the table's header is not as expected", out)
        data = rows[2:]
        if [(r[0], r[1]) for r in data] != [
                (n, b) for n in ("5", "40")
                for b in ("nftables", "iptables", "nftables/iptables")]:
            fail("expected rows nftables, iptables and their ratio at 5 and 40 policies", out)
        for r in data:
            if len(r) != len(COLUMNS):
                fail("a row has the wrong number of cells", out)
            if r[1] == "nftables/iptables":
                continue
            if r[11] != "30/30":
                fail(f"{r[1]} at {r[0]} policies: allowed connects failed: {r[11]}", out)
            if r[12] != "10/10":
                fail(f"{r[1]} at {r[0]} policies: denied connects got through: {r[12]}", out)
            for column in (2, 3, 4, 5, 7, 9, 10):
                if not re.fullmatch(NUMBER, r[column]):
                    fail(f"not a number: {r[column]!r}", out)
            if float(r[2]) <= 0 or float(r[3]) <= 0 or float(r[9]) <= 0:
                fail("a sync or connect time is not positive", out)
            if int(r[5]) <= 0 or float(r[7]) <= 0:
                fail("no rules were listed", out)
            if r[1] == "nftables" and (not r[6].isdigit() or not re.fullmatch(NUMBER, r[8])):
                fail("nftables has no set elements or RSS", out)
        if state[0] != STATE_COLUMNS or [r[0] for r in state[2:]] != ["5", "40"]:
            fail("the workload table is not as expected", out)
        for r in state[2:]:
            if int(r[1]) != int(r[0]) or int(r[2]) <= 0:
                fail("every generated policy selects a pod of this node", out)
        if "--plot" in args:
            with open(plot, encoding="utf-8") as f:
                if "<svg" not in f.read():
                    fail("the plot is not an SVG", out)
        left = {ns for ns in namespaces() - before if ns.startswith("kite-bench-")}
        if left:
            fail("network namespaces left behind: " + ", ".join(sorted(left)), out)
        print(out)
        print("PASS")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


main()
