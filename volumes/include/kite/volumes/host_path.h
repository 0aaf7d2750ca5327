#pragma once
// hostPath volumes: check (or create) the host path a pod asks for, with
// upstream kubelet's semantics and messages. Symlinks are followed (stat, not
// lstat), as upstream does: a type check describes what the container will see
// once the runtime bind-mounts the path.
//
// | type              | before mounting                                          |
// | ""                | no check (backward compatible)                           |
// | DirectoryOrCreate | nothing there: create an empty directory, mode 0755      |
// | Directory         | a directory must exist                                   |
// | FileOrCreate      | nothing there: create an empty file, mode 0644; the      |
// |                   | parent directory must exist (upstream creates no parents)|
// | File              | a regular file must exist                                |
// | Socket            | a UNIX socket must exist                                 |
// | CharDevice        | a character device must exist                            |
// | BlockDevice       | a block device must exist                                |
// Created files and directories belong to the kubelet's user and group.

#include <string>
#include <string_view>

namespace kite::volumes {

enum class HostPathType {
  kUnset,
  kDirectoryOrCreate,
  kDirectory,
  kFileOrCreate,
  kFile,
  kSocket,
  kCharDevice,
  kBlockDevice,
};

// "" → kUnset, "Directory" → kDirectory, ...; anything else throws kInvalid
// ("<type> is an invalid volume type").
HostPathType parseHostPathType(std::string_view type);

// Checks path against type and returns the path to hand the runtime for the
// bind mount. Throws VolumeError: kInvalid for a path with ".." or an unknown
// type, kNotFound ("hostPath /x doesn't exist"), kTypeMismatch ("hostPath type
// check failed: /x is not a directory, it's a File"), kInternal when creating fails.
std::string checkHostPath(const std::string& path, HostPathType type);
std::string checkHostPath(const std::string& path, std::string_view type);

}  // namespace kite::volumes
