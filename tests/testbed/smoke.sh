#!/bin/bash
# Smoke test of the test bed itself; run it through the bed:
#   testbed.sh exec BEDDIR tests/testbed/smoke.sh
# With plain ctr (no kite code involved) it pulls the images from the bed's
# registries, runs the nginx and mysql stand-ins and checks they work, then
# removes everything it created.
set -euo pipefail # note: no "cmd | grep -q"/"| head": SIGPIPE + pipefail
: "${KITE_TB_CONTAINERD_SOCK:?run me via testbed.sh exec}"

NS=kite-smoke
TAG=$$ # unique names: several smoke runs may share one bed
ctr_() { ctr --address "$KITE_TB_CONTAINERD_SOCK" --namespace "$NS" "$@"; }
fail() {
    echo "smoke: FAIL: $*" >&2
    tail -n 20 "$WORK"/*.log >&2 2>/dev/null || true # detached containers' output
    exit 1
}
WORK=$(mktemp -d "$KITE_TB_DIR/tmp/smoke.XXXXXX")

cleanup() {
    local id
    for id in $(ctr_ tasks ls -q 2>/dev/null | grep -- "-$TAG\$"); do
        ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
        ctr_ tasks delete -f "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr_ containers ls -q 2>/dev/null | grep -- "-$TAG\$"); do
        ctr_ containers rm "$id" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
    # Images and the namespace go only when no other smoke run uses them.
    if [ -z "$(ctr_ containers ls -q 2>/dev/null)" ]; then
        # shellcheck disable=SC2046 # one argument per image
        ctr_ images rm $(ctr_ images ls -q) >/dev/null 2>&1 || true
        ctr --address "$KITE_TB_CONTAINERD_SOCK" namespaces rm "$NS" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# run NAME IMAGE [ctr run options...] -- [ARGS...]: a container on the bed's
# network (--net-host = the bed netns), with the bed's runc root and a
# cgroup below the bed's parent so `down` finds everything.
run() {
    local name=$1-$TAG image=$2; shift 2
    local opts=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    ctr_ run --net-host --runc-root "$KITE_TB_RUNC_ROOT" \
        --cgroup "$KITE_TB_CGROUP_PARENT/smoke/$name" "${opts[@]}" "$image" "$name" "$@"
}

stopped() { [ "$(ctr_ tasks ls | awk -v id="$1" '$1 == id { print $3 }')" = STOPPED ]; }

# stop NAME: SIGTERM must be enough (the stand-ins trap it as PID 1).
stop() {
    local id=$1-$TAG
    ctr_ tasks kill -s SIGTERM "$id"
    retry 10 stopped "$id" || fail "$1 did not stop on SIGTERM"
    ctr_ tasks delete "$id" >/dev/null
    ctr_ containers rm "$id"
}

retry() { # retry SECONDS CMD...: until CMD succeeds
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.2; done
}

NGINX=docker.io/library/nginx:1.22.1
MYSQL=$KITE_TB_REGISTRY/library/mysql:8.0.23
PRIVATE=$KITE_TB_AUTH_REGISTRY/private/busybox:1.35

echo "smoke: pulling (docker.io via the bed's mirror, the registry directly, the auth registry)"
ctr_ images pull --hosts-dir "$KITE_TB_HOSTS_DIR" "$NGINX" >/dev/null
ctr_ images pull --hosts-dir "$KITE_TB_HOSTS_DIR" "$MYSQL" >/dev/null
if ctr_ images pull --hosts-dir "$KITE_TB_HOSTS_DIR" "$PRIVATE" >/dev/null 2>&1; then
    fail "auth registry served $PRIVATE without credentials"
fi
ctr_ images pull --hosts-dir "$KITE_TB_HOSTS_DIR" \
    --user "$KITE_TB_AUTH_USER:$KITE_TB_AUTH_PASSWORD" "$PRIVATE" >/dev/null

echo "smoke: nginx: init-container style copy of /etc/nginx, then serve with it"
mkdir "$WORK/etc-nginx"
run nginx-init "$NGINX" --rm --mount "type=bind,src=$WORK/etc-nginx,dst=/mnt,options=rbind:rw" \
    -- sh -c 'cp -r /etc/nginx/* /mnt/' </dev/null
[ -f "$WORK/etc-nginx/conf.d/default.conf" ] || fail "cp -r /etc/nginx/* /mnt/ copied nothing"
# Serve on a free port: the mounted config, not the image's, must be used.
port=$(free_port)
sed -i "s/listen 80;/listen $port;/" "$WORK/etc-nginx/conf.d/default.conf"
run nginx "$NGINX" -d --log-uri "file://$WORK/nginx.log" --mount "type=bind,src=$WORK/etc-nginx,dst=/etc/nginx,options=rbind:ro" -- >/dev/null
get_page() { timeout 3 busybox wget -q -O - "http://127.0.0.1:$port/" 2>/dev/null | grep 'Welcome to nginx!' >/dev/null; }
retry 10 get_page || fail "nginx stand-in does not serve 'Welcome to nginx!' on $port"
stop nginx

echo "smoke: mysql: refuses to start without a password variable"
rc=0
run mysql-nopw "$MYSQL" --rm -- </dev/null >"$WORK/nopw.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "mysql stand-in without password exited $rc, want 1"
grep -q MYSQL_ROOT_PASSWORD "$WORK/nopw.out" || fail "no message about MYSQL_ROOT_PASSWORD"

echo "smoke: mysql: data survives a restart"
mkdir "$WORK/mysql"
port=$(free_port)
start_mysql() {
    run mysql "$MYSQL" -d --log-uri "file://$WORK/mysql.log" --env MYSQL_ROOT_PASSWORD=secret --env "MYSQL_TCP_PORT=$port" \
        --mount "type=bind,src=$WORK/mysql,dst=/var/lib/mysql,options=rbind:rw" -- >/dev/null
}
sql() { printf '%s\nQUIT\n' "$1" | timeout 3 busybox nc 127.0.0.1 "$port" | sed -n 1p; }
ping_mysql() { [ "$(sql PING 2>/dev/null)" = PONG ]; }
start_mysql
retry 10 ping_mysql || fail "mysql stand-in does not answer on $port"
[ "$(sql 'SET smoke hello kite')" = OK ] || fail "SET failed"
stop mysql
[ -f "$WORK/mysql/ibdata1" ] || fail "mysql stand-in did not initialize /var/lib/mysql"
start_mysql
retry 10 ping_mysql || fail "mysql stand-in does not answer after restart"
got=$(sql 'GET smoke')
[ "$got" = "hello kite" ] || fail "GET after restart returned '$got'"
stop mysql

echo "smoke: OK"
