#!/usr/bin/python3
"""Starts a service the way systemd would from its unit file, where no systemd runs (a chroot).

  start_unit.py --log FILE --pid-file FILE UNIT [DROP-IN...]

Reads the [Service] section of UNIT and its drop-ins in order: ExecStart (an empty one resets
the list, as in a drop-in that replaces it), Environment, EnvironmentFile (a leading '-' means
optional), LimitNOFILE and Type. Starts ExecStart in a session of its own with only systemd's
base environment plus those, stdout and stderr to the log. For Type=notify it waits, as
`systemctl start` does, for READY=1 on a NOTIFY_SOCKET of its own. Prints the main PID (also
written to the pid file) and leaves the service running. Exits 1 if the service ends or stays
silent first."""

import argparse
import os
import resource
import shlex
import socket
import subprocess
import sys
import tempfile
import time

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def service_settings(paths):
    """The [Service] keys of a unit and its drop-ins, each key's values in order."""
    settings = {}
    for path in paths:
        section = None
        with open(path) as f:
            lines = f.read().replace("\\\n", " ").splitlines()
        for line in lines:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            if section != "[Service]" or "=" not in line:
                continue
            key, value = (part.strip() for part in line.split("=", 1))
            if value == "" and key in ("ExecStart", "Environment", "EnvironmentFile"):
                settings[key] = []  # an empty assignment resets the list
            else:
                settings.setdefault(key, []).append(value)
    return settings


def environment_file(path):
    """KEY=VALUE lines as systemd reads them: comments, blank lines, quotes."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;" or "=" not in line:
                continue
            key, value = line.split("=", 1)
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            env[key.strip()] = value
    return env


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--pid-file", required=True)
    parser.add_argument("--timeout", type=float, default=90)
    parser.add_argument("unit", nargs="+")
    args = parser.parse_args()

    settings = service_settings(args.unit)
    commands = settings.get("ExecStart", [])
    if len(commands) != 1:
        sys.exit(f"start_unit: {args.unit}: want one ExecStart, got {commands}")
    env = {"PATH": BASE_PATH, "LANG": "C.UTF-8"}
    for name in settings.get("EnvironmentFile", []):
        optional = name.startswith("-")
        name = name.lstrip("-")
        if os.path.exists(name):
            env.update(environment_file(name))
        elif not optional:
            sys.exit(f"start_unit: EnvironmentFile {name} is missing")
    for assignments in settings.get("Environment", []):
        for item in shlex.split(assignments):
            key, value = item.split("=", 1)
            env[key] = value
    notify = None
    kind = (settings.get("Type") or ["simple"])[-1]
    if kind == "notify":
        notify_dir = tempfile.mkdtemp(prefix="notify-")
        env["NOTIFY_SOCKET"] = os.path.join(notify_dir, "socket")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(env["NOTIFY_SOCKET"])
        notify.settimeout(0.2)
    nofile = (settings.get("LimitNOFILE") or [None])[-1]

    def limits():
        if nofile:
            value = resource.RLIM_INFINITY if nofile == "infinity" else int(nofile)
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (value, value))
            except (ValueError, OSError):
                pass  # above this machine's hard limit; systemd would raise it

    with open(args.log, "ab") as log:
        service = subprocess.Popen(shlex.split(commands[0]), env=env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=log, start_new_session=True,
                                   preexec_fn=limits)
    with open(args.pid_file, "w") as f:
        f.write(f"{service.pid}\n")
    deadline = time.monotonic() + args.timeout
    while notify is not None:
        if service.poll() is not None:
            sys.exit(f"start_unit: {commands[0]} ended with {service.returncode} before READY=1")
        if time.monotonic() > deadline:
            sys.exit(f"start_unit: no READY=1 from {commands[0]} in {args.timeout} s")
        try:
            if b"READY=1" in notify.recv(4096).split(b"\n"):
                break
        except socket.timeout:
            continue
    if notify is not None:
        notify.close()
        os.unlink(env["NOTIFY_SOCKET"])
        os.rmdir(os.path.dirname(env["NOTIFY_SOCKET"]))
    print(service.pid)


if __name__ == "__main__":
    main()
