#include "kite/http/remote_command_pipe.h"

#include <mutex>
#include <utility>

namespace kite::http {
namespace {

// The translator and both ends. Each tunnel's callbacks hold this until that tunnel ends
// (tunnels drop their callbacks then), so the pair does not keep itself alive.
struct Session {
  explicit Session(RemoteCommandStreams streams) : translator(streams) {}

  // Writes under the lock, so bytes leave in the order the translator made them (the SPDY
  // header compression context depends on it); closes after it, since a close may run the
  // other side's close callback on this thread.
  void apply(RemoteCommandTranslator::Output out, std::unique_lock<std::mutex>& lock) {
    if (!out.toClient.empty()) client->write(std::move(out.toClient));
    if (!out.toRuntime.empty()) runtime->write(std::move(out.toRuntime));
    lock.unlock();
    if (out.closeClient) client->close();
    if (out.closeRuntime) runtime->close();
  }

  std::mutex mutex;
  RemoteCommandTranslator translator;
  std::shared_ptr<Tunnel> client;
  std::shared_ptr<Tunnel> runtime;
};

}  // namespace

void pipeRemoteCommand(const std::shared_ptr<Tunnel>& webSocket,
                       const std::shared_ptr<Tunnel>& spdy, RemoteCommandStreams streams) {
  auto session = std::make_shared<Session>(streams);
  session->client = webSocket;
  session->runtime = spdy;
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
