#include "kite/kubelet/node_info.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>

namespace kite::kubelet {

int64_t machineMemoryBytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemTotal:") return kib * 1024;
  }
  return 0;
}

int64_t machineMilliCpu() { return static_cast<int64_t>(::sysconf(_SC_NPROCESSORS_ONLN)) * 1000; }

std::string defaultHostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

namespace {

// The interface of the IPv4 default route (/proc/net/route), or "" when there is none.
std::string defaultRouteInterface() {
  std::ifstream routes("/proc/net/route");
  std::string line;
  std::getline(routes, line);  // the header
  while (std::getline(routes, line)) {
    std::istringstream fields(line);
    std::string iface;
    std::string destination;
    std::string gateway;
    std::string flags;
    std::string refcnt;
    std::string use;
    std::string metric;
    std::string mask;
    if (fields >> iface >> destination >> gateway >> flags >> refcnt >> use >> metric >> mask &&
        destination == "00000000" && mask == "00000000") {
      return iface;
    }
  }
  return "";
}

}  // namespace

std::string defaultNodeIP() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  const std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> guard(list, &::freeifaddrs);
  // As the upstream kubelet and k3s choose: the address of the default route's interface,
  // else the first usable one.
  const std::string routeInterface = defaultRouteInterface();
  std::string first;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    if ((a->ifa_flags & IFF_UP) == 0 || (a->ifa_flags & IFF_LOOPBACK) != 0) continue;
    // The userspace proxy's link carries Service addresses, never the node's.
    if (std::string_view(a->ifa_name) == "kite-svc0") continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    if (a->ifa_name == routeInterface) return text;
    if (first.empty()) first = text;
  }
  return first;
}

}  // namespace kite::kubelet
