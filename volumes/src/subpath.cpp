#include "kite/volumes/subpath.h"

#include <set>

#include "fs_util.h"
#include "kite/volumes/error.h"
#include "safe_path.h"

namespace kite::volumes {

void validateSubPath(const std::string& subPath) {
  if (!subPath.empty() && subPath.front() == '/') {
    throw VolumeError(Reason::kInvalid,
                      "error SubPath `" + subPath + "` must not be an absolute path");
  }
  if (detail::hasBackstep(subPath)) {
    throw VolumeError(Reason::kInvalid,
                      "unable to provision SubPath `" + subPath + "`: must not contain '..'");
  }
}

std::string expandSubPathExpr(const std::string& expr,
                              const std::map<std::string, std::string>& env) {
  // Upstream's third_party/forked/golang/expansion, mapping each reference to
  // its value and remembering the ones without a value.
  std::string out;
  std::set<std::string> missing;
  std::size_t checkpoint = 0;
  for (std::size_t cursor = 0; cursor < expr.size(); ++cursor) {
    if (expr[cursor] != '$' || cursor + 1 >= expr.size()) {
      continue;
    }
    out.append(expr, checkpoint, cursor - checkpoint);
    const char next = expr[cursor + 1];
    std::size_t advance = 1;
    if (next == '$') {
      out += '$';  // "$$" escapes the operator
    } else if (next == '(') {
      const std::size_t close = expr.find(')', cursor + 2);
      if (close == std::string::npos) {
        out += "$(";  // an incomplete reference stays as written
      } else {
        const std::string name = expr.substr(cursor + 2, close - cursor - 2);
        const auto it = env.find(name);
        if (it == env.end() || it->second.empty()) {
          missing.insert(name);
        } else {
          out += it->second;
        }
        advance = close - cursor;
      }
    } else {
      out += '$';
      out += next;  // not a reference: "$x" stays "$x"
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  out.append(expr, checkpoint, std::string::npos);

  if (!missing.empty()) {
    std::string names;
    for (const auto& name : missing) {
      names += names.empty() ? name : ", " + name;
    }
    throw VolumeError(Reason::kInvalid, "missing value for " + names);
  }
  validateSubPath(out);
  return out;
}

std::string resolveSubPath(const std::string& volumePath, const std::string& subPath) {
  validateSubPath(subPath);
  const auto resolved = detail::resolveWithinVolume(detail::makeSubPath(volumePath, subPath));
  // Walk it once without following anything, as the mounter will: refuses a
  // symlink swapped in since realpath.
  detail::safeOpen(resolved.path, resolved.volume);
  return resolved.path;
}

}  // namespace kite::volumes
