#include "kite/proxy/bridge_netfilter.h"

#include <spawn.h>
#include <sys/wait.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

extern char** environ;

namespace kite::proxy {

namespace {

bool modprobeBrNetfilter() {
  // modprobe lives in /usr/sbin (or /sbin) on Debian, which a service's PATH may lack.
  for (const char* path : {"/usr/sbin/modprobe", "/sbin/modprobe"}) {
    if (!std::filesystem::exists(path)) continue;
    std::array<char*, 4> argv{const_cast<char*>("modprobe"), const_cast<char*>("-q"),
                              const_cast<char*>("br_netfilter"), nullptr};
    pid_t pid = 0;
    if (posix_spawn(&pid, path, nullptr, nullptr, argv.data(), environ) != 0) return false;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) return false;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return false;
}

std::string readValue(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string value;
  in >> value;
  return value;
}

// "" when `file` holds 1 afterwards, else why not.
std::string setToOne(const std::filesystem::path& file) {
  if (readValue(file) == "1") return "";
  {
    std::ofstream out(file);
    out << "1\n";
    out.flush();
    if (!out) return file.string() + ": cannot write 1: " + std::strerror(errno);
  }
  if (readValue(file) != "1") return file.string() + ": still not 1 after writing it";
  return "";
}

}  // namespace

std::string enableBridgeNetfilter(const BridgeNetfilterOptions& options) {
  const std::filesystem::path bridge = std::filesystem::path(options.procSys) / "net/bridge";
  const auto iptables = bridge / "bridge-nf-call-iptables";
  if (!std::filesystem::exists(iptables)) {
    const bool loaded = options.loadModule ? options.loadModule() : modprobeBrNetfilter();
    if (!loaded || !std::filesystem::exists(iptables)) {
      return "br_netfilter is not loaded (modprobe br_netfilter failed): bridged pod traffic "
             "bypasses NetworkPolicy and Service reverse NAT on this node";
    }
  }
  std::string missing = setToOne(iptables);
  if (const auto v6 = setToOne(bridge / "bridge-nf-call-ip6tables"); !v6.empty()) {
    missing += (missing.empty() ? "" : "; ") + v6;
  }
  return missing;
}

}  // namespace kite::proxy
