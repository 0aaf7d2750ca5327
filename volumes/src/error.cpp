#include "kite/volumes/error.h"

#include <utility>

namespace kite::volumes {

const char* reasonName(Reason reason) {
  switch (reason) {
    case Reason::kInvalid:
      return "Invalid";
    case Reason::kNotFound:
      return "NotFound";
    case Reason::kTypeMismatch:
      return "TypeMismatch";
    case Reason::kNotSupported:
      return "NotSupported";
    case Reason::kForbidden:
      return "Forbidden";
    case Reason::kNodeAffinityConflict:
      return "VolumeNodeAffinityConflict";
    case Reason::kInternal:
      return "InternalError";
  }
  return "InternalError";
}

VolumeError::VolumeError(Reason reason, const std::string& message, std::string detail,
                         int sysErrno)
    : std::runtime_error(message),
      reason_(reason),
      detail_(std::move(detail)),
      sysErrno_(sysErrno) {}

}  // namespace kite::volumes
