#include "kite/http/remote_command_pipe.h"

#include <mutex>
#include <utility>

namespace kite::http {
namespace {

// The translator and both ends. Each tunnel's callbacks hold this until that tunnel ends
// (tunnels drop their callbacks then), so the pair does not keep itself alive; the drained
// callbacks hold it weakly.
struct Session {
  Session(RemoteCommandStreams streams, RemoteCommandBounds limits)
      : translator(streams), bounds(limits) {}

  // Writes under the lock, so bytes leave in the order the translator made them (the SPDY
  // header compression context depends on it); then pauses the side whose bytes pile up on
  // the other; closes after the lock, since a close may run the other side's close callback
  // on this thread.
  void apply(RemoteCommandTranslator::Output out, std::unique_lock<std::mutex>& lock) {
    if (!out.toClient.empty()) client->write(std::move(out.toClient));
    if (!out.toRuntime.empty()) runtime->write(std::move(out.toRuntime));
    if (!runtimePaused && client->queuedBytes() > bounds.highWater) {
      runtimePaused = true;
      runtime->setReading(false);
    }
    if (!clientPaused && runtime->queuedBytes() + translator.heldForRuntime() > bounds.highWater) {
      clientPaused = true;
      client->setReading(false);
    }
    lock.unlock();
    if (out.closeClient) client->close();
    if (out.closeRuntime) runtime->close();
  }

  // A side's queue went down to the low-water mark: read the other again.
  void drained() {
    const std::lock_guard lock(mutex);
    if (runtimePaused && client->queuedBytes() <= bounds.lowWater) {
      runtimePaused = false;
      runtime->setReading(true);
    }
    if (clientPaused && runtime->queuedBytes() + translator.heldForRuntime() <= bounds.lowWater) {
      clientPaused = false;
      client->setReading(true);
    }
  }

  std::mutex mutex;
  RemoteCommandTranslator translator;
  const RemoteCommandBounds bounds;
  std::shared_ptr<Tunnel> client;
  std::shared_ptr<Tunnel> runtime;
  bool runtimePaused = false;  // not reading the kubelet: the client is behind
  bool clientPaused = false;   // not reading the client: the kubelet is behind
};

}  // namespace

void pipeRemoteCommand(const std::shared_ptr<Tunnel>& webSocket,
                       const std::shared_ptr<Tunnel>& spdy, RemoteCommandStreams streams,
                       RemoteCommandBounds bounds) {
  auto session = std::make_shared<Session>(streams, bounds);
  session->client = webSocket;
  session->runtime = spdy;
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
