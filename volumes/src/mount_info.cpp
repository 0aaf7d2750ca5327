#include <cerrno>
#include <string>

#include "fs_util.h"
#include "kite/volumes/error.h"
#include "kite/volumes/mounter.h"

namespace kite::volumes {

namespace {

// The kernel escapes space, tab, newline and backslash in paths as \ooo.
std::string unescape(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '3' &&
        field[i + 2] >= '0' && field[i + 2] <= '7' && field[i + 3] >= '0' && field[i + 3] <= '7') {
      out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                               (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') {
      ++i;
    }
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ') {
      ++i;
    }
    if (i > start) {
      out.push_back(line.substr(start, i - start));
    }
  }
  return out;
}

bool parseUnsigned(std::string_view text, unsigned& value) {
  if (text.empty()) {
    return false;
  }
  value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return true;
}

}  // namespace

std::vector<MountInfo> parseMountInfo(std::string_view text) {
  std::vector<MountInfo> mounts;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const auto f = fields(text.substr(start, end - start));
    start = end + 1;
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    if (f.size() < 9) {
      continue;
    }
    MountInfo info;
    unsigned id = 0;
    unsigned parentId = 0;
    const std::size_t colon = f[2].find(':');
    if (!parseUnsigned(f[0], id) || !parseUnsigned(f[1], parentId) ||
        colon == std::string_view::npos || !parseUnsigned(f[2].substr(0, colon), info.major) ||
        !parseUnsigned(f[2].substr(colon + 1), info.minor)) {
      continue;
    }
    info.id = static_cast<int>(id);
    info.parentId = static_cast<int>(parentId);
    info.root = unescape(f[3]);
    info.mountPoint = unescape(f[4]);
    info.options = std::string(f[5]);
    std::size_t i = 6;
    while (i < f.size() && f[i] != "-") {
      info.optionalFields.emplace_back(f[i]);
      ++i;
    }
    // The separator, then fstype and source; super options may be absent.
    if (i + 2 >= f.size()) {
      continue;
    }
    info.fsType = std::string(f[i + 1]);
    info.source = unescape(f[i + 2]);
    info.superOptions = i + 3 < f.size() ? std::string(f[i + 3]) : "";
    mounts.push_back(std::move(info));
  }
  return mounts;
}

std::vector<MountInfo> readMountInfo(const std::string& file) {
  return parseMountInfo(detail::readFile(file));
}

}  // namespace kite::volumes
