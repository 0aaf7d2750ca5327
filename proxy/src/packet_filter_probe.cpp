#include "kite/proxy/packet_filter_probe.h"

#include <unistd.h>

#include <exception>

#include "kite/proxy/nft_context.h"

namespace kite::proxy {

NftablesProbe probeNftables() {
  const std::string table = "inet kite-probe-" + std::to_string(getpid());
  const std::string commands =
      "add table " + table + "\n" +  //
      "add chain " + table + " pre { type nat hook prerouting priority dstnat; }\n" + "add chain " +
      table + " post { type nat hook postrouting priority srcnat; }\n" + "add map " + table +
      " services { type ipv4_addr . inet_proto . inet_service : verdict; }\n" + "add rule " +
      table + " pre fib daddr type local ip daddr . meta l4proto . th dport vmap @services\n" +
      "add rule " + table + " pre numgen random mod 2 vmap { 0 : accept, 1 : accept }\n" +
      "add rule " + table + " post meta mark 0x4000 masquerade\n" +  //
      "delete table " + table + "\n";
  try {
    NftContext nft;
    nft.run(commands);
  } catch (const std::exception& e) {
    return {false, e.what()};
  }
  return {true, ""};
}

}  // namespace kite::proxy
