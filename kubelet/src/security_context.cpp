#include "kite/kubelet/security_context.h"

#include "kite/kubelet/container_env.h"
#include "kite/kubelet/namespace_options.h"
#include "kite/kubelet/seccomp_profile.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;

namespace {

constexpr const char* kAppArmorAnnotationPrefix = "container.apparmor.security.beta.kubernetes.io/";
constexpr const char* kAppArmorRuntimeDefault = "runtime/default";
constexpr const char* kAppArmorUnconfined = "unconfined";
constexpr const char* kAppArmorLocalhostPrefix = "localhost/";

// format.Pod in upstream's messages: name_namespace(uid).
std::string podDescription(const corev1::Pod& pod) {
  return "\"" + pod.metadata.name + "_" + pod.metadata.namespace_ + "(" + pod.metadata.uid + ")\"";
}

cri::v1::SELinuxOption toRuntime(const corev1::SELinuxOptions& in) {
  cri::v1::SELinuxOption out;
  out.set_user(in.user);
  out.set_role(in.role);
  out.set_type(in.type);
  out.set_level(in.level);
  return out;
}

// The container's profile, then the deprecated per-container annotation
// (static pods never had it converted to the field), then the pod's.
std::optional<corev1::AppArmorProfile> appArmorProfileOf(const corev1::Pod& pod,
                                                         const corev1::Container& container) {
  if (container.securityContext && container.securityContext->appArmorProfile) {
    return container.securityContext->appArmorProfile;
  }
  auto it = pod.metadata.annotations.find(kAppArmorAnnotationPrefix + container.name);
  if (it != pod.metadata.annotations.end()) {
    const std::string& value = it->second;
    corev1::AppArmorProfile profile;
    if (value == kAppArmorRuntimeDefault) {
      profile.type = corev1::AppArmorProfileType::RuntimeDefault;
      return profile;
    }
    if (value == kAppArmorUnconfined) {
      profile.type = corev1::AppArmorProfileType::Unconfined;
      return profile;
    }
    if (value.starts_with(kAppArmorLocalhostPrefix)) {
      profile.type = corev1::AppArmorProfileType::Localhost;
      profile.localhostProfile = value.substr(std::string_view(kAppArmorLocalhostPrefix).size());
      return profile;
    }
    // Anything else is an invalid annotation, ignored as upstream does.
  }
  if (pod.spec.securityContext && pod.spec.securityContext->appArmorProfile) {
    return pod.spec.securityContext->appArmorProfile;
  }
  return std::nullopt;
}

// The deprecated string form ("runtime/default", "unconfined",
// "localhost/<name>"), still set by upstream for runtimes that predate the
// SecurityProfile field.
void setDeprecatedAppArmor(cri::v1::LinuxContainerSecurityContext& sc, const std::string& value) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  sc.set_apparmor_profile(value);
#pragma GCC diagnostic pop
}

// Sets the AppArmor fields; none when nothing is asked for, so the runtime
// applies its own default (containerd: its generated profile when AppArmor is
// enabled on the node).
void setAppArmor(cri::v1::LinuxContainerSecurityContext& sc, const corev1::Pod& pod,
                 const corev1::Container& container) {
  const auto profile = appArmorProfileOf(pod, container);
  if (!profile) return;
  auto* out = sc.mutable_apparmor();
  if (profile->type == corev1::AppArmorProfileType::RuntimeDefault) {
    out->set_profile_type(cri::v1::SecurityProfile::RuntimeDefault);
    setDeprecatedAppArmor(sc, kAppArmorRuntimeDefault);
  } else if (profile->type == corev1::AppArmorProfileType::Unconfined) {
    out->set_profile_type(cri::v1::SecurityProfile::Unconfined);
    setDeprecatedAppArmor(sc, kAppArmorUnconfined);
  } else if (profile->type == corev1::AppArmorProfileType::Localhost) {
    if (!profile->localhostProfile) {
      throw ContainerConfigError("missing localhost apparmor profile name");
    }
    out->set_profile_type(cri::v1::SecurityProfile::Localhost);
    out->set_localhost_ref(*profile->localhostProfile);
    setDeprecatedAppArmor(sc, kAppArmorLocalhostPrefix + *profile->localhostProfile);
  } else {
    throw ContainerConfigError("unknown apparmor profile type: \"" + profile->type + "\"");
  }
}

}  // namespace

corev1::SecurityContext effectiveSecurityContext(const corev1::Pod& pod,
                                                 const corev1::Container& container) {
  corev1::SecurityContext out;
  if (const auto& podSc = pod.spec.securityContext) {
    out.seLinuxOptions = podSc->seLinuxOptions;
    out.windowsOptions = podSc->windowsOptions;
    out.runAsUser = podSc->runAsUser;
    out.runAsGroup = podSc->runAsGroup;
    out.runAsNonRoot = podSc->runAsNonRoot;
  }
  if (!container.securityContext) return out;
  const auto& sc = *container.securityContext;
  auto take = [](auto& field, const auto& value) {
    if (value) field = value;
  };
  take(out.seLinuxOptions, sc.seLinuxOptions);
  take(out.windowsOptions, sc.windowsOptions);
  take(out.capabilities, sc.capabilities);
  take(out.privileged, sc.privileged);
  take(out.runAsUser, sc.runAsUser);
  take(out.runAsGroup, sc.runAsGroup);
  take(out.runAsNonRoot, sc.runAsNonRoot);
  take(out.readOnlyRootFilesystem, sc.readOnlyRootFilesystem);
  take(out.allowPrivilegeEscalation, sc.allowPrivilegeEscalation);
  take(out.procMount, sc.procMount);
  return out;
}

ImageUser imageUserOf(const cri::v1::Image& image) {
  if (image.has_uid()) return {image.uid().value(), ""};
  if (!image.username().empty()) return {std::nullopt, image.username()};
  return {0, ""};
}

void verifyRunAsNonRoot(const corev1::Pod& pod, const corev1::Container& container,
                        std::optional<int64_t> imageUid, const std::string& imageUsername) {
  const corev1::SecurityContext sc = effectiveSecurityContext(pod, container);
  if (!sc.runAsNonRoot.value_or(false)) return;
  const std::string where = "(pod: " + podDescription(pod) + ", container: " + container.name + ")";
  if (sc.runAsUser) {
    if (*sc.runAsUser == 0) {
      throw ContainerConfigError("container's runAsUser breaks non-root policy " + where);
    }
    return;
  }
  if (imageUid && *imageUid == 0) {
    throw ContainerConfigError("container has runAsNonRoot and image will run as root " + where);
  }
  if (!imageUid && !imageUsername.empty()) {
    throw ContainerConfigError("container has runAsNonRoot and image has non-numeric user (" +
                               imageUsername + "), cannot verify user is non-root " + where);
  }
}

bool hasPrivilegedContainer(const corev1::Pod& pod) {
  auto privileged = [](const corev1::Container& c) {
    return c.securityContext && c.securityContext->privileged.value_or(false);
  };
  for (const auto& c : pod.spec.initContainers) {
    if (privileged(c)) return true;
  }
  for (const auto& c : pod.spec.containers) {
    if (privileged(c)) return true;
  }
  for (const auto& c : pod.spec.ephemeralContainers) {
    if (privileged(c)) return true;
  }
  return false;
}

const std::vector<std::string>& defaultMaskedPaths() {
  static const std::vector<std::string> paths = {"/proc/asound",
                                                 "/proc/acpi",
                                                 "/proc/kcore",
                                                 "/proc/keys",
                                                 "/proc/latency_stats",
                                                 "/proc/timer_list",
                                                 "/proc/timer_stats",
                                                 "/proc/sched_debug",
                                                 "/proc/scsi",
                                                 "/sys/firmware",
                                                 "/sys/devices/virtual/powercap"};
  return paths;
}

const std::vector<std::string>& defaultReadonlyPaths() {
  static const std::vector<std::string> paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                 "/proc/sysrq-trigger"};
  return paths;
}

cri::v1::LinuxContainerSecurityContext containerSecurityContext(
    const corev1::Pod& pod, const corev1::Container& container,
    const SecurityContextOptions& options) {
  if (options.imageUser) {
    verifyRunAsNonRoot(pod, container, options.imageUser->uid, options.imageUser->username);
  } else {
    verifyRunAsNonRoot(pod, container, std::nullopt, "");
  }
  const corev1::SecurityContext effective = effectiveSecurityContext(pod, container);
  cri::v1::LinuxContainerSecurityContext out;

  if (effective.capabilities) {
    // Passed as written ("NET_ADMIN"): the runtimes add the CAP_ prefix
    // themselves (containerd: "CAP_" + ToUpper(name)), as upstream relies on.
    auto* caps = out.mutable_capabilities();
    for (const auto& c : effective.capabilities->add) caps->add_add_capabilities(c);
    for (const auto& c : effective.capabilities->drop) caps->add_drop_capabilities(c);
  }
  if (effective.seLinuxOptions)
    *out.mutable_selinux_options() = toRuntime(*effective.seLinuxOptions);
  if (effective.runAsUser) out.mutable_run_as_user()->set_value(*effective.runAsUser);
  if (effective.runAsGroup) out.mutable_run_as_group()->set_value(*effective.runAsGroup);
  out.set_privileged(effective.privileged.value_or(false));
  out.set_readonly_rootfs(effective.readOnlyRootFilesystem.value_or(false));

  *out.mutable_seccomp() =
      containerSeccompProfile(pod, container, options.seccompProfileRoot, options.seccompDefault);
  setAppArmor(out, pod, container);

  if (!effective.runAsUser && options.imageUser) {
    if (options.imageUser->uid) out.mutable_run_as_user()->set_value(*options.imageUser->uid);
    out.set_run_as_username(options.imageUser->username);
  }

  *out.mutable_namespace_options() = namespacesForPod(pod);
  if (const auto& podSc = pod.spec.securityContext) {
    if (podSc->fsGroup) out.add_supplemental_groups(*podSc->fsGroup);
    for (int64_t group : podSc->supplementalGroups) out.add_supplemental_groups(group);
    if (podSc->supplementalGroupsPolicy) {
      const std::string& policy = *podSc->supplementalGroupsPolicy;
      cri::v1::SupplementalGroupsPolicy value{};
      if (!cri::v1::SupplementalGroupsPolicy_Parse(policy, &value)) {
        throw ContainerConfigError("unsupported supplementalGroupsPolicy: " + policy);
      }
      out.set_supplemental_groups_policy(value);
    }
  }

  // Only an explicit allowPrivilegeEscalation: false sets no_new_privs.
  out.set_no_new_privs(effective.allowPrivilegeEscalation.has_value() &&
                       !*effective.allowPrivilegeEscalation);
  if (effective.procMount.value_or("") != corev1::ProcMountType::Unmasked) {
    for (const auto& p : defaultMaskedPaths()) out.add_masked_paths(p);
    for (const auto& p : defaultReadonlyPaths()) out.add_readonly_paths(p);
  }
  return out;
}

}  // namespace kite::kubelet
