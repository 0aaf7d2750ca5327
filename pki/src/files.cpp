#include "kite/pki/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "kite/base/unique_fd.h"
#include "kite/pki/error.h"

namespace kite::pki {
namespace {

[[noreturn]] void throwErrno(std::string_view call, const std::filesystem::path& path, int err) {
  std::string message(call);
  message.append(" ").append(path.string()).append(": ").append(std::strerror(err));
  throw PkiError(message);
}

using Fd = base::UniqueFd;

void createDirectories(const std::filesystem::path& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return;
  createDirectories(dir.parent_path());
  if (::mkdir(dir.c_str(), kSecretDirMode) != 0 && errno != EEXIST) {
    throwErrno("mkdir", dir, errno);
  }
}

}  // namespace

void writeFileAtomic(const std::filesystem::path& path, std::string_view content, mode_t mode) {
  const std::filesystem::path dir =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  createDirectories(dir);
  std::string pattern = (dir / ("." + path.filename().string() + ".tmp.XXXXXX")).string();
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  // mkstemp creates the file 0600, so a secret is never readable by others, not even for a
  // moment; fchmod then gives it the final mode regardless of the umask.
  Fd fd(::mkstemp(name.data()));
  if (fd.get() < 0) throwErrno("mkstemp", pattern, errno);
  const std::filesystem::path tmp(name.data());
  try {
    if (::fchmod(fd.get(), mode) != 0) throwErrno("fchmod", tmp, errno);
    std::size_t written = 0;
    while (written < content.size()) {
      const ssize_t n = ::write(fd.get(), content.data() + written, content.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        throwErrno("write", tmp, errno);
      }
      written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) throwErrno("fsync", tmp, errno);
    if (::close(fd.release()) != 0) throwErrno("close", tmp, errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0) throwErrno("rename", path, errno);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  // Make the rename itself durable.
  Fd dirFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dirFd.get() >= 0) ::fsync(dirFd.get());
}

void ensurePrivateDirectory(const std::filesystem::path& dir) {
  createDirectories(dir);
  if (::chmod(dir.c_str(), kSecretDirMode) != 0) throwErrno("chmod", dir, errno);
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throwErrno("open", path, errno != 0 ? errno : ENOENT);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throwErrno("read", path, EIO);
  return buffer.str();
}

}  // namespace kite::pki
