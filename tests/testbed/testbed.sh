#!/bin/bash
# shellcheck disable=SC2046 # lists of pids are word-split on purpose
# kite test bed: a private containerd + image registries playing "the node",
# all inside one network namespace, with images we build ourselves.
#
#   testbed.sh up    BEDDIR BUILDDIR  start (or check) a bed
#   testbed.sh down  BEDDIR           stop it and remove every trace
#   testbed.sh exec  BEDDIR CMD...    run CMD in the bed (netns + $BEDDIR/env)
#   testbed.sh shell BEDDIR           interactive shell in the bed
#
# Nothing here uses the machine's containerd (/etc/containerd, /run/containerd
# /containerd.sock) and nothing needs the internet: docker.io is mirrored by
# the bed's own registry.  Everything the bed creates lives under BEDDIR,
# except what containerd and CNI insist on putting elsewhere; `down` removes
# those too (shim sockets in /run/containerd/s, CNI result cache files in
# /var/lib/cni, pod cgroups, the netns).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3 # Debian's: has crypt (bcrypt via libcrypt)
AUTH_USER=kite

die() { echo "testbed: $*" >&2; exit 1; }
log() { echo "testbed: $*" >&2; }

usage() { sed -n 's/^#   \(testbed.sh\)/\1/p' "$0" >&2; exit 2; }

# ---------------------------------------------------------------- helpers

# in_ns CMD...: run CMD in the bed's network namespace.  nsenter --net (not
# "ip netns exec") keeps the host mount namespace, so mounts made by
# containerd, runc and the tests are visible to each other and to `down`.
in_ns() { nsenter --net="/run/netns/$NETNS" -- "$@"; }

# start NAME CMD...: start a daemon in the netns, detached from our session
# and our stdout/stderr (ctest waits until those close), pid in pids/NAME.
start() {
    local name=$1; shift
    TMPDIR="$BED/tmp" setsid nsenter --net="/run/netns/$NETNS" -- "$@" \
        </dev/null >"$BED/logs/$name.log" 2>&1 &
    echo $! >"$BED/pids/$name" # setsid and nsenter exec, so this is the daemon
}

# pid_of NAME: pid from pids/NAME if that process still runs and is ours
# (its command line mentions BED), else nothing.
pid_of() {
    local pid
    pid=$(cat "$BED/pids/$1" 2>/dev/null) || return 0
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$BED/"; then
        echo "$pid"
    fi
}

# registry_up URL: does a registry answer there?  (Checks a registry header,
# not just "something answered"; busybox wget -T crashes, hence timeout.)
registry_up() {
    local out
    out=$(in_ns timeout 3 busybox wget -S -O /dev/null "$1" 2>&1) || return 1
    grep -q 'Docker-Distribution-Api-Version: registry/2.0' <<<"$out"
}

wait_for() { # wait_for SECONDS WHAT CMD...
    local deadline=$((SECONDS + $1)) what=$2; shift 2
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "timed out waiting for $what (logs: $BED/logs)"
        sleep 0.1
    done
}

# free_ports N: N distinct TCP ports that are free in the netns.  The netns
# is new, so this only avoids ports we or hostNetwork pods may already hold.
free_ports() {
    in_ns "$PY" -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

ctr_() { ctr --address "$BED/containerd.sock" "$@"; }

# ---------------------------------------------------------------- up

bed_healthy() {
    [ -f "$BED/env" ] || return 1
    # shellcheck disable=SC1091
    . "$BED/env"
    NETNS=$KITE_TB_NETNS
    [ -e "/run/netns/$NETNS" ] && [ -n "$(pid_of containerd)" ] &&
        [ -n "$(pid_of registry)" ] && [ -n "$(pid_of auth-registry)" ] &&
        ctr_ version >/dev/null 2>&1 &&
        registry_up "http://$KITE_TB_REGISTRY/v2/"
}

write_registry_config() { # NAME PORT [AUTH]
    local dir="$BED/$1"
    mkdir -p "$dir/data"
    cat >"$dir/config.yml" <<EOF
# docker-registry (distribution 2.8) for the kite test bed.
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$2
  secret: $(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
EOF
    if [ "${3:-}" = auth ]; then
        # distribution only takes bcrypt entries.  Basic auth over plain
        # HTTP is accepted by both the registry and containerd (no TLS).
        "$PY" -W ignore -c 'import crypt, sys
print(sys.argv[1] + ":" + crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH)))' \
            "$AUTH_USER" "$AUTH_PASSWORD" >"$dir/htpasswd"
        # shellcheck disable=SC2016 # a literal $2 (bcrypt prefix)
        grep -qF ':$2' "$dir/htpasswd" || die "could not make a bcrypt htpasswd entry"
        cat >>"$dir/config.yml" <<EOF
auth:
  htpasswd:
    realm: kite-testbed
    path: $dir/htpasswd
EOF
    fi
}

# hosts_toml HOST URL [CAPABILITIES]: containerd registry host config.
# "server" is the bed registry too, so a miss never falls back to the
# internet (there is none; it would only give slow, confusing errors).
hosts_toml() {
    local caps=${3:-}
    [ -n "$caps" ] || caps='"pull", "resolve", "push"'
    mkdir -p "$BED/certs.d/$1"
    cat >"$BED/certs.d/$1/hosts.toml" <<EOF
server = "$2"

[host."$2"]
  capabilities = [$caps]
EOF
}

write_containerd_config() {
    mkdir -p "$BED/cni/net.d" "$BED/cni/ipam" "$BED/runc" "$BED/opt"
    cat >"$BED/containerd.toml" <<EOF
# containerd for the kite test bed (generated by testbed.sh).
version = 2
root = "$BED/containerd/root"
state = "$BED/containerd/state"

[grpc]
  address = "$BED/containerd.sock"
[ttrpc]
  address = "$BED/containerd-ttrpc.sock"
[debug]
  address = "$BED/containerd-debug.sock" # unix socket, no TCP listener
  level = "info"
[metrics]
  address = "" # no TCP listener

[plugins."io.containerd.internal.v1.opt"]
  path = "$BED/opt" # default is /opt/containerd

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/kite/pause:1.0"
  # Without this, sandbox start fails here ("can't get final child's PID
  # from pipe"): runc may not lower oom_score_adj below ours.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "$STREAM_PORT"
  # Pod netns bind mounts go under the state dir instead of /var/run/netns,
  # so everything this bed mounts is below BEDDIR.
  netns_mounts_under_state_dir = true
  # ImageFsInfo's usage is refreshed every stats_collect_period seconds
  # (default 10): keep it short so tests see pulled images counted soon.
  stats_collect_period = 1
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false # no systemd here: cgroupfs
        Root = "$BED/runc"    # runc state per namespace: $BED/runc/<ns>
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$BED/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$BED/certs.d"
EOF
    # The loopback plugin is added by containerd itself.  The bridge lives
    # in the bed's netns, so ipMasq/iptables rules stay there too.  The
    # network name carries the bed id: libcni caches results in
    # /var/lib/cni/results/<name>-*, and `down` removes exactly those.
    cat >"$BED/cni/net.d/10-kite-tb.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$NETNS",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "kitebr0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "10.88.0.0/16" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$BED/cni/ipam"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
    # docker.io -> the plain registry (a mirror: pull + resolve only).
    hosts_toml docker.io "http://$REGISTRY" '"pull", "resolve"'
    hosts_toml "$REGISTRY" "http://$REGISTRY"
    hosts_toml "$AUTH_REGISTRY" "http://$AUTH_REGISTRY"
}

build_and_push_images() {
    echo '{"default": [{"type": "insecureAcceptAnything"}]}' >"$BED/policy.json"
    local img kind ref
    for img in "$HERE"/images/*/; do
        img=$(basename "$img")
        "$PY" "$HERE/build-image.py" "$HERE/images/$img" "$BED/images/$img" \
            --var "PAUSE=$PAUSE" >"$BED/images/$img.refs"
        while read -r kind ref; do
            local dest=$REGISTRY creds=()
            if [ "$kind" = auth ]; then
                dest=$AUTH_REGISTRY creds=(--dest-creds "$AUTH_USER:$AUTH_PASSWORD")
            fi
            # As root, skopeo keeps a blob info cache in /var/lib/containers;
            # c/image's "rootless uid" override moves it to XDG_DATA_HOME.
            TMPDIR="$BED/tmp" _CONTAINERS_ROOTLESS_UID=65534 XDG_DATA_HOME="$BED/tmp/xdg" \
                in_ns skopeo --policy "$BED/policy.json" copy --quiet \
                --dest-tls-verify=false "${creds[@]}" \
                "oci:$BED/images/$img:kite" "docker://$dest/$ref" ||
                die "pushing $img as $dest/$ref failed"
        done <"$BED/images/$img.refs"
    done
}

cmd_up() {
    [ $# -eq 2 ] || usage
    mkdir -p "$1"
    BED=$(cd "$1" && pwd)
    # KITE_TB_PAUSE: set by CMake to the real target file (any generator).
    PAUSE=${KITE_TB_PAUSE:-$2/kubelet/pause/kite-pause}
    [ -x "$PAUSE" ] || die "pause binary $PAUSE not found: build target kite-pause first"
    if bed_healthy; then
        log "bed $BED is already up"
        return 0
    fi
    if [ -n "$(ls -A "$BED")" ]; then
        log "cleaning up a stale bed in $BED"
        cmd_down "$BED"
        mkdir -p "$BED"
    fi
    local t0=$SECONDS
    ID=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
    NETNS=kite-tb-$ID
    # First thing on disk: `down` needs the id to clean up a failed `up`.
    echo "$ID" >"$BED/id"
    mkdir -p "$BED/pids" "$BED/logs" "$BED/tmp" "$BED/images"
    # Leave a failed bed as it is for debugging; `down` cleans it up.
    trap '[ -f "$BED/env" ] || log "up failed; logs in $BED/logs; clean up: $0 down $BED"' EXIT

    ip netns add "$NETNS"
    ip -n "$NETNS" link set lo up

    read -r REGISTRY_PORT AUTH_REGISTRY_PORT STREAM_PORT <<<"$(free_ports 3)"
    REGISTRY=127.0.0.1:$REGISTRY_PORT AUTH_REGISTRY=127.0.0.1:$AUTH_REGISTRY_PORT
    AUTH_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')

    write_registry_config registry "$REGISTRY_PORT"
    write_registry_config auth-registry "$AUTH_REGISTRY_PORT" auth
    start registry docker-registry serve "$BED/registry/config.yml"
    start auth-registry docker-registry serve "$BED/auth-registry/config.yml"
    wait_for 20 "registry" registry_up "http://$REGISTRY/v2/"
    wait_for 20 "auth registry" registry_up "http://$AUTH_USER:$AUTH_PASSWORD@$AUTH_REGISTRY/v2/"

    build_and_push_images

    write_containerd_config
    start containerd containerd --config "$BED/containerd.toml"
    wait_for 30 "containerd" in_ns ctr --address "$BED/containerd.sock" version

    # Written last: its presence means "the bed is up".
    {
        printf '%s=%q\n' \
            KITE_TB_DIR "$BED" \
            KITE_TB_ID "$ID" \
            KITE_TB_NETNS "$NETNS" \
            KITE_TB_CRI_ENDPOINT "unix://$BED/containerd.sock" \
            KITE_TB_CONTAINERD_SOCK "$BED/containerd.sock" \
            KITE_TB_HOSTS_DIR "$BED/certs.d" \
            KITE_TB_RUNC_ROOT "$BED/runc" \
            KITE_TB_REGISTRY "$REGISTRY" \
            KITE_TB_AUTH_REGISTRY "$AUTH_REGISTRY" \
            KITE_TB_AUTH_USER "$AUTH_USER" \
            KITE_TB_AUTH_PASSWORD "$AUTH_PASSWORD" \
            KITE_TB_STREAM_PORT "$STREAM_PORT" \
            KITE_TB_POD_CIDR 10.88.0.0/16 \
            KITE_TB_CGROUP_PARENT "/$NETNS" \
            KITE_TB_CONTAINERD_PID "$(pid_of containerd)" \
            KITE_TB_REGISTRY_PID "$(pid_of registry)" \
            KITE_TB_AUTH_REGISTRY_PID "$(pid_of auth-registry)"
    } >"$BED/env.tmp"
    mv "$BED/env.tmp" "$BED/env"
    log "bed $NETNS up in $((SECONDS - t0))s: $BED/env"
}

# ---------------------------------------------------------------- down

# kill_wait SIGNAL SECONDS PID...: signal the pids, wait until they are gone.
kill_wait() {
    local sig=$1 secs=$2 pid; shift 2
    [ $# -gt 0 ] || return 0
    kill -s "$sig" "$@" 2>/dev/null || true
    local deadline=$((SECONDS + secs))
    for pid; do
        while [ -e "/proc/$pid" ] && [ $SECONDS -lt "$deadline" ]; do sleep 0.1; done
    done
}

# Shims of this bed: containerd-shim-* processes started with our socket.
bed_shims() {
    local d cmd
    for d in /proc/[0-9]*; do
        cmd=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue
        case "$cmd" in
        *containerd-shim*" -address $BED/containerd.sock "*) echo "${d#/proc/}" ;;
        esac
    done
}

# Every cgroup directory of this bed, deepest first, in every hierarchy
# (v1 controllers, name=systemd and the v2 "unified" one).
bed_cgroups() {
    local h
    [[ $CGROUP_PARENT == /kite-tb-* ]] || return 0
    for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
        h=${h%/}
        [ -L "$h" ] && continue # cpu -> cpu,cpuacct etc.
        if [ -d "$h$CGROUP_PARENT" ]; then find "$h$CGROUP_PARENT" -depth -type d; fi
    done
    return 0
}

stop_containers() {
    # 1. Politely, through containerd: lets shims exit and clean up.
    if [ -n "$(pid_of containerd)" ] && ctr_ version >/dev/null 2>&1; then
        local ns id
        for ns in $(ctr_ namespaces ls -q); do
            for id in $(ctr_ -n "$ns" tasks ls -q); do
                ctr_ -n "$ns" tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
                ctr_ -n "$ns" tasks delete -f "$id" >/dev/null 2>&1 || true
            done
            for id in $(ctr_ -n "$ns" containers ls -q); do
                ctr_ -n "$ns" containers rm "$id" >/dev/null 2>&1 || true
            done
        done
    fi
    # 2. Whatever runc still knows about (containerd dead or wedged).
    local root id
    for root in "$BED"/runc/*/; do
        [ -d "$root" ] || continue
        for id in $(runc --root "$root" list -q 2>/dev/null); do
            runc --root "$root" delete --force "$id" 2>/dev/null || true
        done
    done
}

cmd_down() {
    [ $# -eq 1 ] || usage
    [ -d "$1" ] || return 0 # already down
    BED=$(cd "$1" && pwd)
    if [ ! -f "$BED/id" ]; then
        # up died before writing anything, or this is not a bed at all.
        rmdir "$BED" 2>/dev/null || die "$BED has no bed id file; not touching it"
        return 0
    fi
    ID=$(cat "$BED/id")
    [[ $ID =~ ^[0-9a-f]{8}$ ]] || die "bad bed id in $BED/id"
    NETNS=kite-tb-$ID CGROUP_PARENT=/kite-tb-$ID
    # We kill everything in the bed's netns: not from inside it, then.
    if [ -e "/run/netns/$NETNS" ] &&
        [ "$(stat -L -c %i "/run/netns/$NETNS")" = "$(stat -L -c %i /proc/self/ns/net)" ]; then
        die "run down from outside the bed (not via exec/shell)"
    fi

    # Shim sockets live in /run/containerd/s/<hash>; each task bundle
    # records its shim's address.  Collect them before anything goes away.
    local sockets sandboxes
    # (awk, not cat: the files have no trailing newline)
    sockets=$(awk 'sub(/^unix:\/\//, "")' \
        "$BED"/containerd/state/io.containerd.runtime.v2.task/*/*/address 2>/dev/null || true)
    # Likewise libcni's result cache (/var/lib/cni/results/<net>-<sandbox
    # id>-<if>): for pods never torn down via CNI DEL, by sandbox id.
    sandboxes=$(ls "$BED"/containerd/root/io.containerd.grpc.v1.cri/sandboxes 2>/dev/null || true)

    stop_containers
    kill_wait TERM 10 $(pid_of containerd)
    kill_wait KILL 5 $(pid_of containerd)
    # Shims left over (containerd was dead, or a task would not go away).
    kill_wait KILL 5 $(bed_shims)
    # The registries' data dies with the bed: no need to wait for a drain.
    kill_wait KILL 5 $(pid_of registry) $(pid_of auth-registry)
    # Anything else still in the bed: container processes in its cgroups,
    # processes in its netns (registries, hostNetwork pods, `exec`s).
    local cg pids
    pids=$(for cg in $(bed_cgroups); do cat "$cg/cgroup.procs" 2>/dev/null; done
        [ -e "/run/netns/$NETNS" ] && ip netns pids "$NETNS" 2>/dev/null
        true)
    kill_wait KILL 5 $(echo "$pids" | sort -u)

    # Mounts below BEDDIR (overlay rootfs, shm, pod netns), deepest first.
    # Field 5 of mountinfo is the mount point, with " " written as "\040".
    local mnt
    P="${BED// /\\040}/" awk 'index($5, ENVIRON["P"]) == 1 { print $5 }' /proc/self/mountinfo |
        sort -r |
        while read -r mnt; do
            mnt=$(printf '%b' "$mnt")
            umount "$mnt" 2>/dev/null || umount -l "$mnt" || true
        done

    for cg in $(bed_cgroups); do
        rmdir "$cg" 2>/dev/null || { sleep 0.2; rmdir "$cg"; } || log "could not remove cgroup $cg"
    done

    if [ -e "/run/netns/$NETNS" ]; then
        ip netns del "$NETNS"
    fi
    # `ip netns add` made /run/netns a mount point; drop it once unused
    # (umount refuses while another netns is mounted in it).
    if [ -d /run/netns ] && [ -z "$(ls -A /run/netns)" ]; then
        if umount /run/netns 2>/dev/null; then rmdir /run/netns; fi
    fi

    # Files containerd/CNI keep outside BEDDIR.
    local s
    for s in $sockets; do
        case "$s" in /run/containerd/s/*) rm -f "$s" ;; esac
    done
    for s in $sandboxes; do
        rm -f /var/lib/cni/results/*-"$s"-*
    done
    rm -f /var/lib/cni/results/"$NETNS"-*
    rmdir /run/containerd/s /run/containerd/fifo /run/containerd \
        /var/lib/cni/results /var/lib/cni 2>/dev/null || true

    # Nothing may be mounted any more: --one-file-system guards the host.
    rm -rf --one-file-system "$BED"
    log "bed $NETNS down"
}

# ---------------------------------------------------------------- exec/shell

enter() { # enter BEDDIR: load the env of a running bed
    [ -f "$1/env" ] || die "no bed in $1 (run: $0 up $1 BUILDDIR)"
    set -a
    # shellcheck disable=SC1091
    . "$1/env"
    set +a
    NETNS=$KITE_TB_NETNS
    [ -e "/run/netns/$NETNS" ] || die "netns $NETNS is gone; bed in $1 is broken"
}

cmd_exec() {
    [ $# -ge 2 ] || usage
    enter "$1"; shift
    exec nsenter --net="/run/netns/$NETNS" -- "$@"
}

cmd_shell() {
    [ $# -eq 1 ] || usage
    enter "$1"
    PS1="[$NETNS] \w# " exec nsenter --net="/run/netns/$NETNS" -- bash --norc -i
}

[ $# -ge 1 ] || usage
[ "$(id -u)" -eq 0 ] || die "must run as root"
sub=$1; shift
case "$sub" in
up) cmd_up "$@" ;;
down) cmd_down "$@" ;;
exec) cmd_exec "$@" ;;
shell) cmd_shell "$@" ;;
*) usage ;;
esac
