#include "kite/kubelet/pod_cgroups.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <system_error>

namespace kite::kubelet {

namespace fs = std::filesystem;

const char* qosClassName(QosClass qos) {
  switch (qos) {
    case QosClass::kGuaranteed:
      return "Guaranteed";
    case QosClass::kBurstable:
      return "Burstable";
    case QosClass::kBestEffort:
      return "BestEffort";
  }
  return "BestEffort";
}

namespace {
// "/a/b/" -> "/a/b"; "", "/" and "//" -> "/".
std::string normalizeRoot(const std::string& root) {
  const auto end = root.find_last_not_of('/');
  return end == std::string::npos ? std::string("/") : root.substr(0, end + 1);
}
}  // namespace

PodCgroups::PodCgroups(fs::path cgroupfsRoot, const std::string& root)
    : cgroupfsRoot_(std::move(cgroupfsRoot)), root_(normalizeRoot(root)) {}

std::string PodCgroups::podCgroupPath(const std::string& podUid, QosClass qos) const {
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on chained operator+.
  std::string path;
  if (root_ != "/") path.append(root_);
  path.append("/kubepods");
  if (qos == QosClass::kBurstable) path.append("/burstable");
  if (qos == QosClass::kBestEffort) path.append("/besteffort");
  path.append("/pod").append(podUid);
  return path;
}

std::vector<fs::path> PodCgroups::hierarchies() const {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(cgroupfsRoot_, ec)) {
    // Skip the symlinked aliases (cpu,cpuacct -> cpu) and named hierarchies
    // without controllers the runtime cares about.
    if (!entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    if (fs::exists(entry.path() / "cgroup.procs", ec)) out.push_back(entry.path());
  }
  if (fs::exists(cgroupfsRoot_ / "cgroup.procs", ec)) out.push_back(cgroupfsRoot_);  // pure v2
  return out;
}

void PodCgroups::create(const std::string& podUid, QosClass qos) const {
  const std::string relative = podCgroupPath(podUid, qos).substr(1);
  for (const auto& hierarchy : hierarchies()) {
    std::error_code ec;
    fs::create_directories(hierarchy / relative, ec);
    if (ec) {
      spdlog::warn("pod cgroup {}: cannot create in {}: {}", relative, hierarchy.string(),
                   ec.message());
    }
  }
}

namespace {
// rmdir depth-first; cgroupfs directories cannot be removed recursively with
// ordinary file removal (their control files are not deletable).
bool removeTree(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  bool ok = true;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) ok = removeTree(entry.path()) && ok;
  }
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
    spdlog::warn("pod cgroup {}: cannot remove: {}", dir.string(),
                 std::error_code(errno, std::generic_category()).message());
    return false;
  }
  return ok;
}
}  // namespace

bool PodCgroups::remove(const std::string& podUid, QosClass qos) const {
  const std::string relative = podCgroupPath(podUid, qos).substr(1);
  bool ok = true;
  for (const auto& hierarchy : hierarchies()) ok = removeTree(hierarchy / relative) && ok;
  return ok;
}

}  // namespace kite::kubelet
