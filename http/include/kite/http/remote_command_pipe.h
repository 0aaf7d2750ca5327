#pragma once
// Runs a RemoteCommandTranslator between two tunnels: the client's upgraded WebSocket
// connection and an upgraded SPDY connection toward the kubelet. Returns at once; the pair
// lives until either side ends, then both are closed.

#include <memory>

#include "kite/http/remote_command_translator.h"
#include "kite/http/server.h"

namespace kite::http {

void pipeRemoteCommand(const std::shared_ptr<Tunnel>& webSocket,
                       const std::shared_ptr<Tunnel>& spdy, RemoteCommandStreams streams);

}  // namespace kite::http
