#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions called through wait_until or trap look unreachable
# The seed's "1 master + workers" flow from the kite .debs, on a machine without systemd:
#   apt-get install ./kite_*.deb ./kite-server_*.deb ./kite-agent_*.deb  (offline)
#   containerd, kite server and kite agent started as their units' ExecStart (containerd with
#   kite's drop-in; the agent with URL and token from /etc/default/kite-agent)
#   kubectl: the node Ready, the seed's nginx-pod Running and answering on its pod IP
#   apt-get install of a newer build, the services restarted as its postinst would
#   (KillMode=process): the pod keeps running, same container IDs and processes
#   apt-get purge: no kite files left; the host unchanged.
#
# Where: a throw-away overlay root of the host (overlay_root.sh: private mount namespace,
# chroot, its own /run, so its containerd's socket and state are its own) inside a private PID
# namespace and the network namespace of a test bed of its own (tests/testbed/testbed.sh: a
# registry on 127.0.0.1 with the bed's self-built images; its containerd is not used). The
# machine's network is an eth0 (veth) with an address and a default route. No systemd runs here
# (PID 1 of a test machine or a chroot is not systemd), so the units are started by
# start_unit.py as systemd would: ExecStart, EnvironmentFile, Type=notify (waits for READY=1);
# and stopped as KillMode=process does (SIGTERM to the main PID only).
#
# Usage: deb_cluster_test.sh SOURCE_DIR BUILD_DIR PAUSE_BINARY. Needs root, overlayfs,
# containerd, docker-registry, skopeo and kubectl; exits 77 (skipped) without.
set -euo pipefail

machine_ip=192.0.2.10 # the node's address on its eth0 (TEST-NET-1)

if [[ ${1:-} == --in-root ]]; then
  # ---- inside the chroot ----------------------------------------------------------------
  test_dir=$2 v1=$3 v2=$4 registry=$5 cgroup_root=$6
  debs=$test_dir/debs
  failures=0
  fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
  }
  check_eq() { # check_eq WHAT EXPECTED ACTUAL
    [[ $2 == "$3" ]] || fail "$1: expected '$2', got '$3'"
  }
  status_of() { dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null || echo not-installed; }
  absent() { for path in "$@"; do [[ ! -e $path && ! -L $path ]] || fail "$path is still there"; done; }
  step() { echo "deb_cluster: $* ($SECONDS s)"; }
  export HOME=/tmp/home KUBECONFIG=/var/lib/kite/server/cred/admin.kubeconfig
  mkdir -p "$HOME" /tmp/units
  k() { kubectl --request-timeout=10s "$@"; }

  # apt_get LOG ARGS...: apt-get, offline and non-interactive. The dependencies are the host's
  # installed packages: apt is given no archive to fetch from (no sources.list), so it resolves
  # them from dpkg's status or fails. (--no-download would do, but apt 2.6 refuses it with
  # local .deb files: "Pathname to install is not absolute".)
  mkdir -p /tmp/no-sources
  apt_get() {
    local log=$1
    shift
    if ! DEBIAN_FRONTEND=noninteractive apt-get -y -o Dir::Etc::SourceList=/dev/null \
      -o Dir::Etc::SourceParts=/tmp/no-sources -o Acquire::Retries=0 \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" \
      </dev/null >"$log" 2>&1; then
      fail "apt-get $*: $(cat "$log")"
      return 1
    fi
    if grep -E '^(Get|Hit|Ign|Err):[0-9]* (https?|ftp):' "$log"; then
      fail "apt-get $* went to the network: $(cat "$log")"
    fi
  }
  # start_service NAME UNIT [DROP-IN...]: as `systemctl start` (Type=notify: until READY=1).
  start_service() {
    local name=$1
    shift
    /usr/bin/python3 "$test_dir/start_unit.py" --log "/tmp/units/$name.log" \
      --pid-file "/tmp/units/$name.pid" "$@" >/dev/null ||
      {
        fail "starting $name: $(tail -30 "/tmp/units/$name.log")"
        return 1
      }
  }
  alive() { # alive PID: running and not a zombie
    [[ -e /proc/$1 ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]
  }
  # stop_service NAME: as `systemctl stop` with KillMode=process: SIGTERM to the main PID only.
  stop_service() {
    local pid
    pid=$(cat "/tmp/units/$1.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 300); do
      alive "$pid" || return 0
      sleep 0.1
    done
    fail "$1 (pid $pid) did not stop on SIGTERM in 30 s"
    kill -KILL "$pid" 2>/dev/null || true
  }
  # wait_until SECONDS WHAT CMD...
  wait_until() {
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
      if ((SECONDS >= deadline)); then
        fail "timed out waiting for $what"
        return 1
      fi
      sleep 0.5
    done
  }
  node_ready() {
    [[ $(k get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]
  }
  # The pod's containers as the API shows them and the tasks containerd runs for them.
  pod_state() {
    k get pod nginx-pod -o jsonpath='{.status.phase} {.status.initContainerStatuses[0].containerID} {.status.containerStatuses[0].containerID} {.status.containerStatuses[0].ready} restarts={.status.containerStatuses[0].restartCount}'
    echo
    ctr -n k8s.io tasks ls | sort
  }
  network_ready() { # containerd's CRI says its pod network is ready
    kite cri --container-runtime-endpoint "$cri" info | /usr/bin/python3 -c 'import json, sys
info = json.load(sys.stdin)
conditions = info.get("status", info).get("conditions", [])
sys.exit(not any(c.get("type") == "NetworkReady" and c.get("status") is True for c in conditions))'
  }
  no_tasks() { [[ -z $(ctr -n k8s.io tasks ls -q) ]]; }
  serves_nginx() { # the pod answers on its IP with the nginx image's page
    local ip
    ip=$(k get pod nginx-pod -o jsonpath='{.status.podIP}')
    [[ -n $ip ]] && /usr/bin/python3 -c 'import sys, urllib.request
body = urllib.request.urlopen(f"http://{sys.argv[1]}/", timeout=5).read().decode()
sys.exit("Welcome to nginx!" not in body)' "$ip"
  }
  units=/lib/systemd/system
  wants=/etc/systemd/system/multi-user.target.wants
  nginx=$test_dir/nginx-pod.yaml
  cri=unix:///run/containerd/containerd.sock

  # 1. Install the three packages with apt, offline.
  step "apt-get install v$v1"
  apt_get /tmp/install.log install "$debs/kite_${v1}_"*.deb "$debs/kite-server_${v1}_all.deb" \
    "$debs/kite-agent_${v1}_all.deb" || exit 1
  for package in kite kite-server kite-agent; do
    check_eq "$package after install" "installed $v1" "$(status_of "$package")"
  done
  grep -q 'set KITE_URL and KITE_TOKEN in /etc/default/kite-agent' /tmp/install.log ||
    fail "kite-agent's postinst did not say how to start it: $(cat /tmp/install.log)"

  # 2. This machine's containerd settings, the admin's way (README): a file under
  # /etc/containerd/conf.d that kite's configuration imports. containerd 1.6 replaces kite's
  # whole CRI section with it, so it is kite's section, as installed, plus this machine's
  # lines: the sandbox image from the local registry (plain HTTP on 127.0.0.1), and
  # restrict_oom_score_adj (the test VM lacks CAP_SYS_RESOURCE; DESIGN.md).
  mkdir -p /etc/containerd/conf.d "/etc/containerd/certs.d/$registry"
  printf 'server = "http://%s"\n\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' \
    "$registry" "$registry" >"/etc/containerd/certs.d/$registry/hosts.toml"
  {
    echo "# This machine's CRI settings: kite's section (/etc/kite/containerd/config.toml) and more."
    echo 'version = 2'
    awk -v extra="  sandbox_image = \"$registry/kite/pause:1.0\"
  restrict_oom_score_adj = true" '
      /^[[:space:]]*\[/ { cri = index($0, "[plugins.\"io.containerd.grpc.v1.cri\"") > 0 }
      cri { print }
      $0 == "[plugins.\"io.containerd.grpc.v1.cri\"]" { print extra }
    ' /etc/kite/containerd/config.toml
    echo '  [plugins."io.containerd.grpc.v1.cri".registry]'
    echo '    config_path = "/etc/containerd/certs.d"'
  } >/etc/containerd/conf.d/50-this-machine.toml
  dump=$(containerd --config /etc/kite/containerd/config.toml config dump 2>&1) ||
    fail "containerd rejects its configuration: $dump"
  for line in "sandbox_image = \"$registry/kite/pause:1.0\"" 'restrict_oom_score_adj = true' \
    'conf_template = "/etc/kite/containerd/cni.conflist.tmpl"' 'bin_dir = "/usr/lib/cni"'; do
    grep -qF "$line" <<<"$dump" ||
      fail "containerd config dump lacks $line: $(cat /etc/containerd/conf.d/50-this-machine.toml)"
  done
  # kite's settings for this machine: the server runs the control plane only, because the
  # node is kite-agent.service's (both packages on one machine, as the README says; the
  # server's own agent would be a second agent on the same state and containerd). The agent
  # joins by the machine's address (its default route's), which kite server puts into its
  # certificate by itself, as k3s. Pod cgroups go under the test bed's cgroup, never the
  # host's own.
  cat >>/etc/kite/config.yaml <<EOF
disable-agent: true
cgroup-root: $cgroup_root
EOF

  # 3. containerd as containerd.service with kite's drop-in starts it.
  step "containerd, kite server"
  start_service containerd "$units/containerd.service" "$units/containerd.service.d/kite.conf" ||
    exit 1
  tr '\0' ' ' <"/proc/$(cat /tmp/units/containerd.pid)/cmdline" |
    grep -qF -- '--config /etc/kite/containerd/config.toml' ||
    fail "containerd not started on kite's configuration"
  # kite-server.service: enabled by its postinst; started as systemd would.
  check_eq "kite-server enabled" "$units/kite-server.service" \
    "$(readlink "$wants/kite-server.service" || true)"
  start_service kite-server "$units/kite-server.service" || exit 1
  token=$(cat /var/lib/kite/server/token) || fail "no token in /var/lib/kite/server/token"
  k get --raw /readyz >/dev/null || fail "the API server is not ready after READY=1"

  # 4. The worker's recipe: URL and token into /etc/default/kite-agent, then
  # `systemctl enable --now kite-agent` (what the postinst told).
  step "kite agent joins"
  sed -i -e "s|^KITE_URL=.*|KITE_URL=https://$machine_ip:6443|" \
    -e "s|^KITE_TOKEN=.*|KITE_TOKEN=$token|" /etc/default/kite-agent
  systemctl enable kite-agent.service 2>/dev/null # offline: the symlink only
  check_eq "kite-agent enabled" "$units/kite-agent.service" \
    "$(readlink "$wants/kite-agent.service" || true)"
  start_service kite-agent "$units/kite-agent.service" || exit 1
  node=$(tr '[:upper:]' '[:lower:]' </proc/sys/kernel/hostname) # the default node name
  wait_until 60 "node $node registered" k get node "$node" || exit 1
  wait_until 60 "node $node Ready" node_ready || exit 1
  check_eq "node address" "$machine_ip" \
    "$(k get node "$node" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')"
  pod_cidr=$(k get node "$node" -o jsonpath='{.spec.podCIDR}')
  # containerd's pod network comes up once the kubelet hands it the podCIDR. kite's node is
  # Ready before that (it does not look at the runtime's NetworkReady yet), and a pod that
  # comes too early gets stuck on a sandbox name containerd keeps reserved: wait for it here.
  wait_until 60 "containerd's pod network" network_ready || exit 1

  # 5. The seed's nginx pod (its images from the bed's registry, by address).
  step "nginx-pod"
  k apply -f "$nginx" >/dev/null || fail "kubectl apply $nginx"
  if ! k wait --for=condition=Ready pod/nginx-pod --timeout=120s >/dev/null; then
    fail "nginx-pod not Ready: $(k describe pod nginx-pod) $(tail -30 /tmp/units/kite-agent.log)"
    exit 1
  fi
  check_eq "nginx-pod phase" Running "$(k get pod nginx-pod -o jsonpath='{.status.phase}')"
  serves_nginx || fail "nginx-pod does not serve its page on its pod IP"
  # Its network is kite's: containerd wrote it from kite's template for the node's podCIDR.
  if ! grep -q '"name": "kite"' /etc/cni/net.d/10-containerd-net.conflist ||
    ! grep -qF "\"subnet\": \"$pod_cidr\"" /etc/cni/net.d/10-containerd-net.conflist; then
    fail "CNI network for podCIDR $pod_cidr: $(cat /etc/cni/net.d/10-containerd-net.conflist 2>&1)"
  fi
  before=$(pod_state)
  echo "deb_cluster: nginx-pod on $node (podCIDR $pod_cidr): $before"
  [[ $before == Running\ containerd://*\ containerd://*\ true\ restarts=0* ]] ||
    fail "nginx-pod's state: $before"

  # 6. Upgrade with the pod running: apt-get install of the newer build, then what its
  # postinst does under systemd: restart both units (KillMode=process: kite only).
  step "apt-get install v$v2, restart kite"
  old_pids="$(cat /tmp/units/kite-server.pid) $(cat /tmp/units/kite-agent.pid)"
  apt_get /tmp/upgrade.log install "$debs/kite_${v2}_"*.deb "$debs/kite-server_${v2}_all.deb" \
    "$debs/kite-agent_${v2}_all.deb" || exit 1
  for package in kite kite-server kite-agent; do
    check_eq "$package after upgrade" "installed $v2" "$(status_of "$package")"
  done
  for unit in kite-server kite-agent; do
    stop_service "$unit"
    start_service "$unit" "$units/$unit.service" || exit 1
  done
  for unit in kite-server kite-agent; do
    pid=$(cat "/tmp/units/$unit.pid")
    [[ " $old_pids " != *" $pid "* ]] || fail "$unit was not restarted"
    # The new binary runs (the old one's inode would read "/usr/bin/kite (deleted)").
    check_eq "$unit's program after upgrade" /usr/bin/kite "$(readlink "/proc/$pid/exe")"
  done
  wait_until 60 "node $node Ready after the upgrade" node_ready
  # The restarted agent adopts the pod: for a while after it started, the same containers
  # and processes, still Running, no restart.
  for _ in $(seq 12); do
    after=$(pod_state)
    [[ $after == "$before" ]] || break
    sleep 1
  done
  check_eq "nginx-pod's containers after the upgrade" "$before" "$after"
  serves_nginx || fail "nginx-pod does not serve after the upgrade"

  # 7. Purge, the way the README says: the pods first, then the packages (their prerm stops
  # the units on remove).
  step "delete the pod, apt-get purge"
  k delete pod nginx-pod --timeout=60s >/dev/null || fail "kubectl delete pod nginx-pod"
  wait_until 30 "nginx-pod's tasks gone" no_tasks
  while read -r sandbox _; do
    kite cri --container-runtime-endpoint "$cri" rmp "$sandbox" >/dev/null || fail "kite cri rmp $sandbox"
  done < <(kite cri --container-runtime-endpoint "$cri" pods | tail -n +2)
  stop_service kite-agent
  stop_service kite-server
  apt_get /tmp/purge.log purge kite-agent kite-server kite || exit 1
  for package in kite kite-server kite-agent; do
    check_eq "$package after purge" not-installed "$(status_of "$package" | cut -d' ' -f1)"
  done
  absent /usr/bin/kite /etc/kite /var/lib/kite /etc/default/kite-agent \
    "$units/kite-server.service" "$units/kite-agent.service" \
    "$units/containerd.service.d/kite.conf" "$wants/kite-server.service" \
    "$wants/kite-agent.service" /etc/cni/net.d/10-containerd-net.conflist \
    /var/lib/cni/networks/kite /var/lib/kubelet /var/log/pods
  # (Network kite's: kite-<container id>-<interface>; the host's own test beds', seen through
  # the overlay, are kite-tb-*.)
  leftovers=$(find /var/lib/cni/results -name 'kite-[0-9a-f]*' 2>/dev/null)
  [[ -z $leftovers ]] || fail "CNI results left after purge: $leftovers"
  stop_service containerd
  # This test's own files (the machine's containerd settings, the pod's hostPath).
  rm -rf /etc/containerd/conf.d/50-this-machine.toml "/etc/containerd/certs.d/$registry" \
    /data/nginx
  step "done"
  exit $((failures > 0))
fi

if [[ ${1:-} == --in-namespace ]]; then
  # ---- in the bed's network namespace, private mount and PID namespaces ------------------
  tmp=$2 v1=$3 v2=$4 registry=$5 cgroup_root=$6 source_dir=$7 self=$8
  # shellcheck source=tests/packaging/overlay_root.sh
  . "$(dirname "$self")/overlay_root.sh"
  # The machine's network: an interface with an address and a default route (one end of a
  # veth pair whose other end leads nowhere).
  ip link add eth0 type veth peer name uplink0
  ip address add "$machine_ip/24" dev eth0
  ip link set uplink0 up
  ip link set eth0 up
  ip route add default via 192.0.2.1
  overlay_root_up "$tmp/layers"
  root=$overlay_root
  # containerd's overlayfs snapshots cannot have their upper layers on an overlayfs.
  mkdir -p "$root/var/lib/containerd"
  mount -t tmpfs containerd "$root/var/lib/containerd"
  test_dir=/tmp/deb-cluster
  mkdir -p "$root$test_dir/debs"
  mount --bind "$tmp/debs" "$root$test_dir/debs"
  cp "$self" "$(dirname "$self")/start_unit.py" "$root$test_dir/"
  sed "s|image: nginx:1.22.1|image: $registry/library/nginx:1.22.1|" \
    "$source_dir/examples/nginx-pod.yaml" >"$root$test_dir/nginx-pod.yaml"
  status=0
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot "$root" /bin/bash \
    "$test_dir/$(basename "$self")" --in-root "$test_dir" "$v1" "$v2" "$registry" \
    "$cgroup_root" || status=1
  # Every process still in this PID namespace but this script (none, when all went well),
  # ended by PID: the chroot's /proc is this namespace's.
  running=()
  for proc in "$root"/proc/[0-9]*; do
    pid=${proc##*/}
    [[ $pid == 1 ]] || running+=("$pid:$(cat "$proc/comm" 2>/dev/null)")
  done
  if ((${#running[@]} > 0)); then
    echo "FAIL: processes left running: ${running[*]}" >&2
    status=1
    for entry in "${running[@]}"; do kill -KILL "${entry%%:*}" 2>/dev/null || true; done
    sleep 1
  fi
  overlay_root_down
  left=$(overlay_root_kite_files)
  if [[ -n $left ]]; then
    echo "FAIL: purge left kite files: $left" >&2
    status=1
  fi
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
pause=$3
for tool in unshare nsenter containerd docker-registry skopeo kubectl apt-get; do
  command -v "$tool" >/dev/null || {
    echo "deb_cluster_test: $tool is missing; skipped"
    exit 77
  }
done
if [[ $(id -u) != 0 ]] || ! grep -qw overlay /proc/filesystems; then
  echo "deb_cluster_test: needs root and overlayfs; skipped"
  exit 77
fi
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
testbed=$source_dir/tests/testbed/testbed.sh
tmp=$(mktemp -d /tmp/kite-deb-cluster.XXXXXX)
bed=$tmp/bed
cleanup() {
  "$testbed" down "$bed" >/dev/null 2>&1 || true
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/debs" "$tmp/layers"
chmod 0755 "$tmp" "$tmp/debs"

# The machine before: kite's paths, dpkg's database, containerd's and CNI's configuration,
# its nftables tables. (Not /run/containerd: the shared test bed's shims put sockets there.)
host_state() {
  dpkg-query -W -f='${db:Status-Status}\n' kite kite-server kite-agent 2>/dev/null || true
  ls -ld /etc/kite /var/lib/kite /etc/default/kite-agent /lib/systemd/system/kite-*.service \
    /lib/systemd/system/containerd.service.d /var/lib/kubelet /var/log/pods /data/nginx 2>&1 || true
  find /etc/containerd /etc/cni /var/lib/cni/networks /var/lib/containerd -printf '%p %s %T@\n' \
    2>&1 | sort || true
  md5sum /var/lib/dpkg/status
  nft list tables
}
before=$(host_state)

t0=$SECONDS
v1=$(sed -n 's/^project(kite VERSION \([0-9.]*\).*/\1/p' "$source_dir/CMakeLists.txt")
v2=$v1+1 # newer than v1 for dpkg
"$source_dir/packaging/deb/build.sh" "$build_dir" "$tmp/debs" >/dev/null &
first=$!
KITE_DEB_VERSION=$v2 "$source_dir/packaging/deb/build.sh" "$build_dir" "$tmp/debs" >/dev/null
wait "$first"
echo "deb_cluster: packages built ($((SECONDS - t0)) s)"

# A test bed of this test's own: its network namespace, registry and images.
KITE_TB_PAUSE=$pause "$testbed" up "$bed" "$build_dir"
# shellcheck disable=SC1091
. "$bed/env"
cgroup_root=$KITE_TB_CGROUP_PARENT/deb-node
echo "deb_cluster: test bed up ($((SECONDS - t0)) s)"

status=0
# In the background, so that a SIGINT or SIGTERM ends it at once: unshare (which ignores
# them) is killed, so its child, PID 1 of the new PID namespace, is too (--kill-child), and
# with it every process in there; the EXIT trap then takes the bed down.
nsenter --net="/run/netns/$KITE_TB_NETNS" unshare --kill-child --mount --pid --fork \
  --propagation private "$self" --in-namespace "$tmp" "$v1" "$v2" "$KITE_TB_REGISTRY" \
  "$cgroup_root" "$source_dir" "$self" &
flow=$!
trap 'kill -KILL "$flow" 2>/dev/null; wait "$flow" || true; exit 130' INT TERM
wait "$flow" || status=1
trap - INT TERM

# The pods' cgroups (runc made them; their processes are gone with the PID namespace).
for hierarchy in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
  [[ -L ${hierarchy%/} || ! -d $hierarchy$cgroup_root ]] ||
    find "$hierarchy$cgroup_root" -depth -type d -exec rmdir {} + 2>/dev/null || true
done
"$testbed" down "$bed"
leftovers=$(ls -d /sys/fs/cgroup/*/"$KITE_TB_CGROUP_PARENT" "/run/netns/$KITE_TB_NETNS" 2>/dev/null || true)
if [[ -n $leftovers ]]; then
  echo "FAIL: left on the host: $leftovers" >&2
  status=1
fi
after=$(host_state)
if [[ $before != "$after" ]]; then
  echo "FAIL: the host changed: before:
$before
after:
$after" >&2
  status=1
fi
((status == 0)) && echo "packaging.deb_cluster: all checks passed ($((SECONDS - t0)) s)"
exit $status
