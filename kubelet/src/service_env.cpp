#include "kite/kubelet/service_env.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace kite::kubelet {

namespace corev1 = api::core::v1;

namespace {

// "my-svc" -> "MY_SVC", as upstream's makeEnvVariableName.
std::string envName(const std::string& name) {
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool hasClusterIP(const corev1::Service& service) {
  return !service.spec.clusterIP.empty() && service.spec.clusterIP != "None";
}

}  // namespace

EnvList serviceEnvVars(const std::vector<corev1::Service>& services) {
  std::map<std::string, std::string> vars;
  for (const auto& service : services) {
    if (!hasClusterIP(service) || service.spec.ports.empty()) continue;
    const std::string prefix = envName(service.metadata.name);
    const std::string& ip = service.spec.clusterIP;
    const std::string host = ip.find(':') != std::string::npos ? "[" + ip + "]" : ip;
    vars[prefix + "_SERVICE_HOST"] = ip;
    vars[prefix + "_SERVICE_PORT"] = std::to_string(service.spec.ports.front().port);
    for (std::size_t i = 0; i < service.spec.ports.size(); ++i) {
      const auto& port = service.spec.ports[i];
      const std::string number = std::to_string(port.port);
      if (!port.name.empty()) vars[prefix + "_SERVICE_PORT_" + envName(port.name)] = number;
      const std::string protocol = lower(port.protocol.empty() ? "TCP" : port.protocol);
      std::string url = protocol;
      url.append("://").append(host).append(":").append(number);
      if (i == 0) vars[prefix + "_PORT"] = url;
      std::string upperProtocol = protocol;
      for (auto& c : upperProtocol)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      std::string portPrefix = prefix;
      portPrefix.append("_PORT_").append(number).append("_").append(upperProtocol);
      vars[portPrefix] = url;
      vars[portPrefix + "_PROTO"] = protocol;
      vars[portPrefix + "_PORT"] = number;
      vars[portPrefix + "_ADDR"] = ip;
    }
  }
  return {vars.begin(), vars.end()};
}

std::vector<corev1::Service> servicesVisibleTo(
    const std::vector<std::shared_ptr<const corev1::Service>>& all, const std::string& ns,
    bool enableServiceLinks) {
  std::map<std::string, corev1::Service> byName;
  // The API server's own Service first, so a same-named Service of the pod's namespace wins.
  for (const auto& service : all) {
    if (service->metadata.namespace_ == "default" && service->metadata.name == "kubernetes") {
      byName[service->metadata.name] = *service;
    }
  }
  if (enableServiceLinks) {
    for (const auto& service : all) {
      if (service->metadata.namespace_ == ns) byName[service->metadata.name] = *service;
    }
  }
  std::vector<corev1::Service> out;
  out.reserve(byName.size());
  for (auto& [name, service] : byName) out.push_back(std::move(service));
  return out;
}

ServiceEnvSource::ServiceEnvSource(client::Client& client) : informer_(client) {}

void ServiceEnvSource::start() { informer_.start(); }

void ServiceEnvSource::stop() { informer_.stop(); }

bool ServiceEnvSource::waitForSync(std::chrono::milliseconds timeout) const {
  return informer_.waitForSync(timeout);
}

EnvList ServiceEnvSource::forPod(const std::string& ns, bool enableServiceLinks) const {
  return serviceEnvVars(servicesVisibleTo(informer_.cache().list(), ns, enableServiceLinks));
}

}  // namespace kite::kubelet
