#pragma once
// A Job's podReplacementPolicy: with TerminatingOrFailed (the default) a pod being deleted is
// replaced at once and counted as failed; with Failed (and whenever a podFailurePolicy is
// set, as upstream) it is neither replaced nor counted until it reaches phase Failed. Pods
// being deleted that have not finished are status.terminating either way.

#include "kite/api/batch/v1/types.h"
#include "kite/api/core/v1/types.h"

namespace kite::controlplane::controllers {

// podReplacementPolicy Failed, or a podFailurePolicy.
bool onlyReplaceFailedPods(const api::batch::v1::Job& job);
// Deleted but not Succeeded or Failed (upstream's count of terminating pods).
bool isPodTerminating(const api::core::v1::Pod& pod);
// A terminating pod that still holds its place under onlyReplaceFailedPods, bound or not (as
// upstream's isPodFailed: only phase Failed counts). A pod deleted before it was bound gets
// that phase from the pod GC (pod_gc_controller.h), there being no kubelet to report one.
bool awaitingTerminalPhase(const api::batch::v1::Job& job, const api::core::v1::Pod& pod);

}  // namespace kite::controlplane::controllers
