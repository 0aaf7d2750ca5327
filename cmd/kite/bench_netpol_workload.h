#pragma once
// The NetworkPolicies, Pods and Namespaces `kite bench netpol` measures with: a node's worth of
// local pods (the destinations, on node kBenchNode) and many pods elsewhere (the sources),
// with N ingress policies over them. The mix (bench/README.md has it in words):
//
//   namespaces bench-0..3, labelled team=team-<k>
//   local pod j: namespace bench-(j%4), app=app-((j/4)%10), a container port named "http"
//     (8080); address 10.128.x.y (bench_network.h's endpoint plan, served by the backends)
//   peer pod k: namespace bench-(k%4), app=client-<random of 50>, on another node; address
//     10.64.x.y (the client namespace owns 10.64.0.0/16)
//   policy i: namespace bench-(i%4), podSelector app=app-((i/4)%10), ingress rules
//     1. from pods with app In (two random client groups), port "http" (named) every third
//        policy, else TCP 8080
//     2. from pods app=client-<random> in namespaces team=team-<random>, TCP 8000-8099
//     3. from ipBlock 10.64.<r>.0/24 except 10.64.<r>.128/26, TCP 8080 and 9000-9099
//     every tenth policy also governs Egress: UDP 53 to 10.96.0.0/12 and TCP 5432 to every
//     namespace's pods
//
// Peer labels are random so that a group's addresses are scattered over the /16, as pods of
// one Deployment are in a real cluster: the sets hold single addresses, not a few ranges.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/api/networking/v1/types.h"

namespace kite::cmd::bench {

inline constexpr const char* kBenchNode = "bench-node";
inline constexpr int kPolicyPort = 8080;  // bench_network.h's kBackendPort
// Source addresses: the client namespace's AnyIP route.
inline constexpr const char* kPeerCidr = "10.64.0.0/16";
inline constexpr int kMaxPolicies = 100000;
inline constexpr int kMaxPods = 256 * 250;  // .1 to .250 of each /24 of a /16

struct NetpolWorkload {
  std::vector<api::core::v1::Namespace> namespaces;
  std::vector<api::core::v1::Pod> pods;  // `local` local pods first, then the peers
  std::vector<api::networking::v1::NetworkPolicy> policies;
  int local = 0;
};

// Address of peer pod `index` (0-based) in kPeerCidr.
std::string peerIPOf(int index);

NetpolWorkload makeNetpolWorkload(int policies, int localPods, int peerPods, std::uint32_t seed);

// Moves one random pod to another app group: a local pod (it leaves some policies' targets and
// joins others) when `localPod`, else a peer (it leaves and joins peer sets). What a single
// label change in the cluster does to the rules.
void relabelOnePod(NetpolWorkload& workload, bool localPod, std::mt19937& random);

}  // namespace kite::cmd::bench
