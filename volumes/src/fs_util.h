#pragma once
// POSIX helpers shared by the volume plugins; private to volumes/. Every
// function throws VolumeError, worded like the Go errors upstream's kubelet
// shows, so messages read the same in pod events.

#include <sys/stat.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kite/base/unique_fd.h"

namespace kite::volumes::detail {

// The project's owned file descriptor (base/unique_fd.h).
using UniqueFd = base::UniqueFd;

// Go's text for an errno ("no such file or directory").
std::string errnoText(int err);
// "<op> <path>: <errno text>", the shape of Go's *os.PathError.
std::string pathErrorText(const std::string& op, const std::string& path, int err);
// Throws pathErrorText as a VolumeError; ENOENT maps to kNotFound, the rest to kInternal.
[[noreturn]] void throwPathError(const std::string& op, const std::string& path, int err);

// stat(2) / lstat(2) that answer nullopt when nothing is there (ENOENT or a
// non-directory on the way) and throw on any other failure.
std::optional<struct stat> statIfExists(const std::string& path);
std::optional<struct stat> lstatIfExists(const std::string& path);

// Go's path/filepath.Clean: lexical, never touches the filesystem.
std::string cleanPath(std::string_view path);
// cleanPath(a + "/" + b).
std::string joinPath(std::string_view a, std::string_view b);
// dir + "/" + name, for a name known to be a single component.
std::string childPath(const std::string& dir, const std::string& name);
// Splits on '/', keeping empty elements, like Go's strings.Split.
std::vector<std::string> splitPath(std::string_view path);
// True when any '/'-separated element of path is "..".
bool hasBackstep(std::string_view path);
// Both paths clean and absolute: is fullPath base itself or below it?
bool pathWithinBase(const std::string& fullPath, const std::string& base);
// The relative path from base to target (both clean, target within base); "." for base itself.
std::string relativeTo(const std::string& base, const std::string& target);
// realpath(3): every symlink resolved; the path must exist.
std::string realPath(const std::string& path);

// mkdir -p. Missing directories get `mode` (less the umask, as mkdir(2) does);
// an existing non-directory on the way is an error. Returns whether the last
// component was created by this call.
bool makeDirs(const std::string& path, mode_t mode);

// rm -rf that never follows symlinks and refuses to remove anything while a
// mount point sits at or below path (per /proc/self/mountinfo): deleting files
// of a still-mounted filesystem would destroy data that is not ours.
void removeAll(const std::string& path);

// Upstream's names for file types ("Directory", "File", "Socket",
// "CharDevice", "BlockDevice"); nullopt for the rest (FIFOs, symlinks).
std::optional<std::string_view> fileTypeName(mode_t mode);

// The whole content of a regular file.
std::string readFile(const std::string& path);

}  // namespace kite::volumes::detail
