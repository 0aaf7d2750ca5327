#pragma once
// Runs a RemoteCommandTranslator between two tunnels: the client's upgraded WebSocket
// connection and an upgraded SPDY connection toward the kubelet. Returns at once; the pair
// lives until either side ends, then both are closed.
//
// Bounded: when more than `highWater` bytes wait to be sent to the client (a slow kubectl),
// the kubelet side is not read until they are down to `lowWater`, so TCP holds the command's
// output back; likewise the client side is not read while stdin toward the kubelet waits.
// What was already read is still translated, so nothing is lost or reordered, and the
// command's status comes through once the output has.

#include <cstddef>
#include <memory>

#include "kite/http/relay_bounds.h"
#include "kite/http/remote_command_translator.h"
#include "kite/http/server.h"

namespace kite::http {

using RemoteCommandBounds = RelayBounds;

void pipeRemoteCommand(const std::shared_ptr<Tunnel>& webSocket,
                       const std::shared_ptr<Tunnel>& spdy, RemoteCommandStreams streams,
                       RemoteCommandBounds bounds = {});

}  // namespace kite::http
