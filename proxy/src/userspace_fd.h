#pragma once
// The userspace proxy's owned file descriptors: the one UniqueFd kite shares.

#include "kite/base/unique_fd.h"

namespace kite::proxy::userspace {

using UniqueFd = base::UniqueFd;

}  // namespace kite::proxy::userspace
