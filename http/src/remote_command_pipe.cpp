#include "kite/http/remote_command_pipe.h"

#include <mutex>
#include <utility>

#include "tunnel_flow.h"

namespace kite::http {
namespace {

// The translator and both ends. Each tunnel's callbacks hold this until that tunnel ends
// (tunnels drop their callbacks then), so the pair does not keep itself alive; the drained
// callbacks hold it weakly.
struct Session {
  Session(const std::shared_ptr<Tunnel>& webSocket, const std::shared_ptr<Tunnel>& spdy,
          RemoteCommandStreams streams, RemoteCommandBounds bounds)
      : translator(streams),
        client(webSocket),
        runtime(spdy),
        towardClient(spdy, webSocket, bounds),
        towardRuntime(webSocket, spdy, bounds) {}

  // Writes under the lock, so bytes leave in the order the translator made them (the SPDY
  // header compression context depends on it); then pauses the side whose bytes pile up on
  // the other (stdin the translator holds for a SPDY window counts as piled up); closes after
  // the lock, since a close may run the other side's close callback on this thread.
  void apply(RemoteCommandTranslator::Output out, std::unique_lock<std::mutex>& lock) {
    if (!out.toClient.empty()) client->write(std::move(out.toClient));
    if (!out.toRuntime.empty()) runtime->write(std::move(out.toRuntime));
    updateValves();
    lock.unlock();
    if (out.closeClient) client->close();
    if (out.closeRuntime) runtime->close();
  }

  // A side's queue went down to the low-water mark: read the other again.
  void drained() {
    const std::lock_guard lock(mutex);
    updateValves();
  }

  void updateValves() {
    towardClient.update();
    towardRuntime.update(translator.heldForRuntime());
  }

  std::mutex mutex;
  RemoteCommandTranslator translator;
  const std::shared_ptr<Tunnel> client;
  const std::shared_ptr<Tunnel> runtime;
  detail::RelayValve towardClient;   // reads the kubelet unless the client is behind
  detail::RelayValve towardRuntime;  // reads the client unless the kubelet is behind
};

}  // namespace

void pipeRemoteCommand(const std::shared_ptr<Tunnel>& webSocket,
                       const std::shared_ptr<Tunnel>& spdy, RemoteCommandStreams streams,
                       RemoteCommandBounds bounds) {
  auto session = std::make_shared<Session>(webSocket, spdy, streams, bounds);
  const std::weak_ptr<Session> weak = session;
  const auto drained = [weak] {
    if (auto alive = weak.lock()) alive->drained();
  };
  webSocket->onDrained(bounds.lowWater, drained);
  spdy->onDrained(bounds.lowWater, drained);
  {
    std::unique_lock lock(session->mutex);
    session->apply(session->translator.start(), lock);
  }
  spdy->start(
      [session](const std::string& data) {
        std::unique_lock lock(session->mutex);
        session->apply(session->translator.fromRuntime(data), lock);
      },
      [session] {
        std::unique_lock lock(session->mutex);
        session->apply(session->translator.runtimeClosed(), lock);
      });
  webSocket->start(
      [session](const std::string& data) {
        std::unique_lock lock(session->mutex);
        session->apply(session->translator.fromClient(data), lock);
      },
      [session] {
        std::unique_lock lock(session->mutex);
        session->apply(session->translator.clientClosed(), lock);
      });
}

}  // namespace kite::http
