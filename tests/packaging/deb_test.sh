#!/usr/bin/env bash
# packaging/deb/build.sh over a build dir: the three .debs, their control fields and file
# lists, lintian without errors, systemd-analyze verify of the units, the same bytes from a
# second build, and the agent taking its server and token from K3S_URL/K3S_TOKEN as the unit's
# environment file allows, and /etc/kite/config.yaml. Usage: deb_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail

source_dir=$1
build_dir=$2
kite=$build_dir/cmd/kite/kite
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
check_eq() {  # check_eq WHAT EXPECTED ACTUAL
  [[ $2 == "$3" ]] || fail "$1: expected '$2', got '$3'"
}

version=$(sed -n 's/^project(kite VERSION \([0-9.]*\).*/\1/p' "$source_dir/CMakeLists.txt")
arch=$(dpkg --print-architecture)

# One SOURCE_DATE_EPOCH for both builds (by default it is the last commit's time, and other
# commits may land between the two builds).
SOURCE_DATE_EPOCH=$(git -C "$source_dir" log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH
"$source_dir/packaging/deb/build.sh" "$build_dir" "$work/a" >/dev/null
"$source_dir/packaging/deb/build.sh" "$build_dir" "$work/b" >/dev/null

kite_deb=$work/a/kite_${version}_${arch}.deb
server_deb=$work/a/kite-server_${version}_all.deb
agent_deb=$work/a/kite-agent_${version}_all.deb
for deb in "$kite_deb" "$server_deb" "$agent_deb"; do
  [[ -f $deb ]] || { echo "FAIL: $deb was not built" >&2; exit 1; }
  # Reproducible: a second build gives the same bytes.
  cmp -s "$deb" "$work/b/$(basename "$deb")" || fail "$(basename "$deb") differs between builds"
done

field() { dpkg-deb -f "$1" "$2"; }
check_eq "kite Version" "$version" "$(field "$kite_deb" Version)"
check_eq "kite Architecture" "$arch" "$(field "$kite_deb" Architecture)"
depends=$(field "$kite_deb" Depends)
for needed in containerd runc nftables containernetworking-plugins iproute2 libc6 libstdc++6 \
  libgrpc++1.51 libsqlite3-0 libssl3 libyaml-cpp0.7; do
  [[ ", $depends," == *", $needed"[\ ,]* ]] || fail "kite Depends lacks $needed: $depends"
done
check_eq "kite-server Depends" "kite (= $version)" "$(field "$server_deb" Depends)"
check_eq "kite-agent Depends" "kite (= $version)" "$(field "$agent_deb" Depends)"

files() { dpkg-deb -c "$1" | awk '{print $1, $2, $6}' | grep -v '/$'; }
check_eq "kite files" "-rw------- root/root ./etc/kite/config.yaml
-rw-r--r-- root/root ./etc/kite/containerd/cni.conflist.tmpl
-rw-r--r-- root/root ./etc/kite/containerd/config.toml
-rw-r--r-- root/root ./lib/systemd/system/containerd.service.d/kite.conf
-rwxr-xr-x root/root ./usr/bin/kite
-rw-r--r-- root/root ./usr/share/doc/kite/changelog.gz
-rw-r--r-- root/root ./usr/share/doc/kite/copyright
-rw-r--r-- root/root ./usr/share/man/man1/kite.1.gz" "$(files "$kite_deb")"
check_eq "kite-server files" "-rw-r--r-- root/root ./lib/systemd/system/kite-server.service
-rw-r--r-- root/root ./usr/share/doc/kite-server/changelog.gz
-rw-r--r-- root/root ./usr/share/doc/kite-server/copyright" "$(files "$server_deb")"
check_eq "kite-agent files" "-rw------- root/root ./etc/default/kite-agent
-rw-r--r-- root/root ./lib/systemd/system/kite-agent.service
-rw-r--r-- root/root ./usr/share/doc/kite-agent/changelog.gz
-rw-r--r-- root/root ./usr/share/doc/kite-agent/copyright" "$(files "$agent_deb")"
check_eq "kite-agent conffiles" "/etc/default/kite-agent" \
  "$(dpkg-deb --ctrl-tarfile "$agent_deb" | tar -xOf - ./conffiles)"
check_eq "kite conffiles" "/etc/kite/config.yaml
/etc/kite/containerd/cni.conflist.tmpl
/etc/kite/containerd/config.toml" "$(dpkg-deb --ctrl-tarfile "$kite_deb" | tar -xOf - ./conffiles)"

# The packaged binary is the build's, stripped, and runs.
dpkg-deb -x "$kite_deb" "$work/root"
if readelf -S -W "$work/root/usr/bin/kite" | grep -Eq ' \.(symtab|debug_info|comment) '; then
  fail "kite binary is not stripped"
fi
"$work/root/usr/bin/kite" version | grep -q "^kite $version " || fail "packaged kite version"

# The units, each the way systemd would load it with the binary in place.
for unit in kite-server kite-agent; do
  grep -q '^KillMode=process$' "$source_dir/packaging/deb/$unit/$unit.service" ||
    fail "$unit.service: KillMode=process (a restart must not kill pods)"
done
dpkg-deb -x "$server_deb" "$work/root"
dpkg-deb -x "$agent_deb" "$work/root"
cp -an /lib/systemd/system/. "$work/root/lib/systemd/system/"
if ! output=$(systemd-analyze verify --root="$work/root" \
  "$work/root/lib/systemd/system/kite-server.service" \
  "$work/root/lib/systemd/system/kite-agent.service" 2>&1) || [[ -n $output ]]; then
  fail "systemd-analyze verify: $output"
fi

# lintian: errors fail the test (warnings are explained in packaging/deb/README.md).
if lintian_output=$(lintian --no-cfg "$kite_deb" "$server_deb" "$agent_deb" 2>&1); then :; fi
if grep -q '^E: ' <<<"$lintian_output"; then
  fail "lintian errors: $(grep '^E: ' <<<"$lintian_output")"
fi

# The agent reads K3S_URL/K3S_TOKEN when KITE_URL/KITE_TOKEN are unset (a k3s recipe's
# /etc/default/kite-agent carries over): each message names the part still missing.
message=$(env -u KITE_URL -u KITE_TOKEN -u KITE_TOKEN_FILE K3S_URL=https://127.0.0.1:1 \
  "$kite" agent -d "$work/agent" 2>&1 || true)
[[ $message == *"KITE_TOKEN or KITE_TOKEN_FILE is required"* ]] || fail "K3S_URL not read: $message"
message=$(env -u KITE_URL -u KITE_TOKEN -u KITE_TOKEN_FILE K3S_URL=https://127.0.0.1:1 \
  K3S_TOKEN=K10abc::server:secret "$kite" agent -d "$work/agent" 2>&1 || true)
[[ $message == *"invalid join token"* ]] || fail "K3S_TOKEN not read: $message"

# /etc/kite/config.yaml's keys are flags: the agent takes its server from the file named by
# KITE_CONFIG_FILE, and a bad value is an error naming the key.
printf 'server: https://127.0.0.1:1\ndata-dir: %s\n' "$work/agent" >"$work/config.yaml"
message=$(env -u KITE_URL -u KITE_TOKEN -u KITE_TOKEN_FILE -u K3S_URL -u K3S_TOKEN \
  KITE_CONFIG_FILE="$work/config.yaml" "$kite" agent 2>&1 || true)
[[ $message == *"KITE_TOKEN or KITE_TOKEN_FILE is required"* ]] ||
  fail "config file server: not read: $message"
printf 'server: {a: b}\n' >"$work/config.yaml"
message=$("$kite" agent --config "$work/config.yaml" 2>&1 || true)
[[ $message == *"key server"* ]] || fail "config file error does not name the key: $message"

# The example /etc/kite/config.yaml names every key the config loader accepts, each long flag
# of `kite server` and `kite agent` (but --help and --config) as a commented "# key:" line, and
# no other; each example value, uncommented alone, is taken by the command that has the key.
example=$work/root/etc/kite/config.yaml
packaged_kite=$work/root/usr/bin/kite
declare -A commands_of
for command in server agent; do
  for key in $("$packaged_kite" "$command" --help |
    grep -oE '^ +(-[a-zA-Z],)?--[a-z][a-z0-9-]*(,--[a-z][a-z0-9-]*)*' |
    grep -oE -- '--[a-z][a-z0-9-]*' | sed 's/^--//'); do
    [[ $key == help || $key == config ]] && continue
    commands_of[$key]+=" $command"
    grep -q "^# $key:" "$example" || fail "/etc/kite/config.yaml lacks the key $key of kite $command"
  done
done
while read -r key; do
  [[ -n ${commands_of[$key]:-} ]] || { fail "/etc/kite/config.yaml: $key is no flag of kite"; continue; }
  sed -n "s/^# $key: *//p" "$example" | sed 's/  *#.*$//' | sed "s/^/$key: /" >"$work/one.yaml"
  for command in ${commands_of[$key]}; do
    output=$("$packaged_kite" "$command" --config "$work/one.yaml" --help 2>&1) ||
      fail "kite $command rejects the example's $(cat "$work/one.yaml"): $output"
  done
done < <(sed -n 's/^# \([a-z][a-z0-9-]*\):.*/\1/p' "$example")

# Type=notify: kite server sends READY=1 to $NOTIFY_SOCKET once it serves.
if ! ready=$(python3 - "$kite" "$work" <<'PY' 2>&1
import os, socket, subprocess, sys
kite, work = sys.argv[1], sys.argv[2]
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(os.path.join(work, "notify"))
notify.settimeout(45)
probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
env = dict(os.environ, NOTIFY_SOCKET=os.path.join(work, "notify"))
server = subprocess.Popen([kite, "server", "--disable-agent", "--bind-address", "127.0.0.1",
                           "--https-listen-port", str(port), "-d", os.path.join(work, "server"),
                           "--disable-scheduler", "--disable-controller-manager"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    print(notify.recv(64).decode())
finally:
    server.terminate()
    server.wait(timeout=30)
PY
); then
  fail "kite server sent no READY=1: $ready"
fi
check_eq "kite server sd_notify" "READY=1" "$ready"

if ((failures > 0)); then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "packaging.deb: all checks passed"
