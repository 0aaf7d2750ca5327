#pragma once
// Labels and annotations the kubelet puts on sandboxes and containers. The
// io.kubernetes.* names are upstream's, so crictl and other tools show kite's
// pods as they show any kubelet's. The io.kite.* ones mark what kite created:
// kite only ever touches sandboxes and containers carrying kManagedBy, and a
// restarted kubelet adopts exactly those.

namespace kite::kubelet::labels {

inline constexpr const char* kPodName = "io.kubernetes.pod.name";
inline constexpr const char* kPodNamespace = "io.kubernetes.pod.namespace";
inline constexpr const char* kPodUid = "io.kubernetes.pod.uid";
inline constexpr const char* kContainerName = "io.kubernetes.container.name";
inline constexpr const char* kContainerType = "io.kubernetes.container.type";  // init | regular

inline constexpr const char* kManagedBy = "io.kite.managed-by";
inline constexpr const char* kManagedByValue = "kite-kubelet";

// Annotations (values a restarted kubelet needs to rebuild its view).
inline constexpr const char* kContainerHash = "io.kubernetes.container.hash";
inline constexpr const char* kRestartCount = "io.kubernetes.container.restartCount";
inline constexpr const char* kTerminationMessagePath =
    "io.kubernetes.container.terminationMessagePath";
inline constexpr const char* kTerminationMessagePolicy =
    "io.kubernetes.container.terminationMessagePolicy";
inline constexpr const char* kGracePeriod = "io.kubernetes.pod.terminationGracePeriod";
inline constexpr const char* kDeletionGracePeriod = "io.kubernetes.pod.deletionGracePeriod";
// JSON of the container's lifecycle.preStop and ports, for a kubelet that has
// lost the pod spec (a deleted pod's preStop hook after a restart).
inline constexpr const char* kPreStopHandler = "io.kubernetes.container.preStopHandler";
inline constexpr const char* kContainerPorts = "io.kubernetes.container.ports";
inline constexpr const char* kSandboxHash = "io.kite.sandbox.hash";

}  // namespace kite::kubelet::labels
