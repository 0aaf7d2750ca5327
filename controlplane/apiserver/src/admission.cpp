#include "admission.h"

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>

#include "api_error.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/scheduling/v1/types.h"

namespace kite::controlplane::apiserver {

namespace {

namespace corev1 = api::core::v1;
namespace schedv1 = api::scheduling::v1;
using api::FieldError;

bool isPriorityClasses(const ResourceInfo& info) {
  return info.group == "scheduling.k8s.io" && info.resource == "priorityclasses";
}

[[noreturn]] void invalidService(const corev1::Service& s, std::vector<FieldError> errors) {
  throw ApiError::invalid("", "Service", s.metadata.name,
                          api::FieldErrors(std::move(errors)).toStatus("Service", s.metadata.name));
}

// DefaultTolerationSeconds: pods tolerate the not-ready and unreachable NoExecute taints for
// five minutes by default (upstream's --default-not-ready/unreachable-toleration-seconds)
// unless they say otherwise, so a node that is briefly lost does not evict everything at once.
void addDefaultTolerations(corev1::Pod& pod, const AdmissionOptions& options) {
  const std::pair<const char*, std::int64_t> defaults[] = {
      {"node.kubernetes.io/not-ready", options.notReadyTolerationSeconds},
      {"node.kubernetes.io/unreachable", options.unreachableTolerationSeconds}};
  for (const auto& entry : defaults) {
    // (Not a structured binding: clang 14 cannot capture one in the lambda below.)
    const char* key = entry.first;
    const std::int64_t seconds = entry.second;
    const bool present = std::any_of(
        pod.spec.tolerations.begin(), pod.spec.tolerations.end(), [&](const corev1::Toleration& t) {
          return t.key == key && (t.effect.empty() || t.effect == "NoExecute");
        });
    if (present) continue;
    corev1::Toleration t;
    t.key = key;
    t.operator_ = "Exists";
    t.effect = "NoExecute";
    t.tolerationSeconds = seconds;
    pod.spec.tolerations.push_back(std::move(t));
  }
}

}  // namespace

bool parseIpv4(std::string_view text, std::uint32_t& out) {
  std::uint32_t value = 0;
  int parts = 0;
  std::size_t i = 0;
  while (parts < 4) {
    if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
    unsigned octet = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      octet = octet * 10 + static_cast<unsigned>(text[i] - '0');
      ++i;
      if (++digits > 3 || octet > 255) return false;
    }
    value = (value << 8) | octet;
    ++parts;
    if (parts < 4) {
      if (i >= text.size() || text[i] != '.') return false;
      ++i;
    }
  }
  if (i != text.size()) return false;
  out = value;
  return true;
}

std::string formatIpv4(std::uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
         std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255);
}

Ipv4Cidr Ipv4Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  Ipv4Cidr c;
  if (slash == std::string_view::npos || !parseIpv4(text.substr(0, slash), c.base)) {
    throw std::invalid_argument("invalid IPv4 CIDR: " + std::string(text));
  }
  const std::string prefix(text.substr(slash + 1));
  if (prefix.empty() || prefix.size() > 2 ||
      prefix.find_first_not_of("0123456789") != std::string::npos) {
    throw std::invalid_argument("invalid IPv4 CIDR: " + std::string(text));
  }
  c.prefix = std::stoi(prefix);
  if (c.prefix < 8 || c.prefix > 30) {
    throw std::invalid_argument("service CIDR prefix must be between /8 and /30: " +
                                std::string(text));
  }
  c.base &= ~(c.size() - 1);
  return c;
}

Admission::Admission(Repository& repository, const Registry& registry, AdmissionOptions options)
    : repository_(repository),
      registry_(registry),
      options_(std::move(options)),
      cidr_(Ipv4Cidr::parse(options_.serviceCidr)) {}

std::string Admission::firstServiceIp() const { return formatIpv4(cidr_.at(1)); }

void Admission::checkNamespace(const std::string& ns) {
  if (ns.empty()) return;
  const ResourceType* nsType = registry_.find("", "v1", "namespaces");
  auto kv = repository_.getRaw(*nsType, "", ns);
  if (!kv) throw ApiError::notFound("", "namespaces", ns);
  auto loaded = Repository::decodeStored(*nsType, *kv);
  if (loaded.object->meta().deletionTimestamp) {
    const std::string message =
        "unable to create new content in namespace " + ns + " because it is being terminated";
    auto s = failureStatus(403, "Forbidden", message);
    s.details.emplace();
    s.details->name = ns;
    s.details->kind = "namespaces";
    s.details->causes.push_back({"NamespaceTerminating", message, "metadata.namespace"});
    throw ApiError(std::move(s));
  }
}

void Admission::admitCreate(const ResourceType& type, ApiObject& object, const UserInfo& user) {
  (void)user;
  const auto& info = type.info();
  if (info.namespaced) checkNamespace(object.meta().namespace_);
  if (info.group.empty() && info.resource == "services") allocateService(object, nullptr);
  if (info.group.empty() && info.resource == "pods") {
    auto& pod = as<corev1::Pod>(object);
    if (pod.spec.serviceAccountName.empty()) pod.spec.serviceAccountName = "default";
    addDefaultTolerations(pod, options_);
    admitPodPriority(pod, storedPriorityClasses());
  }
  if (isPriorityClasses(info)) {
    admitPriorityClass(as<schedv1::PriorityClass>(object), storedPriorityClasses());
  }
}

void Admission::admitUpdate(const ResourceType& type, ApiObject& next, const ApiObject& old,
                            const UserInfo& user) {
  (void)user;
  const auto& info = type.info();
  if (info.group.empty() && info.resource == "services") allocateService(next, &old);
  if (info.group.empty() && info.resource == "pods") {
    keepPodPriority(as<corev1::Pod>(next), as<corev1::Pod>(old));
  }
  if (isPriorityClasses(info)) {
    admitPriorityClass(as<schedv1::PriorityClass>(next), storedPriorityClasses());
  }
}

PriorityClasses Admission::storedPriorityClasses() const {
  PriorityClasses out;
  const ResourceType* type = registry_.find("scheduling.k8s.io", "v1", "priorityclasses");
  if (type == nullptr) return out;
  RangeRequest req;
  req.prefix = Repository::prefix(type->info(), "");
  for (const auto& kv : repository_.store().range(req).items) {
    out.push_back(as<schedv1::PriorityClass>(*Repository::decodeStored(*type, kv).object));
  }
  return out;
}

void Admission::allocateService(ApiObject& object, const ApiObject* oldObject) {
  auto& svc = as<corev1::Service>(object);
  const corev1::Service* old = oldObject ? &as<corev1::Service>(*oldObject) : nullptr;
  auto& spec = svc.spec;
  std::lock_guard lock(allocationMutex_);

  // What other Services hold now.
  std::set<std::uint32_t> usedIps;
  std::set<int> usedPorts;
  const ResourceType* svcType = registry_.find("", "v1", "services");
  RangeRequest req;
  req.prefix = Repository::prefix(svcType->info(), "");
  for (const auto& kv : repository_.store().range(req).items) {
    auto other = Repository::decodeStored(*svcType, kv);
    const auto& o = as<corev1::Service>(*other.object);
    if (o.metadata.namespace_ == svc.metadata.namespace_ && o.metadata.name == svc.metadata.name) {
      continue;
    }
    std::uint32_t ip = 0;
    if (parseIpv4(o.spec.clusterIP, ip)) usedIps.insert(ip);
    for (const auto& p : o.spec.ports) {
      if (p.nodePort != 0) usedPorts.insert(p.nodePort);
    }
  }

  std::vector<FieldError> errors;
  if (spec.type == "ExternalName") {
    spec.clusterIP.clear();
    spec.clusterIPs.clear();
    return;
  }
  // ClusterIP: keep the old one on update; honour a requested one; "None" is headless.
  if (old != nullptr && !old->spec.clusterIP.empty() && spec.clusterIP.empty()) {
    spec.clusterIP = old->spec.clusterIP;
  }
  if (spec.clusterIP.empty() && !spec.clusterIPs.empty()) spec.clusterIP = spec.clusterIPs.front();
  if (spec.clusterIP != "None") {
    if (spec.clusterIP.empty()) {
      const std::uint32_t n = cidr_.size();
      thread_local std::mt19937 rng{std::random_device{}()};
      // Dynamic allocation from the upper part of the range, leaving the lower band for
      // addresses users choose (as upstream's static subrange does).
      const std::uint32_t lowBand = std::min<std::uint32_t>(256, n / 16);
      const std::uint32_t start =
          lowBand + std::uniform_int_distribution<std::uint32_t>(0, n - lowBand - 2)(rng);
      bool found = false;
      for (std::uint32_t k = 0; k < n - 2 && !found; ++k) {
        const std::uint32_t offset = 1 + (start + k) % (n - 2);
        const std::uint32_t ip = cidr_.at(offset);
        if (offset == 1 || usedIps.count(ip) != 0) continue;
        spec.clusterIP = formatIpv4(ip);
        found = true;
      }
      if (!found) {
        throw ApiError::internal("failed to allocate a serviceIP: range is full");
      }
    } else {
      std::uint32_t ip = 0;
      const bool unchanged = old != nullptr && old->spec.clusterIP == spec.clusterIP;
      if (!parseIpv4(spec.clusterIP, ip)) {
        errors.push_back(FieldError::invalid("spec.clusterIPs[0]", spec.clusterIP,
                                             "must be a valid IP address, (e.g. 10.9.8.7 or "
                                             "2001:db8::ffff)"));
      } else if (!cidr_.contains(ip) || ip == cidr_.base || ip == cidr_.base + cidr_.size() - 1) {
        errors.push_back(FieldError::invalid(
            "spec.clusterIPs", "[]string{\"" + spec.clusterIP + "\"}",
            "failed to allocate IP " + spec.clusterIP + ": the provided IP (" + spec.clusterIP +
                ") is not in the valid range. The range of valid IPs is " + options_.serviceCidr));
      } else if (!unchanged && usedIps.count(ip) != 0) {
        errors.push_back(FieldError::invalid(
            "spec.clusterIPs", "[]string{\"" + spec.clusterIP + "\"}",
            "failed to allocate IP " + spec.clusterIP + ": provided IP is already allocated"));
      }
    }
    spec.clusterIPs = {spec.clusterIP};
    if (spec.ipFamilies.empty()) spec.ipFamilies = {"IPv4"};
    if (!spec.ipFamilyPolicy) spec.ipFamilyPolicy = "SingleStack";
  } else {
    spec.clusterIPs = {"None"};
    if (spec.ipFamilies.empty()) spec.ipFamilies = {"IPv4"};
    if (!spec.ipFamilyPolicy) spec.ipFamilyPolicy = "SingleStack";
  }

  // NodePorts for NodePort and LoadBalancer Services.
  const bool wantsNodePorts =
      spec.type == "NodePort" ||
      (spec.type == "LoadBalancer" && spec.allocateLoadBalancerNodePorts.value_or(true));
  std::set<int> mine;
  for (std::size_t i = 0; i < spec.ports.size(); ++i) {
    auto& p = spec.ports[i];
    if (!wantsNodePorts) {
      if (spec.type == "ClusterIP") p.nodePort = 0;
      continue;
    }
    if (p.nodePort == 0 && old != nullptr) {
      for (const auto& op : old->spec.ports) {
        if (op.port == p.port && op.protocol == p.protocol && op.nodePort != 0)
          p.nodePort = op.nodePort;
      }
    }
    const std::string path = "spec.ports[" + std::to_string(i) + "].nodePort";
    if (p.nodePort != 0) {
      if (p.nodePort < options_.nodePortMin || p.nodePort > options_.nodePortMax) {
        errors.push_back(FieldError::invalid(
            path, p.nodePort,
            "provided port is not in the valid range. The range of valid ports is " +
                std::to_string(options_.nodePortMin) + "-" + std::to_string(options_.nodePortMax)));
      } else if (usedPorts.count(p.nodePort) != 0) {
        errors.push_back(
            FieldError::invalid(path, p.nodePort, "provided port is already allocated"));
      }
      mine.insert(p.nodePort);
      continue;
    }
    thread_local std::mt19937 rng{std::random_device{}()};
    const int span = options_.nodePortMax - options_.nodePortMin + 1;
    const int start = std::uniform_int_distribution<int>(0, span - 1)(rng);
    for (int k = 0; k < span; ++k) {
      const int port = options_.nodePortMin + (start + k) % span;
      if (usedPorts.count(port) == 0 && mine.count(port) == 0) {
        p.nodePort = port;
        mine.insert(port);
        break;
      }
    }
    if (p.nodePort == 0) throw ApiError::internal("failed to allocate a nodePort: range is full");
  }
  if (!errors.empty()) invalidService(svc, std::move(errors));
}

}  // namespace kite::controlplane::apiserver
