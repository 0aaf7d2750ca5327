// The generated cluster of `kite bench netpol` (bench_netpol_workload.h has the mix).

#include "bench_netpol_workload.h"

#include "bench_network.h"
#include "kite/api/json.h"

namespace kite::cmd::bench {

namespace {

constexpr int kNamespaces = 4;
constexpr int kLocalGroups = 10;
constexpr int kPeerGroups = 50;

std::string namespaceOf(int index) { return "bench-" + std::to_string(index % kNamespaces); }

std::string localPodJson(int j) {
  return R"({"metadata":{"namespace":")" + namespaceOf(j) + R"(","name":"local-)" +
         std::to_string(j) + R"(","labels":{"app":"app-)" +
         std::to_string((j / kNamespaces) % kLocalGroups) + R"("}},"spec":{"nodeName":")" +
         kBenchNode +
         R"(","containers":[{"name":"server","ports":[{"name":"http","containerPort":)" +
         std::to_string(kPolicyPort) + R"(}]}]},"status":{"phase":"Running","podIP":")" +
         endpointIPOf(j) + R"("}})";
}

std::string peerPodJson(int k, int group) {
  return R"({"metadata":{"namespace":")" + namespaceOf(k) + R"(","name":"peer-)" +
         std::to_string(k) + R"(","labels":{"app":"client-)" + std::to_string(group) +
         R"("}},"spec":{"nodeName":"elsewhere","containers":[{"name":"client"}]},)" +
         R"("status":{"phase":"Running","podIP":")" + peerIPOf(k) + R"("}})";
}

std::string policyJson(int i, std::mt19937& random) {
  std::uniform_int_distribution<int> peerGroup(0, kPeerGroups - 1);
  std::uniform_int_distribution<int> team(0, kNamespaces - 1);
  std::uniform_int_distribution<int> octet(0, 63);
  const std::string a = std::to_string(peerGroup(random));
  const std::string b = std::to_string(peerGroup(random));
  const std::string c = std::to_string(peerGroup(random));
  const std::string t = std::to_string(team(random));
  const std::string r = std::to_string(octet(random));
  const bool egress = i % 10 == 9;
  std::string json = R"({"metadata":{"namespace":")" + namespaceOf(i) + R"(","name":"policy-)" +
                     std::to_string(i) + R"("},"spec":{"podSelector":{"matchLabels":{"app":"app-)" +
                     std::to_string((i / kNamespaces) % kLocalGroups) + R"("}},)";
  json += egress ? R"("policyTypes":["Ingress","Egress"],)" : R"("policyTypes":["Ingress"],)";
  json += R"("ingress":[)";
  json += R"({"from":[{"podSelector":{"matchExpressions":[{"key":"app","operator":"In",)" +
          std::string(R"("values":["client-)") + a + R"(","client-)" + b + R"("]}]}}],)" +
          (i % 3 == 0 ? R"("ports":[{"port":"http"}]},)"
                      : R"("ports":[{"protocol":"TCP","port":8080}]},)");
  json += R"({"from":[{"namespaceSelector":{"matchLabels":{"team":"team-)" + t +
          R"("}},"podSelector":{"matchLabels":{"app":"client-)" + c +
          R"("}}}],"ports":[{"protocol":"TCP","port":8000,"endPort":8099}]},)";
  json += R"({"from":[{"ipBlock":{"cidr":"10.64.)" + r + R"(.0/24","except":["10.64.)" + r +
          R"(.128/26"]}}],"ports":[{"port":8080},{"port":9000,"endPort":9099}]}])";
  if (egress) {
    json += R"(,"egress":[{"to":[{"ipBlock":{"cidr":"10.96.0.0/12"}}],)"
            R"("ports":[{"protocol":"UDP","port":53}]},)"
            R"({"to":[{"namespaceSelector":{}}],"ports":[{"protocol":"TCP","port":5432}]}])";
  }
  return json + "}}";
}

}  // namespace

std::string peerIPOf(int index) {
  const int subnet = index / 250;
  return "10.64." + std::to_string(subnet) + "." + std::to_string(index % 250 + 1);
}

NetpolWorkload makeNetpolWorkload(int policies, int localPods, int peerPods, std::uint32_t seed) {
  NetpolWorkload workload;
  workload.local = localPods;
  for (int k = 0; k < kNamespaces; ++k) {
    workload.namespaces.push_back(api::decodeJson<api::core::v1::Namespace>(
        R"({"metadata":{"name":")" + namespaceOf(k) + R"(","labels":{"team":"team-)" +
        std::to_string(k) + R"(","kubernetes.io/metadata.name":")" + namespaceOf(k) + R"("}}})"));
  }
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> peerGroup(0, kPeerGroups - 1);
  workload.pods.reserve(static_cast<std::size_t>(localPods) + static_cast<std::size_t>(peerPods));
  for (int j = 0; j < localPods; ++j) {
    workload.pods.push_back(api::decodeJson<api::core::v1::Pod>(localPodJson(j)));
  }
  for (int k = 0; k < peerPods; ++k) {
    workload.pods.push_back(api::decodeJson<api::core::v1::Pod>(peerPodJson(k, peerGroup(random))));
  }
  workload.policies.reserve(static_cast<std::size_t>(policies));
  for (int i = 0; i < policies; ++i) {
    workload.policies.push_back(
        api::decodeJson<api::networking::v1::NetworkPolicy>(policyJson(i, random)));
  }
  return workload;
}

void relabelOnePod(NetpolWorkload& workload, bool localPod, std::mt19937& random) {
  const int peers = static_cast<int>(workload.pods.size()) - workload.local;
  if (localPod ? workload.local == 0 : peers == 0) return;
  std::uniform_int_distribution<int> pick(0, (localPod ? workload.local : peers) - 1);
  const int index = pick(random) + (localPod ? 0 : workload.local);
  auto& pod = workload.pods[static_cast<std::size_t>(index)];
  const int groups = localPod ? kLocalGroups : kPeerGroups;
  const std::string prefix = localPod ? "app-" : "client-";
  auto& app = pod.metadata.labels["app"];
  const int current = std::stoi(app.substr(prefix.size()));
  std::uniform_int_distribution<int> step(1, groups - 1);
  app = prefix + std::to_string((current + step(random)) % groups);
}

}  // namespace kite::cmd::bench
