#pragma once
// Facts about this machine the kubelet reports and computes with.

#include <cstdint>
#include <string>

namespace kite::kubelet {

int64_t machineMemoryBytes();   // MemTotal from /proc/meminfo
int64_t machineMilliCpu();      // online CPUs x 1000
std::string defaultHostname();  // lower-cased, as upstream's --hostname-override default
// The first global IPv4 address of an interface that is up, or "" (use --node-ip).
std::string defaultNodeIP();

}  // namespace kite::kubelet
