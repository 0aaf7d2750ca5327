#include "kite/volumes/local_volume.h"

#include <sys/stat.h>

#include "fs_util.h"
#include "kite/volumes/error.h"

namespace kite::volumes {

void checkLocalVolume(const std::string& path, VolumeMode mode) {
  if (path.empty()) {
    throw VolumeError(Reason::kInvalid, "LocalVolume volume path is empty");
  }
  if (detail::hasBackstep(path)) {
    throw VolumeError(Reason::kInvalid, "invalid path: " + path + " must not contain '..'");
  }
  const auto st = detail::statIfExists(path);
  if (!st) {
    throw VolumeError(Reason::kNotFound, "path \"" + path + "\" does not exist");
  }
  const auto type = detail::fileTypeName(st->st_mode);
  const std::string actual = type ? std::string(*type) : "unknown file type";
  if (mode == VolumeMode::kBlock) {
    if (!S_ISBLK(st->st_mode)) {
      throw VolumeError(Reason::kTypeMismatch, "local volume " + path +
                                                   " is not a block device, it's a " + actual +
                                                   " (volumeMode Block needs one)");
    }
    return;
  }
  if (S_ISDIR(st->st_mode)) {
    return;
  }
  if (S_ISBLK(st->st_mode)) {
    throw VolumeError(Reason::kNotSupported,
                      "local volume " + path +
                          " is a block device: volumeMode Filesystem on a block device needs it "
                          "formatted and mounted, which kite does not do yet");
  }
  throw VolumeError(Reason::kTypeMismatch, "local volume " + path +
                                               ": only directory and block device are supported, "
                                               "it's a " +
                                               actual);
}

}  // namespace kite::volumes
