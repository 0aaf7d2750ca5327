#pragma once
// subPath and subPathExpr: mount part of a volume into a container without
// letting the pod reach outside the volume, as upstream's kubelet does it.
//
// Why kite bind-mounts the subPath itself instead of handing the runtime
// "<volume>/<subPath>": containerd bind-mounts the host path named in the CRI
// Mount and resolves symlinks while doing so. A container that shares the
// volume could swap a checked directory for a symlink to "/" between our check
// and the runtime's mount. So, like upstream, SubPathMounter opens the subPath
// component by component with O_NOFOLLOW, keeps that fd, and bind-mounts
// /proc/self/fd/<fd> onto <podDir>/volume-subpaths/<volume>/<container>/<index>:
// the kernel mounts exactly the inode that was checked, and that target is the
// host path the CRI Mount gets. (A /proc/self/fd path cannot be handed to the
// runtime: in its process it names the runtime's own descriptors.)

#include <map>
#include <string>

#include "kite/volumes/mounter.h"

namespace kite::volumes {

// Throws kInvalid with upstream's words: "error SubPath `/a` must not be an
// absolute path", "unable to provision SubPath `a/../b`: must not contain '..'".
void validateSubPath(const std::string& subPath);

// subPathExpr as upstream expands it: "$(VAR)" becomes VAR's value, "$$" a
// literal "$", anything else stays as written ("$(" without ")" too). A
// referenced variable that is missing or empty is an error: kInvalid "missing
// value for A, B" (names sorted). The result is checked with validateSubPath.
std::string expandSubPathExpr(const std::string& expr,
                              const std::map<std::string, std::string>& env);

// <volumePath>/<subPath>, resolved on the host: validates subPath, creates a
// missing directory (with the volume root's mode, as upstream, so fsGroup
// bits carry over), resolves symlinks and throws kForbidden when the result
// lies outside the volume. Symlinks that stay inside are fine, as upstream.
// Returns the resolved path. It is only safe at the moment of the check; for
// containers use SubPathMounter.
std::string resolveSubPath(const std::string& volumePath, const std::string& subPath);

struct SubPathMount {
  std::string volumePath;  // host path of the set-up volume
  std::string subPath;     // after expandSubPathExpr for subPathExpr
  std::string podDir;
  std::string volumeName;
  std::string containerName;
  int volumeMountIndex = 0;  // position of the volumeMount in the container
};

class SubPathMounter {
 public:
  explicit SubPathMounter(Mounter& mounter) : mounter_(mounter) {}

  // Bind-mounts the subPath (see above) and returns the path for the CRI
  // Mount. Idempotent: an existing bind of the same file is reused, a stale
  // one replaced. Errors keep upstream's user-facing text ("failed to prepare
  // subPath for volumeMount \"v\" of container \"c\""); what went wrong, with
  // host paths, is in VolumeError::detail() for the log.
  std::string prepare(const SubPathMount& request);

  // Unmounts and removes every subPath bind of one volume of a pod
  // (<podDir>/volume-subpaths/<volumeName>), after its containers are gone.
  void cleanUp(const std::string& podDir, const std::string& volumeName);

  static std::string bindTarget(const SubPathMount& request);

 private:
  void cleanUpMountPoint(const std::string& path);
  void cleanUpOne(const SubPathMount& request);

  Mounter& mounter_;
};

}  // namespace kite::volumes
