#pragma once
// configMap, secret, downwardAPI and projected volumes: project a set of files
// into a volume directory so that a reader never sees a half-written file or a
// mix of old and new files, as upstream's AtomicWriter does:
//
//   <dir>/..2024_05_01_10_00_00.a1b2c3/   the files of this version
//   <dir>/..data -> ..2024_05_01_10_00_00.a1b2c3
//   <dir>/key    -> ..data/key            one symlink per top-level name
//
// An update writes a new timestamped directory, points a fresh ..data_tmp
// symlink at it and renames that over ..data (rename(2) is atomic), then
// removes user-visible symlinks of names that are gone and the old directory.
// A reader that has a file open keeps reading the old content to its end; a
// reader that opens during the swap may get ENOENT once and must retry, as
// with upstream. Names starting with ".." are reserved. Not thread-safe:
// serialize writes to one directory (the kubelet does, per volume).

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kite::volumes {

// Upstream's default mode for configMap/secret/downwardAPI/projected files.
inline constexpr std::uint32_t kDefaultVolumeFileMode = 0644;

struct FileProjection {
  std::string data;  // bytes, not text
  std::uint32_t mode = kDefaultVolumeFileMode;
  std::optional<uid_t> fsUser;  // chown the file to this user when set
};

// Relative path within the volume → content.
using Payload = std::map<std::string, FileProjection>;

class AtomicWriter {
 public:
  // targetDir must exist (kNotFound otherwise).
  explicit AtomicWriter(const std::string& targetDir);

  // Projects payload into the directory. With fsGroup, the files and
  // directories get that group and group read, as setVolumeOwnership does for
  // read-only volumes, before they become visible. Returns false when the
  // directory already held exactly this payload (nothing written).
  // Throws kInvalid for a bad path (see validatePath), kInternal on I/O errors;
  // a failed write leaves the previous version in place.
  bool write(const Payload& payload, std::optional<gid_t> fsGroup = std::nullopt);

  // Checks one payload path as upstream does and returns it cleaned ("a//b"
  // → "a/b"). It must not be empty or absolute, contain a ".." element, start
  // with "..", or exceed 4096 characters (255 per name).
  static std::string validatePath(const std::string& path);

  const std::string& targetDir() const { return targetDir_; }

 private:
  std::string targetDir_;
};

// One entry of a configMap/secret volume's items.
struct KeyToPath {
  std::string key;
  std::string path;
  std::optional<std::uint32_t> mode;
};

enum class PayloadSource { kConfigMap, kSecret };

// The payload of a configMap or secret volume, as upstream builds it: without
// items, every key becomes a file of that name with defaultMode; with items,
// only the listed keys, at their paths, with their own mode or defaultMode. A
// listed key that is missing is an error (kNotFound, "configmap references
// non-existent config key: k") unless the volume is optional, then skipped.
Payload makePayload(const std::map<std::string, std::string>& data,
                    const std::vector<KeyToPath>& items, std::uint32_t defaultMode, bool optional,
                    PayloadSource source);

}  // namespace kite::volumes
