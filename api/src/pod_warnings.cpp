// Pod spec warnings: accepted values that upstream's API server points out to the client.
#include "kite/api/pod_warnings.h"

namespace kite::api {

std::vector<std::string> podSpecWarnings(const core::v1::PodSpec& spec, std::string_view specPath) {
  std::vector<std::string> out;
  // Validation lets a negative period through for compatibility; deletion uses 1 second.
  if (spec.terminationGracePeriodSeconds && *spec.terminationGracePeriodSeconds < 0) {
    out.push_back(std::string(specPath) +
                  ".terminationGracePeriodSeconds: must be >= 0; negative values are invalid "
                  "and will be treated as 1");
  }
  return out;
}

}  // namespace kite::api
