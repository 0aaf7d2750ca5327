// Kinds of scheduling.k8s.io: PriorityClass (validation in priority_classes.h, the
// globalDefault check and the pods' side in priority_admission.h).
#include <string>

#include "../priority_classes.h"
#include "../registry.h"
#include "kite/api/scheduling/v1/types.h"

namespace kite::controlplane::apiserver {

namespace {
namespace schedv1 = api::scheduling::v1;
}  // namespace

void addSchedulingKinds(Registry& r) {
  KindHooks<schedv1::PriorityClass> pc;
  pc.defaults = defaultPriorityClass;
  pc.validate = validatePriorityClass;
  pc.validateUpdate = validatePriorityClassUpdate;
  // kubectl's columns as upstream prints them (PreemptionPolicy after Age).
  pc.columns = {{"Value", "integer", "", "", 0},
                {"Global-Default", "boolean", "", "", 0},
                ageColumn(),
                {"PreemptionPolicy", "string", "", "", 0}};
  pc.row = [](const schedv1::PriorityClass& c, TimePoint now) -> std::vector<TableCell> {
    return {static_cast<std::int64_t>(c.value), c.globalDefault,
            humanAge(creationTime(c.metadata), now),
            c.preemptionPolicy.value_or("PreemptLowerPriority")};
  };
  r.add(std::make_unique<TypedResource<schedv1::PriorityClass>>(
      builtinInfo("scheduling.k8s.io", "v1", "priorityclasses"), std::move(pc)));
}

}  // namespace kite::controlplane::apiserver
