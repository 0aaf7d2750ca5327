#include "scratch_namespace.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace kite::netlink::testing {

namespace {

// Shell-quotes for sh -c '...'.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

void hostSh(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

ScratchNamespace::ScratchNamespace() {
  static int instances = 0;
  name_ = "knl-" + std::to_string(getpid()) + "-" + std::to_string(instances++);
  hostSh("ip netns add " + name_);
  sh("ip link set lo up");
}

ScratchNamespace::~ScratchNamespace() {
  std::system(("ip netns del " + name_ + " 2>/dev/null").c_str());
}

void ScratchNamespace::sh(const std::string& command) const {
  hostSh("ip netns exec " + name_ + " sh -c " + quoted(command));
}

std::string ScratchNamespace::output(const std::string& command) const {
  const std::string full = "ip netns exec " + name_ + " sh -c " + quoted(command);
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + full);
  std::string out;
  std::array<char, 4096> buf{};
  while (const auto n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  pclose(pipe);
  return out;
}

Entered::Entered(const ScratchNamespace& ns)
    : original_(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {
  const int fd = open(("/run/netns/" + ns.name()).c_str(), O_RDONLY | O_CLOEXEC);
  const bool ok = original_ >= 0 && fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
  if (fd >= 0) close(fd);
  if (!ok) {
    if (original_ >= 0) close(original_);
    throw std::runtime_error("cannot enter network namespace " + ns.name());
  }
}

Entered::~Entered() {
  if (setns(original_, CLONE_NEWNET) != 0) std::abort();  // the test cannot go on elsewhere
  close(original_);
}

}  // namespace kite::netlink::testing
