#pragma once
// Race-free walking inside a volume: the building blocks of subPath handling,
// shared by resolveSubPath and SubPathMounter; private to volumes/.

#include <sys/types.h>

#include <string>

#include "fs_util.h"

namespace kite::volumes::detail {

// Opens pathname, which must lie within base (both canonical, symlinks
// resolved), one component at a time with openat(O_PATH|O_NOFOLLOW). A symlink
// on the way, put there after the caller resolved the path, is refused
// (kForbidden) instead of followed. Returns an O_PATH descriptor.
UniqueFd safeOpen(const std::string& pathname, const std::string& base);

// Creates base/subdir (base canonical) and its missing parents, every new
// directory created with mkdirat relative to an O_NOFOLLOW descriptor of its
// parent and chmod'ed to perm (umask-proof). Existing parts may be symlinks
// as long as they resolve inside base.
void safeMakeDir(const std::string& subdir, const std::string& base, mode_t perm);

// What resolveSubPath and SubPathMounter::prepare share.
struct ResolvedSubPath {
  std::string volume;  // canonical volume path
  std::string path;    // canonical subPath target, within volume
};
// Steps 1 and 2, split so the mounter can word their errors differently:
// the canonical volume and the (maybe created) joined path...
ResolvedSubPath makeSubPath(const std::string& volumePath, const std::string& subPath);
// ...then symlinks resolved and the result checked to be within the volume.
ResolvedSubPath resolveWithinVolume(const ResolvedSubPath& joined);

}  // namespace kite::volumes::detail
