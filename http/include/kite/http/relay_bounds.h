#pragma once
// How much a relay between two tunnels (pipeTunnels, pipeWebSocketToRaw, pipeRemoteCommand)
// lets wait for the slower side: above highWater bytes queued toward a side, the side that is
// ahead is not read, so TCP holds its sender back; at lowWater or below it is read again.

#include <cstddef>

namespace kite::http {

struct RelayBounds {
  std::size_t highWater = std::size_t{1} << 20U;  // 1 MiB
  std::size_t lowWater = std::size_t{256} << 10U;
};

}  // namespace kite::http
