#!/usr/bin/env bash
# One command for a fresh Debian 12 machine (as root): install every dependency, build kite,
# and start a single-node Kubernetes cluster that kubectl uses.
#
# The cluster is `kite server` (API server on embedded SQLite, scheduler, controllers, and the
# agent: the kubelet) next to a containerd of its own with kite's images served from a local
# registry (no internet needed). containerd, its registry and kite run in a network namespace
# of their own (tests/testbed), so nothing of the machine's own containerd or network setup is
# touched; the API port is forwarded to 127.0.0.1 on the host for kubectl.
#
#   ./run-cluster.sh          start (idempotent)
#   ./run-cluster.sh stop     stop and remove everything it started
set -euo pipefail
cd "$(dirname "$0")"
bed=$PWD/build/run
run=$PWD/build/run-server

stop_pid() {
  if [[ -f $1 ]]; then
    kill "$(cat "$1")" 2>/dev/null || true
    rm -f "$1"
  fi
}

if [[ ${1:-} == stop ]]; then
  stop_pid "$run/forward.pid"
  stop_pid "$run/pid"
  sleep 1
  tests/testbed/testbed.sh down "$bed"
  umount -R "$run/kubelet" 2>/dev/null || true
  exit 0
fi

tools/install-deps.sh
tools/build.sh release
tests/testbed/testbed.sh up "$bed" "$PWD/build"
# shellcheck disable=SC1091
source "$bed/env"
kite=$PWD/build/cmd/kite/kite

mkdir -p "$run"
chmod 700 "$run"
kubeconfig=$run/kubeconfig
port=6443
if ss -ltn "sport = :$port" | grep -q LISTEN && [[ ! -f $run/forward.pid ]]; then port=16443; fi

# kite server with its agent, inside the bed's network namespace.
if ! { [[ -f $run/pid ]] && kill -0 "$(cat "$run/pid")" 2>/dev/null; }; then
  setsid nsenter --net="/run/netns/$KITE_TB_NETNS" -- "$kite" server \
    --data-dir "$run/data" --bind-address 127.0.0.1 --https-listen-port "$port" \
    --write-kubeconfig "$kubeconfig" --node-name kite-node --node-ip 127.0.0.1 \
    --container-runtime-endpoint "$KITE_TB_CRI_ENDPOINT" --root-dir "$run/kubelet" \
    --pod-logs-dir "$run/pod-logs" --cgroup-root "$KITE_TB_CGROUP_PARENT/kite-node" \
    </dev/null >"$run/log" 2>&1 &
  echo $! >"$run/pid"
fi
# 127.0.0.1:$port on the host → the API server in the namespace (one socat per connection).
if ! { [[ -f $run/forward.pid ]] && kill -0 "$(cat "$run/forward.pid")" 2>/dev/null; }; then
  setsid socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
    "EXEC:nsenter --net=/run/netns/$KITE_TB_NETNS socat STDIO TCP\:127.0.0.1\:$port" \
    </dev/null >"$run/forward.log" 2>&1 &
  echo $! >"$run/forward.pid"
fi

k() { kubectl --kubeconfig "$kubeconfig" "$@"; }
for _ in $(seq 300); do
  if [[ -f $kubeconfig ]] && k get --raw /readyz >/dev/null 2>&1 &&
    k get node kite-node 2>/dev/null | grep -q ' Ready'; then
    break
  fi
  sleep 0.2
done
k get node kite-node 2>/dev/null | grep -q ' Ready' || {
  echo "the cluster did not come up; see $run/log" >&2
  exit 1
}

# The seed's nginx pod, as a first workload.
k apply -f examples/nginx-pod.yaml >/dev/null
k wait --for=condition=Ready pod/nginx-pod --timeout=120s >/dev/null || {
  echo "nginx-pod did not become Ready; see kubectl describe pod nginx-pod and $run/log" >&2
  exit 1
}

cat <<EOT

kite is up: a single-node cluster (node kite-node) with the seed's nginx-pod running.
  export KUBECONFIG=$kubeconfig
  kubectl get nodes -o wide
  kubectl get pods -A
  kubectl logs nginx-pod
  kubectl exec nginx-pod -- sh -c 'cat /etc/nginx/nginx.conf'
  kubectl port-forward --address 0.0.0.0 pod/nginx-pod 8080:80   # then: curl 127.0.0.1:8080

  log: $run/log          stop and remove everything: ./run-cluster.sh stop
EOT
