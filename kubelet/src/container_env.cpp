#include "kite/kubelet/container_env.h"

#include "kite/kubelet/pod_spec.h"

#include <algorithm>

namespace kite::kubelet {

namespace corev1 = api::core::v1;

std::string expandVariables(const std::string& input,
                            const std::map<std::string, std::string>& env) {
  std::string out;
  out.reserve(input.size());
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (input[i] != '$' || i + 1 >= input.size()) {
      out.push_back(input[i]);
      continue;
    }
    const char next = input[i + 1];
    if (next == '$') {  // "$$" -> "$"
      out.push_back('$');
      ++i;
    } else if (next == '(') {
      const auto close = input.find(')', i + 2);
      if (close == std::string::npos) {
        out.append(input, i, std::string::npos);
        break;
      }
      const std::string name = input.substr(i + 2, close - i - 2);
      auto it = env.find(name);
      out.append(it != env.end() ? it->second : input.substr(i, close - i + 1));
      i = close;
    } else {
      out.push_back('$');
    }
  }
  return out;
}

namespace {

// "metadata.labels['app']" -> ("metadata.labels", "app")
std::pair<std::string, std::string> splitSubscript(const std::string& path) {
  const auto open = path.find("['");
  if (open == std::string::npos || !path.ends_with("']")) return {path, ""};
  return {path.substr(0, open), path.substr(open + 2, path.size() - open - 4)};
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

}  // namespace

std::string resourceFieldValue(const corev1::Pod& pod, const corev1::Container* self,
                               const corev1::ResourceFieldSelector& selector,
                               const PodRuntimeFacts& facts) {
  const corev1::Container* container =
      selector.containerName.empty() ? self : findContainer(pod, selector.containerName);
  if (container == nullptr) {
    throw ContainerConfigError("resourceFieldRef: container \"" + selector.containerName +
                               "\" not found in pod");
  }
  const auto dot = selector.resource.find('.');
  const std::string kind = selector.resource.substr(0, dot);  // limits | requests
  const std::string name = dot == std::string::npos ? "" : selector.resource.substr(dot + 1);
  const auto& list = kind == "limits" ? container->resources.limits : container->resources.requests;
  auto it = list.find(name);
  api::Quantity quantity;
  if (it != list.end()) {
    quantity = it->second;
  } else if (kind == "limits" && name == "cpu") {
    quantity = api::Quantity::fromMilli(facts.nodeAllocatableMilliCpu);  // unset limit: the node's
  } else if (kind == "limits" && name == "memory") {
    quantity = api::Quantity::fromInt(facts.nodeAllocatableMemory);
  }
  const api::Quantity divisor =
      selector.divisor.isZero() ? api::Quantity::fromInt(1) : selector.divisor;
  if (name == "cpu") {
    // Rounded up: 250m with divisor 1 reads as "1", as upstream does.
    const int64_t d = divisor.milliValue();
    return std::to_string((quantity.milliValue() + d - 1) / d);
  }
  const int64_t d = divisor.value();
  return std::to_string((quantity.value() + d - 1) / d);
}

std::string podFieldValue(const corev1::Pod& pod, const std::string& fieldPath,
                          const PodRuntimeFacts& facts) {
  const auto [path, key] = splitSubscript(fieldPath);
  if (path == "metadata.name") return pod.metadata.name;
  if (path == "metadata.namespace") return pod.metadata.namespace_;
  if (path == "metadata.uid") return pod.metadata.uid;
  if (path == "metadata.labels" || path == "metadata.annotations") {
    const auto& map = path == "metadata.labels" ? pod.metadata.labels : pod.metadata.annotations;
    if (key.empty()) {
      throw ContainerConfigError("fieldRef: " + fieldPath + " needs a key, e.g. " + path + "['k']");
    }
    auto it = map.find(key);
    return it == map.end() ? "" : it->second;
  }
  if (path == "spec.nodeName") return facts.nodeName;
  if (path == "spec.serviceAccountName") return pod.spec.serviceAccountName;
  if (path == "status.hostIP") return facts.hostIP;
  if (path == "status.hostIPs") return facts.hostIP;
  if (path == "status.podIP") return facts.podIP;
  if (path == "status.podIPs") return join(facts.podIPs);
  throw ContainerConfigError("fieldRef: unsupported fieldPath \"" + fieldPath + "\"");
}

EnvList containerEnv(const corev1::Pod& pod, const corev1::Container& container,
                     const PodRuntimeFacts& facts, ConfigSource& config) {
  EnvList out;
  std::map<std::string, std::string> defined;
  auto set = [&](const std::string& name, const std::string& value) {
    auto existing =
        std::find_if(out.begin(), out.end(), [&](const auto& kv) { return kv.first == name; });
    if (existing != out.end()) {
      existing->second = value;
    } else {
      out.emplace_back(name, value);
    }
    defined[name] = value;
  };
  const std::string& ns = pod.metadata.namespace_;
  // The Services' variables: referable from env, set unless the container sets them itself.
  const auto services = config.serviceEnv(ns, pod.spec.enableServiceLinks.value_or(true));
  for (const auto& [name, value] : services) defined[name] = value;

  for (const auto& source : container.envFrom) {
    std::optional<std::map<std::string, std::string>> data;
    bool optional = false;
    std::string what;
    if (source.configMapRef) {
      what = "configmap \"" + source.configMapRef->name + "\"";
      optional = source.configMapRef->optional.value_or(false);
      data = config.configMap(ns, source.configMapRef->name);
    } else if (source.secretRef) {
      what = "secret \"" + source.secretRef->name + "\"";
      optional = source.secretRef->optional.value_or(false);
      data = config.secret(ns, source.secretRef->name);
    } else {
      continue;
    }
    if (!data) {
      if (optional) continue;
      throw ContainerConfigError(what + " not found");
    }
    for (const auto& [key, value] : *data) set(source.prefix + key, value);
  }

  for (const auto& var : container.env) {
    if (!var.valueFrom) {
      set(var.name, expandVariables(var.value, defined));
      continue;
    }
    const auto& from = *var.valueFrom;
    if (from.fieldRef) {
      set(var.name, podFieldValue(pod, from.fieldRef->fieldPath, facts));
    } else if (from.resourceFieldRef) {
      set(var.name, resourceFieldValue(pod, &container, *from.resourceFieldRef, facts));
    } else if (from.configMapKeyRef || from.secretKeyRef) {
      const bool isConfigMap = from.configMapKeyRef.has_value();
      const std::string& name = isConfigMap ? from.configMapKeyRef->name : from.secretKeyRef->name;
      const std::string& key = isConfigMap ? from.configMapKeyRef->key : from.secretKeyRef->key;
      const bool optional = isConfigMap ? from.configMapKeyRef->optional.value_or(false)
                                        : from.secretKeyRef->optional.value_or(false);
      const auto data = isConfigMap ? config.configMap(ns, name) : config.secret(ns, name);
      std::string what = isConfigMap ? "configmap \"" : "secret \"";
      what.append(name).append("\"");
      if (!data) {
        if (optional) continue;
        throw ContainerConfigError(what + " not found");
      }
      auto it = data->find(key);
      if (it == data->end()) {
        if (optional) continue;
        std::string message = "couldn't find key ";
        message.append(key).append(isConfigMap ? " in ConfigMap " : " in Secret ");
        message.append(ns).append("/").append(name);
        throw ContainerConfigError(message);
      }
      set(var.name, it->second);
    }
  }
  for (const auto& service : services) {
    const bool own = std::any_of(out.begin(), out.end(),
                                 [&](const auto& kv) { return kv.first == service.first; });
    if (!own) out.push_back(service);
  }
  return out;
}

}  // namespace kite::kubelet
