#pragma once
// A container's Linux security settings as upstream's kubelet hands them to
// the runtime: the pod's securityContext merged with the container's (the
// container wins field by field), the image's user when none is set, the
// pod's namespaces and supplemental groups, /proc masking, seccomp and
// AppArmor profiles, and the runAsNonRoot check.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/cri/api.h"

namespace kite::kubelet {

// The fields a container inherits from the pod (seLinuxOptions, runAsUser,
// runAsGroup, runAsNonRoot) overridden by whatever the container sets.
// seccompProfile and appArmorProfile are resolved separately.
api::core::v1::SecurityContext effectiveSecurityContext(const api::core::v1::Pod& pod,
                                                        const api::core::v1::Container& container);

// The user an image runs as (CRI Image uid/username), as upstream reads it:
// the numeric uid, else the user name, else uid 0 (no USER means root).
struct ImageUser {
  std::optional<int64_t> uid;
  std::string username;
};
ImageUser imageUserOf(const cri::v1::Image& image);

// runAsNonRoot: refuses an effective runAsUser of 0, an image that runs as
// uid 0, and an image whose user is a name (it cannot be verified), with
// upstream's messages. Throws ContainerConfigError.
void verifyRunAsNonRoot(const api::core::v1::Pod& pod, const api::core::v1::Container& container,
                        std::optional<int64_t> imageUid, const std::string& imageUsername);

// Any container (init, regular or ephemeral) asking for privileged: the
// sandbox must then be privileged too.
bool hasPrivilegedContainer(const api::core::v1::Pod& pod);

// /proc and /sys paths masked or made read-only unless procMount is
// Unmasked (upstream's lists, kept in sync with moby's defaults). Upstream
// sends them for privileged containers too; the runtime drops them there.
const std::vector<std::string>& defaultMaskedPaths();
const std::vector<std::string>& defaultReadonlyPaths();

struct SecurityContextOptions {
  // Directory of Localhost seccomp profiles (<kubelet root>/seccomp).
  std::filesystem::path seccompProfileRoot;
  // kubelet --seccomp-default: RuntimeDefault instead of Unconfined when
  // neither the pod nor the container names a profile.
  bool seccompDefault = false;
  // From ImageStatus; nullopt when unknown, and then the runtime runs the
  // image's own user and the image part of runAsNonRoot is not checked here.
  std::optional<ImageUser> imageUser;
};

// Throws ContainerConfigError (runAsNonRoot, a bad Localhost profile, an
// incomplete AppArmor profile).
cri::v1::LinuxContainerSecurityContext containerSecurityContext(
    const api::core::v1::Pod& pod, const api::core::v1::Container& container,
    const SecurityContextOptions& options);

}  // namespace kite::kubelet
