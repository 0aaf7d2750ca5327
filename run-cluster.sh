#!/usr/bin/env bash
# One command for a fresh Debian 12 machine (as root): install every
# dependency, build kite, and start what is built so far.
#
# Today (foundation): a private containerd with kite's images, and a pod
# started through kite's own CRI client, serving HTTP. The single-node
# cluster (`kite server` with its agent) replaces this when it lands.
#
#   ./run-cluster.sh          start (idempotent)
#   ./run-cluster.sh stop     stop and remove everything it started
set -euo pipefail
cd "$(dirname "$0")"
bed=$PWD/build/run

if [[ ${1:-} == stop ]]; then
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

cat <<EOT

kite is up: containerd (private, in network namespace $KITE_TB_NETNS) runs pod "nginx" at $ip.
  tests/testbed/testbed.sh shell $bed                      # a shell on that "node"
  ${cri[*]} --container-runtime-endpoint $KITE_TB_CRI_ENDPOINT pods
  ./run-cluster.sh stop                                    # remove everything
EOT
