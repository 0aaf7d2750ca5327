#!/usr/bin/env bash
# Installs every Debian package kite needs to build, test and run.
# Idempotent and quick: apt-get runs only when something is missing.
# Each group says why it is here; README.md explains the library choices.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  clang lld llvm libclang-rt-14-dev clang-format clang-tidy  # fuzzers, sanitizers, format/lint
  # libraries of the design card
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libnftables-dev libmnl-dev libbpf-dev libseccomp-dev libyaml-cpp-dev
  libcpp-httplib-dev libspdlog-dev libfmt-dev
  bpftool  # ebpf/: vmlinux.h from the kernel BTF and libbpf skeletons, at build time
  libgtest-dev libgmock-dev libbenchmark-dev
  # further libraries (README: "Dependencies")
  libcli11-dev libsqlite3-dev libssl-dev rapidjson-dev libsimdjson-dev
  nlohmann-json3-dev  # only for the JSON library comparison in bench/json
  libboost-dev  # Boost.Asio/Beast: the HTTPS server of the API server and kubelet (http/)
  libnghttp2-dev  # HTTP/2 framing and HPACK for that server
  # the node's runtime and the test bed
  containerd runc containernetworking-plugins iproute2 nftables
  docker-registry skopeo busybox-static apache2-utils openssl
  python3 python3-yaml curl ca-certificates procps psmisc  # python3-yaml: api/ code generator
  dnsutils  # dig: the cluster DNS tests
  lintian  # packaging/deb: the package test checks the .debs
  socat  # run-cluster.sh: the host's API port forwarded into the cluster's namespace
  # control-plane tests: etcd backend, the Python client, load generator
  etcd-server etcd-client python3-kubernetes wrk nghttp2-client  # wrk, h2load: benchmarks
  iptables gnuplot-nox  # kite bench proxy: the iptables-mode kube-proxy baseline, the plot
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
