#pragma once
// Seccomp profiles of containers. Which profile applies follows upstream: the
// container's seccompProfile, else the pod's, else Unconfined (or
// RuntimeDefault when the kubelet runs with --seccomp-default; upstream 1.32
// defaults that flag to false). The sandbox itself always runs RuntimeDefault.
//
// A Localhost profile is a file under the kubelet's seccomp directory that
// the runtime loads when it creates the container. kite reads it first so a
// missing file, bad JSON or a misspelt syscall shows up as the container's
// CreateContainerConfigError naming the file and the entry, rather than as a
// runtime error about an unreadable OCI spec (runc silently skips syscall
// names it does not know, so a typo would otherwise weaken the filter).

#include <filesystem>

#include "kite/api/core/v1/types.h"
#include "kite/cri/api.h"

namespace kite::kubelet {

// Checks an OCI (docker-format) seccomp profile: {"defaultAction": ...,
// "architectures": [...], "syscalls": [{"names": [...], "action": ...}]}.
// Every action must be a known SCMP_ACT_*, every architecture a known
// SCMP_ARCH_*, every syscall name one libseccomp knows for some architecture.
// Throws ContainerConfigError, e.g.
//   seccomp profile /x/y.json: unknown syscall "opne" in syscalls[2].names[0]
void checkLocalhostProfile(const std::filesystem::path& file);

// The container's profile; Localhost profiles resolve to
// <profileRoot>/<localhostProfile> and are checked. Throws ContainerConfigError.
cri::v1::SecurityProfile containerSeccompProfile(const api::core::v1::Pod& pod,
                                                 const api::core::v1::Container& container,
                                                 const std::filesystem::path& profileRoot,
                                                 bool seccompDefault);

}  // namespace kite::kubelet
