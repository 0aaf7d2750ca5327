#!/usr/bin/env bash
# The kite .debs under dpkg: install, upgrade to a newer version, remove, purge, with the
# maintainer scripts really run, without touching the host.
#
# How: in a private mount and PID namespace, a throw-away overlay root of the host
# (overlay_root.sh) is a chroot; dpkg runs there. No systemd runs in the chroot (/run is
# empty), so the scripts take their no-systemd path (deb-systemd-helper for the enable state,
# no invoke), as in a chroot or an image build. Afterwards the upper layer shows exactly what
# the packages left behind (after purge: nothing of kite's), and the host is checked unchanged.
#
# Usage: deb_install_test.sh SOURCE_DIR BUILD_DIR [CRI_UPDATE_RUNTIME_CONFIG]: with the last
# (tests/packaging/cri_update_runtime_config), real containerd also renders kite's CNI template
# on kite's containerd configuration. Needs root (mount namespace, overlayfs,
# chroot); exits 77 (skipped) without.
set -euo pipefail

if [[ ${1:-} == --in-root ]]; then
  # ---- inside the chroot: $2 holds the .debs of both versions ----------------------------
  debs=$2 v1=$3 v2=$4
  failures=0
  fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
  }
  check_eq() { # check_eq WHAT EXPECTED ACTUAL
    [[ $2 == "$3" ]] || fail "$1: expected '$2', got '$3'"
  }
  mode_of() { stat -c '%a %U:%G' "$1" 2>/dev/null || echo missing; }
  status_of() { dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null || echo not-installed; }
  absent() { for path in "$@"; do [[ ! -e $path && ! -L $path ]] || fail "$path is still there"; done; }
  dpkg_run() { # dpkg_run LOG ARGS...: dpkg, non-interactive; the log keeps the scripts' messages
    local log=$1
    shift
    DEBIAN_FRONTEND=noninteractive dpkg --force-confdef --force-confold "$@" </dev/null >"$log" 2>&1 ||
      {
        fail "dpkg $*: $(cat "$log")"
        return 1
      }
  }
  wants=/etc/systemd/system/multi-user.target.wants

  # 1. Install (the agent not configured yet).
  dpkg_run /tmp/install.log -i "$debs/kite_${v1}_"*.deb "$debs/kite-server_${v1}_all.deb" \
    "$debs/kite-agent_${v1}_all.deb" || exit 1
  for package in kite kite-server kite-agent; do
    check_eq "$package after install" "installed $v1" "$(status_of "$package")"
  done
  check_eq "/var/lib/kite" "700 root:root" "$(mode_of /var/lib/kite)"
  check_eq "/etc/kite" "755 root:root" "$(mode_of /etc/kite)"
  check_eq "/etc/kite/config.yaml" "600 root:root" "$(mode_of /etc/kite/config.yaml)"
  check_eq "/etc/default/kite-agent" "600 root:root" "$(mode_of /etc/default/kite-agent)"
  check_eq "/usr/bin/kite" "755 root:root" "$(mode_of /usr/bin/kite)"
  # Nothing the packages installed is writable by others (symlinks aside).
  while read -r path; do
    if [[ -e $path && ! -L $path ]] && [[ -n $(find "$path" -maxdepth 0 -perm -o+w) ]]; then
      [[ -d $path && -k $path ]] || fail "$path is world-writable"
    fi
  done < <(dpkg -L kite kite-server kite-agent)
  # The server is enabled at once; the agent waits for its URL and token and says so.
  check_eq "kite-server enabled" /lib/systemd/system/kite-server.service \
    "$(readlink "$wants/kite-server.service" || true)"
  absent "$wants/kite-agent.service"
  grep -q 'set KITE_URL and KITE_TOKEN in /etc/default/kite-agent' /tmp/install.log ||
    fail "kite-agent's postinst did not say how to configure it: $(cat /tmp/install.log)"
  grep -q 'kite-server is installed here and runs an agent itself' /tmp/install.log ||
    fail "kite-agent's postinst did not warn of the server's own agent: $(cat /tmp/install.log)"
  # The units as systemd loads them, containerd's with kite's drop-in.
  if command -v systemd-analyze >/dev/null; then
    if ! output=$(systemd-analyze verify kite-server.service kite-agent.service \
      containerd.service 2>&1) || [[ -n $output ]]; then
      fail "systemd-analyze verify: $output"
    fi
  fi
  grep -qx 'ExecStart=/usr/bin/containerd --config /etc/kite/containerd/config.toml' \
    /lib/systemd/system/containerd.service.d/kite.conf || fail "containerd drop-in"
  # containerd takes kite's configuration: CNI from Debian's plugins, the podCIDR template.
  dump=$(containerd --config /etc/kite/containerd/config.toml config dump 2>&1) ||
    fail "containerd rejects /etc/kite/containerd/config.toml: $dump"
  for line in 'bin_dir = "/usr/lib/cni"' 'conf_dir = "/etc/cni/net.d"' \
    'conf_template = "/etc/kite/containerd/cni.conflist.tmpl"' 'SystemdCgroup = false' \
    'runtime_type = "io.containerd.runc.v2"'; do
    grep -qF "$line" <<<"$dump" || fail "containerd config dump lacks $line"
  done
  for plugin in bridge host-local portmap loopback; do
    [[ -x /usr/lib/cni/$plugin ]] || fail "CNI plugin /usr/lib/cni/$plugin is missing"
  done
  # The template, rendered the way containerd's Go template does for a podCIDR, is a network
  # of bridge + host-local + portmap on that CIDR.
  python3 - /etc/kite/containerd/cni.conflist.tmpl <<'PY' || fail "CNI template renders wrong"
import json, re, sys
text = open(sys.argv[1]).read()
values = {"PodCIDRRanges": ["10.42.3.0/24"], "Routes": ["0.0.0.0/0"]}
def expand(match):
    items = values[match.group(2)]
    body = match.group(3)
    out = ""
    for i, item in enumerate(items):
        out += re.sub(r"\{\{if \$i\}\},\{\{end\}\}", "," if i else "", body)
        out = out.replace("{{$" + match.group(1) + "}}", item)
    return out.rstrip()
pattern = r"\s*\{\{- range \$i, \$(\w+) := \.(\w+)\}\}(.*?)\s*\{\{- end\}\}"
rendered = re.sub(pattern, expand, text, flags=re.S)
net = json.loads(rendered)
types = [p["type"] for p in net["plugins"]]
assert types == ["bridge", "portmap"], types
ipam = net["plugins"][0]["ipam"]
assert ipam["type"] == "host-local" and ipam["ranges"] == [[{"subnet": "10.42.3.0/24"}]], ipam
assert ipam["routes"] == [{"dst": "0.0.0.0/0"}], ipam
assert net["name"] == "kite", net["name"]
PY
  # Real containerd on kite's configuration (its own root, state and socket, in a network
  # namespace of its own) renders the template when the kubelet's UpdateRuntimeConfig passes the
  # node's podCIDR.
  if [[ -x $debs/cri_update_runtime_config ]]; then
    ctd=$(mktemp -d /tmp/containerd.XXXXXX)
    # shellcheck disable=SC2016 # $1 expands in the inner shell
    unshare --net sh -c 'ip link set lo up && exec containerd --config \
      /etc/kite/containerd/config.toml --root "$1/root" --state "$1/state" --address "$1/sock"' \
      containerd "$ctd" >"$ctd/log" 2>&1 &
    containerd_pid=$!
    if "$debs/cri_update_runtime_config" "$ctd/sock" 10.42.3.0/24 2>"$ctd/call"; then
      python3 - /etc/cni/net.d/10-containerd-net.conflist <<'PY' ||
import json, sys
net = json.load(open(sys.argv[1]))
assert net["name"] == "kite", net
bridge, portmap = net["plugins"]
assert bridge["type"] == "bridge" and portmap["type"] == "portmap", net
assert bridge["ipam"]["ranges"] == [[{"subnet": "10.42.3.0/24"}]], bridge
assert bridge["ipam"]["routes"] == [{"dst": "0.0.0.0/0"}], bridge
PY
        fail "containerd's CNI network from kite's template: $(cat /etc/cni/net.d/10-containerd-net.conflist 2>&1)"
    else
      fail "UpdateRuntimeConfig to containerd on kite's config: $(cat "$ctd/call") $(tail -20 "$ctd/log")"
    fi
    kill "$containerd_pid"
    wait "$containerd_pid" || true
  fi

  # The shipped example configuration is read as it is (all commented: every default).
  message=$(env -u KITE_URL -u K3S_URL kite agent 2>&1 || true)
  [[ $message == *"--server (or KITE_URL) is required"* ]] ||
    fail "kite agent with the example /etc/kite/config.yaml: $message"

  # kite-server.service's ExecStart in the installed root, control plane only through the
  # shipped config file (its agent would need the host's cgroups), in a network namespace of its
  # own: it sends READY=1, and its secrets under /var/lib/kite are not open to others.
  cp /etc/kite/config.yaml /tmp/config.yaml.orig
  echo 'disable-agent: true' >>/etc/kite/config.yaml
  exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/kite-server.service)
  if ! ready=$(unshare --net python3 - "$exec_start" <<'PY' 2>&1
import os, socket, subprocess, sys
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind("/tmp/notify")
notify.settimeout(45)
env = dict(os.environ, NOTIFY_SOCKET="/tmp/notify")
server = subprocess.Popen(sys.argv[1].split(), env=env, stdout=subprocess.DEVNULL,
                          stderr=open("/tmp/server.log", "w"))
try:
    print(notify.recv(64).decode())
finally:
    server.terminate()
    server.wait(timeout=30)
PY
  ); then
    fail "kite server from the package: $ready $(tail -5 /tmp/server.log)"
  fi
  check_eq "kite server sd_notify" READY=1 "$ready"
  [[ -s /var/lib/kite/server/token ]] || fail "kite server wrote no /var/lib/kite/server/token"
  # (Certificates are public; keys, the token and the database are not.)
  open=$(find /var/lib/kite \( -perm -o+w -o \( -type f -perm /o+r ! -name '*.crt' \) \) -print)
  [[ -z $open ]] || fail "state open to others under /var/lib/kite: $open"
  token=$(cat /var/lib/kite/server/token)
  cp /tmp/config.yaml.orig /etc/kite/config.yaml

  # 2. The admin's changes, then an upgrade to a newer version.
  echo 'log-level: debug  # the admin' >>/etc/kite/config.yaml
  sed -i -e 's|^KITE_URL=.*|KITE_URL=https://192.0.2.1:6443|' \
    -e 's|^KITE_TOKEN=.*|KITE_TOKEN=K10abc::server:secret|' /etc/default/kite-agent
  systemctl disable kite-server.service 2>/dev/null # the admin, offline
  chmod 0755 /var/lib/kite
  dpkg_run /tmp/upgrade.log -i "$debs/kite_${v2}_"*.deb "$debs/kite-server_${v2}_all.deb" \
    "$debs/kite-agent_${v2}_all.deb" || exit 1
  for package in kite kite-server kite-agent; do
    check_eq "$package after upgrade" "installed $v2" "$(status_of "$package")"
  done
  grep -q '^log-level: debug  # the admin$' /etc/kite/config.yaml || fail "config.yaml edit lost"
  grep -q '^KITE_URL=https://192.0.2.1:6443$' /etc/default/kite-agent ||
    fail "/etc/default/kite-agent edit lost"
  check_eq "/etc/default/kite-agent after upgrade" "600 root:root" \
    "$(mode_of /etc/default/kite-agent)"
  leftovers=$(find /etc/kite /etc/default -name '*.dpkg-*' 2>/dev/null)
  [[ -z $leftovers ]] || fail "conffile copies after upgrade: $leftovers"
  absent "$wants/kite-server.service" # the admin disabled it: the upgrade keeps that
  check_eq "state kept on upgrade" "$token" "$(cat /var/lib/kite/server/token)"
  check_eq "/var/lib/kite after upgrade" "700 root:root" "$(mode_of /var/lib/kite)"

  # 3. Remove: the programs and units go, the configuration and the state stay.
  dpkg_run /tmp/remove.log -r kite-agent kite-server kite || exit 1
  for package in kite kite-server kite-agent; do
    check_eq "$package after remove" "config-files $v2" "$(status_of "$package")"
  done
  absent /usr/bin/kite /lib/systemd/system/kite-server.service \
    /lib/systemd/system/kite-agent.service /lib/systemd/system/containerd.service.d/kite.conf
  grep -q '^log-level: debug  # the admin$' /etc/kite/config.yaml ||
    fail "config.yaml not kept on remove"
  grep -q '^KITE_URL=https://192.0.2.1:6443$' /etc/default/kite-agent ||
    fail "/etc/default/kite-agent not kept on remove"
  [[ -f /etc/kite/containerd/config.toml ]] || fail "containerd config not kept on remove"
  check_eq "state kept on remove" "$token" "$(cat /var/lib/kite/server/token)"

  # 4. Purge: nothing of kite's is left, not even what containerd and the kubelet made for it;
  # the kubelet's folder stays while a pod volume is mounted below it.
  mkdir -p /etc/cni/net.d /var/lib/cni/networks/kite /var/lib/cni/results \
    /var/lib/kubelet/pods/p/volumes/v /var/log/pods/ns_p_uid
  echo '{"cniVersion": "1.0.0", "name": "kite", "plugins": []}' \
    >/etc/cni/net.d/10-containerd-net.conflist
  touch /var/lib/cni/networks/kite/10.42.3.2 /var/lib/cni/results/kite-abc-eth0
  mount -t tmpfs volume /var/lib/kubelet/pods/p/volumes/v
  dpkg_run /tmp/purge.log -P kite-agent kite-server kite || exit 1
  for package in kite kite-server kite-agent; do
    check_eq "$package after purge" not-installed "$(status_of "$package" | cut -d' ' -f1)"
  done
  absent /etc/kite /var/lib/kite /etc/default/kite-agent /etc/cni/net.d/10-containerd-net.conflist \
    /var/lib/cni/networks/kite /var/lib/cni/results/kite-abc-eth0 /var/log/pods
  [[ -d /var/lib/kubelet/pods/p/volumes/v ]] || fail "purge removed a mounted pod volume"
  grep -q 'kite: /var/lib/kubelet kept' /tmp/purge.log || fail "purge did not say why it kept /var/lib/kubelet"
  umount /var/lib/kubelet/pods/p/volumes/v
  rm -rf /var/lib/kubelet
  leftovers=$(find /etc/systemd /var/lib/systemd -name '*kite*' 2>/dev/null)
  [[ -z $leftovers ]] || fail "systemd state left after purge: $leftovers"
  exit $((failures > 0))
fi

if [[ ${1:-} == --in-namespace ]]; then
  # ---- in the private mount and PID namespace: build the overlay root and run the steps ----
  tmp=$2 v1=$3 v2=$4 self=$5
  # shellcheck source=tests/packaging/overlay_root.sh
  . "$(dirname "$self")/overlay_root.sh"
  overlay_root_up "$tmp/layers"
  root=$overlay_root
  mkdir "$root/tmp/debs"
  mount --bind "$tmp/debs" "$root/tmp/debs"
  cp "$self" "$root/tmp/steps.sh"
  status=0
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot "$root" \
    /bin/bash /tmp/steps.sh --in-root /tmp/debs "$v1" "$v2" || status=1
  overlay_root_down
  # What the packages left in the root: the upper layer minus dpkg's own bookkeeping.
  left=$(overlay_root_kite_files)
  if [[ -n $left ]]; then
    echo "FAIL: purge left kite files: $left" >&2
    status=1
  fi
  # Files of the host deleted in the root (whiteouts) outside dpkg's bookkeeping.
  deleted=$(overlay_root_deleted_files)
  if [[ -n $deleted ]]; then
    echo "FAIL: host files deleted in the root: $deleted" >&2
    status=1
  fi
  exit $status
fi

# ---- on the host ---------------------------------------------------------------------------
source_dir=$1
build_dir=$2
cri_tool=${3:-} # cri_update_runtime_config, for the containerd part
if [[ $(id -u) != 0 ]] || ! command -v unshare >/dev/null || ! grep -qw overlay /proc/filesystems; then
  echo "deb_install_test: needs root, unshare and overlayfs; skipped"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/debs" "$tmp/layers"
[[ -z $cri_tool ]] || cp "$cri_tool" "$tmp/debs/cri_update_runtime_config"

v1=$(sed -n 's/^project(kite VERSION \([0-9.]*\).*/\1/p' "$source_dir/CMakeLists.txt")
v2=$v1+1 # newer than v1 for dpkg
# Both versions at once (each build mostly waits on strip and xz).
"$source_dir/packaging/deb/build.sh" "$build_dir" "$tmp/debs" >/dev/null &
first=$!
KITE_DEB_VERSION=$v2 "$source_dir/packaging/deb/build.sh" "$build_dir" "$tmp/debs" >/dev/null
wait "$first"

host_state() {
  dpkg-query -W -f='${db:Status-Status}\n' kite kite-server kite-agent 2>/dev/null || true
  ls -ld /etc/kite /var/lib/kite /etc/default/kite-agent /lib/systemd/system/kite-*.service \
    /lib/systemd/system/containerd.service.d /etc/cni/net.d/* 2>&1 || true
  md5sum /var/lib/dpkg/status
}
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
before=$(host_state)
status=0
unshare --mount --pid --fork --propagation private "$self" --in-namespace "$tmp" "$v1" "$v2" \
  "$self" || status=1
after=$(host_state)
if [[ $before != "$after" ]]; then
  echo "FAIL: the host changed: before:
$before
after:
$after" >&2
  status=1
fi
((status == 0)) && echo "packaging.deb_install: all checks passed"
exit $status
