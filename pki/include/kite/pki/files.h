#pragma once
// Files that hold secrets are never seen half-written or with loose permissions: they are
// written to a temporary file in the same directory, created with their final mode, synced,
// and renamed over the target. Throws PkiError naming the path and the failing call.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace kite::pki {

// Mode for files holding private keys, tokens and kubeconfigs with credentials.
inline constexpr mode_t kSecretFileMode = 0600;
// Mode for certificates (public).
inline constexpr mode_t kPublicFileMode = 0644;
// Mode for directories holding secrets.
inline constexpr mode_t kSecretDirMode = 0700;

// Writes content to path atomically with exactly the given mode (not masked by the umask).
// Creates missing parent directories with kSecretDirMode.
void writeFileAtomic(const std::filesystem::path& path, std::string_view content, mode_t mode);

// Creates dir (and missing parents) with kSecretDirMode; an existing dir is set to
// kSecretDirMode too, since it holds secrets. Parents that already exist are left alone.
void ensurePrivateDirectory(const std::filesystem::path& dir);

// The whole file; throws PkiError naming the path when it cannot be read.
std::string readFile(const std::filesystem::path& path);

}  // namespace kite::pki
