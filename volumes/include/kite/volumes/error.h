#pragma once
// The one exception every volume function throws. what() is the text a user
// sees in the pod's FailedMount event, worded as upstream's kubelet words it;
// detail() carries what only belongs in the node's log (host paths a user must
// not learn about, e.g. where a subPath symlink tried to lead).

#include <stdexcept>
#include <string>

namespace kite::volumes {

// Why an operation failed, in the spirit of Kubernetes status reasons, so the
// kubelet can decide between retrying (kInternal) and reporting (the rest).
enum class Reason {
  kInvalid,               // bad input: a path with "..", an unknown type or medium
  kNotFound,              // something that must exist does not
  kTypeMismatch,          // exists, but is the wrong kind of file
  kNotSupported,          // valid in Kubernetes, not implemented by kite
  kForbidden,             // would escape the volume (subPath symlinks)
  kNodeAffinityConflict,  // a PersistentVolume's node affinity excludes this node
  kInternal,              // a system call failed
};

const char* reasonName(Reason reason);

class VolumeError : public std::runtime_error {
 public:
  VolumeError(Reason reason, const std::string& message, std::string detail = "", int sysErrno = 0);

  Reason reason() const { return reason_; }
  // For the node log only; empty when what() already says everything.
  const std::string& detail() const { return detail_; }
  // errno of the failing system call, 0 when none failed.
  int sysErrno() const { return sysErrno_; }

 private:
  Reason reason_;
  std::string detail_;
  int sysErrno_;
};

}  // namespace kite::volumes
