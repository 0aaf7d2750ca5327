#pragma once
// The admission steps kite applies to writes, in upstream's terms:
//  - NamespaceLifecycle: no new objects in a namespace that is missing or terminating;
//  - Service IP and NodePort allocation from --service-cidr and the NodePort range, with
//    conflict detection;
//  - ServiceAccount: pods run as the namespace's "default" ServiceAccount unless they say;
//  - DefaultTolerationSeconds: pods tolerate node.kubernetes.io/not-ready and
//    node.kubernetes.io/unreachable (NoExecute) for 300 s unless they have such tolerations;
//  - Priority: pods get spec.priority from their PriorityClass, one globalDefault class at
//    most (priority_admission.h).

#include <cstdint>
#include <mutex>
#include <string>

#include "api_object.h"
#include "kite/controlplane/auth.h"
#include "priority_admission.h"
#include "registry.h"
#include "repository.h"

namespace kite::controlplane::apiserver {

struct AdmissionOptions {
  std::string serviceCidr = "10.43.0.0/16";
  int nodePortMin = 30000;
  int nodePortMax = 32767;
  // DefaultTolerationSeconds (upstream's --default-not-ready-toleration-seconds and
  // --default-unreachable-toleration-seconds).
  std::int64_t notReadyTolerationSeconds = 300;
  std::int64_t unreachableTolerationSeconds = 300;
};

// An IPv4 CIDR; throws std::invalid_argument for anything else.
struct Ipv4Cidr {
  std::uint32_t base = 0;
  int prefix = 0;
  static Ipv4Cidr parse(std::string_view text);
  std::uint32_t size() const { return prefix >= 32 ? 1U : (1U << (32 - prefix)); }
  bool contains(std::uint32_t ip) const { return ip - base < size(); }
  // The n-th address (1: the first usable).
  std::uint32_t at(std::uint32_t n) const { return base + n; }
};
std::string formatIpv4(std::uint32_t ip);
bool parseIpv4(std::string_view text, std::uint32_t& out);

class Admission {
 public:
  Admission(Repository& repository, const Registry& registry, AdmissionOptions options);

  void admitCreate(const ResourceType& type, ApiObject& object, const UserInfo& user);
  void admitUpdate(const ResourceType& type, ApiObject& next, const ApiObject& old,
                   const UserInfo& user);

  // The first service IP (the `kubernetes` Service's ClusterIP).
  std::string firstServiceIp() const;

 private:
  void checkNamespace(const std::string& ns);
  void allocateService(ApiObject& service, const ApiObject* old);
  PriorityClasses storedPriorityClasses() const;

  Repository& repository_;
  const Registry& registry_;
  AdmissionOptions options_;
  Ipv4Cidr cidr_;
  std::mutex allocationMutex_;
};

}  // namespace kite::controlplane::apiserver
