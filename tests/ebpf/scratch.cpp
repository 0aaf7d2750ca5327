#include "scratch.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <set>
#include <stdexcept>

#include "kite/ebpf/bpffs.h"
#include "kite/ebpf/sock_lb.h"

namespace kite::ebpf::testing {

namespace {

std::string makeTempDir(const std::string& parent) {
  std::string path = parent + "/kite-test-XXXXXX";
  if (mkdtemp(path.data()) == nullptr) throw std::runtime_error("mkdtemp failed in " + parent);
  return path;
}

}  // namespace

TestCgroup::TestCgroup() : path_(makeTempDir(cgroup2Root())) {}

TestCgroup::~TestCgroup() { rmdir(path_.c_str()); }

std::string TestCgroup::wrap(const std::string& command) const {
  return "sh -c 'echo $$ > " + path_ + "/cgroup.procs && exec " + command + "'";
}

TestPinDir::TestPinDir() {
  ensureBpffs();
  path_ = makeTempDir(kBpffsRoot);
}

TestPinDir::~TestPinDir() {
  try {
    removePinDir(path_);
  } catch (const std::exception&) {  // a leftover directory must not abort the test binary
  }
}

std::string capture(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  std::string out;
  std::array<char, 4096> buf{};
  while (const auto n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  pclose(pipe);
  return out;
}

HeldBackends heldBackends(const std::string& pinDir, const std::string& cgroup) {
  const SockLb lb({.pinDir = pinDir, .cgroup = cgroup});
  HeldBackends held{.inMap = lb.backends().keys().size()};
  std::set<__u32> generations;
  const auto services = lb.services();
  for (const auto& key : services.keys()) {
    const auto value = services.get(key);
    if (value && (value->flags & KITE_SERVICE_INLINE) != 0U &&
        generations.insert(value->id).second) {
      held.inlined += value->count;
    }
  }
  return held;
}

}  // namespace kite::ebpf::testing
