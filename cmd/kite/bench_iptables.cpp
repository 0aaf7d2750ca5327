// kube-proxy's iptables layout for the baseline (bench_iptables.h), written here from the
// layout's description; chain names are KUBE-SVC-/KUBE-SEP- and 16 characters of a hash, as
// upstream's are.

#include "bench_iptables.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace kite::cmd::bench {

namespace {

// 16 base32 characters of a 64-bit FNV-1a hash (upstream uses SHA-256; the length is what
// matters for the parser's work).
std::string chainHash(const std::string& s) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  static constexpr const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    out += kAlphabet[h & 31U];
    h = (h >> 5U) | (h << 59U);
  }
  return out;
}

std::string probability(std::size_t remaining) {
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%.10f", 1.0 / static_cast<double>(remaining));
  return text.data();
}

// Appends the parts to `out` without temporaries (the text grows to tens of MB at 30k).
template <class... Parts>
void append(std::string& out, const Parts&... parts) {
  (out.append(parts), ...);
}

}  // namespace

std::string renderIptablesBase() {
  return "*nat\n"
         ":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         ":POSTROUTING ACCEPT [0:0]\n"
         ":KUBE-SERVICES - [0:0]\n:KUBE-POSTROUTING - [0:0]\n"
         "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
         "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
         "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" "
         "-j KUBE-POSTROUTING\n"
         "COMMIT\n";
}

std::string renderIptablesEmpty() {
  return "*nat\n"
         ":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         ":POSTROUTING ACCEPT [0:0]\n"
         "COMMIT\n";
}

std::string renderIptablesNat(const proxy::DesiredState& state, const std::string& clusterCidr) {
  std::string chains =
      "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-POSTROUTING - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n"
      ":KUBE-NODEPORTS - [0:0]\n";
  std::string rules =
      "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n"
      "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000\n"
      "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" "
      "-j MASQUERADE --random-fully\n"
      "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000\n";
  for (const auto& [key, port] : state.services) {
    const std::string name = port.namespace_ + "/" + port.name + ":" + port.portName;
    const std::string svc = "KUBE-SVC-" + chainHash(name + port.protocol);
    std::string match;
    append(match, " -d ", port.clusterIP, "/32 -p ", port.protocol, " -m comment --comment \"",
           name, " cluster IP\" -m ", port.protocol, " --dport ", std::to_string(port.port));
    append(chains, ":", svc, " - [0:0]\n");
    if (!clusterCidr.empty()) {
      append(rules, "-A KUBE-SERVICES ! -s ", clusterCidr, match, " -j KUBE-MARK-MASQ\n");
    }
    append(rules, "-A KUBE-SERVICES", match, " -j ", svc, "\n");
    const std::size_t count = port.endpoints.size();
    for (std::size_t i = 0; i < count; ++i) {
      const auto& e = port.endpoints[i];
      std::string target = e.ip;
      append(target, ":", std::to_string(e.port));
      std::string sepId = name;
      append(sepId, port.protocol, target);
      const std::string sep = "KUBE-SEP-" + chainHash(sepId);
      append(chains, ":", sep, " - [0:0]\n");
      append(rules, "-A ", svc, " -m comment --comment ", name);
      if (i + 1 < count) {
        append(rules, " -m statistic --mode random --probability ", probability(count - i));
      }
      append(rules, " -j ", sep, "\n");
      append(rules, "-A ", sep, " -s ", e.ip, "/32 -m comment --comment ", name,
             " -j KUBE-MARK-MASQ\n");
      append(rules, "-A ", sep, " -p ", port.protocol, " -m comment --comment ", name, " -m ",
             port.protocol, " -j DNAT --to-destination ", target, "\n");
    }
  }
  rules +=
      "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be "
      "the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n";
  return chains + rules + "COMMIT\n";
}

void iptablesRestore(const std::string& program, const std::string& input,
                     const std::string& scratchDir, bool noflush) {
  const std::string path = scratchDir + "/iptables-restore.input";
  {
    std::ofstream file(path, std::ios::trunc);
    file << input;
    if (!file.flush()) throw std::runtime_error("cannot write " + path);
  }
  std::vector<std::string> args = {program};
  if (noflush) args.emplace_back("--noflush");
  args.emplace_back("--counters");
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, path.c_str(), O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot run " + program + ": " + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(program + " failed (exit status " +
                             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  }
}

}  // namespace kite::cmd::bench
