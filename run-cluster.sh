#!/usr/bin/env bash
# One command for a fresh Debian 12 machine (as root): install every
# dependency, build kite, and start what is built so far.
#
# Today: the control plane (`kite server`: API server on embedded SQLite,
# HTTPS with client certificates) that kubectl uses, and a private containerd
# with kite's images running a pod through kite's own CRI client. The agent
# joining the two into a single-node cluster arrives with the agent issue.
#
#   ./run-cluster.sh          start (idempotent)
#   ./run-cluster.sh stop     stop and remove everything it started
set -euo pipefail
cd "$(dirname "$0")"
bed=$PWD/build/run

server_dir=$PWD/build/run-server
if [[ ${1:-} == stop ]]; then
  if [[ -f $server_dir/pid ]]; then
    kill "$(cat "$server_dir/pid")" 2>/dev/null || true
    rm -f "$server_dir/pid"
  fi
  tests/testbed/testbed.sh down "$bed"
  exit 0
fi

tools/install-deps.sh
tools/build.sh release
tests/testbed/testbed.sh up "$bed" "$PWD/build"

in_bed() { tests/testbed/testbed.sh exec "$bed" "$@"; }
kite=$PWD/build/cmd/kite/kite
cri=("$kite" cri)
# shellcheck disable=SC1091
source "$bed/env"

if ! in_bed "$kite" cri --container-runtime-endpoint "$KITE_TB_CRI_ENDPOINT" pods | grep -q ' nginx '; then
  in_bed "$kite" cri --container-runtime-endpoint "$KITE_TB_CRI_ENDPOINT" run \
    --name nginx --image nginx:1.22.1 --cgroup-parent "$KITE_TB_CGROUP_PARENT" >/dev/null
fi
pod=$(in_bed "$kite" cri --container-runtime-endpoint "$KITE_TB_CRI_ENDPOINT" pods | awk '$4 == "nginx" && $3 == "SANDBOX_READY" {print $1; exit}')
ip=$(in_bed "$kite" cri --container-runtime-endpoint "$KITE_TB_CRI_ENDPOINT" inspectp "$pod" |
  sed -n 's/.*"ip": "\([0-9.]*\)".*/\1/p' | head -1)

for _ in $(seq 50); do
  if page=$(in_bed curl -fsS --max-time 2 "http://$ip/"); then break; fi
  sleep 0.2
done
grep -q 'Welcome to nginx!' <<<"${page:-}" || { echo "the nginx pod did not answer" >&2; exit 1; }

# The control plane, on 127.0.0.1:6443 unless that port is taken.
mkdir -p "$server_dir"
chmod 700 "$server_dir"
kubeconfig=$server_dir/kubeconfig
if ! { [[ -f $server_dir/pid ]] && kill -0 "$(cat "$server_dir/pid")" 2>/dev/null; }; then
  port=6443
  if ss -ltn "sport = :$port" | grep -q LISTEN; then port=16443; fi
  nohup "$kite" server --disable-agent --data-dir "$server_dir/data" \
    --https-listen-port "$port" --write-kubeconfig "$kubeconfig" >"$server_dir/log" 2>&1 &
  echo $! >"$server_dir/pid"
fi
for _ in $(seq 100); do
  if [[ -f $kubeconfig ]] && kubectl --kubeconfig "$kubeconfig" get --raw /readyz >/dev/null 2>&1; then
    break
  fi
  sleep 0.1
done
kubectl --kubeconfig "$kubeconfig" get namespaces >/dev/null || {
  echo "kite server did not start; see $server_dir/log" >&2
  exit 1
}

cat <<EOT

kite server is up (log: $server_dir/log). Use it with:
  export KUBECONFIG=$kubeconfig
  kubectl get namespaces

kite is up: containerd (private, in network namespace $KITE_TB_NETNS) runs pod "nginx" at $ip.
  tests/testbed/testbed.sh shell $bed                      # a shell on that "node"
  ${cri[*]} --container-runtime-endpoint $KITE_TB_CRI_ENDPOINT pods
  ./run-cluster.sh stop                                    # remove everything
EOT
