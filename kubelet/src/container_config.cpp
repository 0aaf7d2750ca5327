#include "kite/kubelet/container_config.h"

#include <map>

#include "kite/api/json.h"
#include "kite/kubelet/container_mounts.h"
#include "kite/kubelet/container_resources.h"
#include "kite/kubelet/labels.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;

namespace {

void setLabels(cri::v1::ContainerConfig& config, const corev1::Pod& pod,
               const corev1::Container& container, bool isInit) {
  auto& out = *config.mutable_labels();
  out[labels::kPodName] = pod.metadata.name;
  out[labels::kPodNamespace] = pod.metadata.namespace_;
  out[labels::kPodUid] = pod.metadata.uid;
  out[labels::kContainerName] = container.name;
  out[labels::kContainerType] = isInit ? "init" : "regular";
  out[labels::kManagedBy] = labels::kManagedByValue;
}

void setAnnotations(cri::v1::ContainerConfig& config, const corev1::Pod& pod,
                    const corev1::Container& container, const ContainerOptions& options) {
  auto& out = *config.mutable_annotations();
  out[labels::kContainerHash] = options.containerHash;
  out[labels::kRestartCount] = std::to_string(options.restartCount);
  out[labels::kTerminationMessagePath] = container.terminationMessagePath;
  out[labels::kTerminationMessagePolicy] = container.terminationMessagePolicy;
  if (pod.metadata.deletionGracePeriodSeconds) {
    out[labels::kDeletionGracePeriod] = std::to_string(*pod.metadata.deletionGracePeriodSeconds);
  }
  if (pod.spec.terminationGracePeriodSeconds) {
    out[labels::kGracePeriod] = std::to_string(*pod.spec.terminationGracePeriodSeconds);
  }
  if (container.lifecycle && container.lifecycle->preStop) {
    out[labels::kPreStopHandler] = api::encodeJson(*container.lifecycle->preStop);
  }
  if (!container.ports.empty()) {
    std::string ports = "[";
    for (const auto& port : container.ports) {
      ports += (ports.size() > 1 ? "," : "") + api::encodeJson(port);
    }
    out[labels::kContainerPorts] = ports + "]";
  }
}

}  // namespace

std::string containerLogPath(const std::string& containerName, uint32_t restartCount) {
  return containerName + "/" + std::to_string(restartCount) + ".log";
}

cri::v1::ContainerConfig containerConfig(const corev1::Pod& pod, const corev1::Container& container,
                                         const ContainerOptions& options) {
  cri::v1::ContainerConfig config;
  // Checked first, like upstream: a pod refused by runAsNonRoot never gets
  // further.
  const SecurityContextOptions security{options.seccompProfileRoot, options.seccompDefault,
                                        options.imageUser};
  *config.mutable_linux()->mutable_security_context() =
      containerSecurityContext(pod, container, security);

  config.mutable_metadata()->set_name(container.name);
  config.mutable_metadata()->set_attempt(options.restartCount);
  if (options.imageRef.empty()) {
    config.mutable_image()->set_image(container.image);
  } else {
    config.mutable_image()->set_image(options.imageRef);
    config.mutable_image()->set_user_specified_image(container.image);
  }

  std::map<std::string, std::string> env;
  for (const auto& [name, value] : options.env) env[name] = value;  // later entries win
  for (const auto& arg : container.command) config.add_command(expandVariables(arg, env));
  for (const auto& arg : container.args) config.add_args(expandVariables(arg, env));
  config.set_working_dir(container.workingDir);
  for (const auto& [name, value] : options.env) {
    auto* kv = config.add_envs();
    kv->set_key(name);
    kv->set_value(value);
  }

  for (auto& mount : containerMounts(container, options.mounts, options.etcHostsPath,
                                     options.terminationMessageHostPath)) {
    *config.add_mounts() = std::move(mount);
  }
  config.set_log_path(containerLogPath(container.name, options.restartCount));
  config.set_stdin(container.stdin);
  config.set_stdin_once(container.stdinOnce);
  config.set_tty(container.tty);
  setLabels(config, pod, container, options.isInit);
  setAnnotations(config, pod, container, options);

  *config.mutable_linux()->mutable_resources() =
      containerResources(container, options.qos, options.memoryCapacity);
  return config;
}

}  // namespace kite::kubelet
