#pragma once
// A Job's status conditions: finding a true one, whether the Job is finished (Complete or
// Failed), and setting one (its transition time changes only when status or reason do).

#include <string>
#include <string_view>

#include "kite/api/batch/v1/types.h"
#include "kite/api/time.h"

namespace kite::controlplane::controllers {

// The condition of this type when its status is True, else nullptr.
const api::batch::v1::JobCondition* findTrueCondition(const api::batch::v1::Job& job,
                                                      std::string_view type);
bool jobFinished(const api::batch::v1::Job& job);
void setJobCondition(api::batch::v1::Job& job, const std::string& type, const std::string& status,
                     const std::string& reason, const std::string& message, api::Time now);

}  // namespace kite::controlplane::controllers
