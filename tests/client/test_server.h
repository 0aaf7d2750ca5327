#pragma once
// A real `kite server --disable-agent` for the client's integration tests: a temporary data
// folder, a free loopback port, the process stopped by its PID and the folder removed.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "kite/client/config.h"

namespace kite::client::testing {

// A TCP port on 127.0.0.1 that was free a moment ago.
int freeLoopbackPort();

class TestServer {
 public:
  // extraArgs are appended to `kite server ...` (e.g. "--service-cidr", "10.96.0.0/16"). The
  // scheduler and the controllers are off unless withControlLoops: tests of those run their own.
  explicit TestServer(std::vector<std::string> extraArgs = {}, bool withControlLoops = false);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // Starts the server and waits until it answers. Throws std::runtime_error.
  void start();
  // Stops it (SIGTERM, then SIGKILL after a while) and waits for the process.
  void stop();
  // Stop and start again on the same port and data folder.
  void restart();

  int port() const { return port_; }
  // The server's --data-dir (its token is <dataDir>/server/token).
  std::filesystem::path dataDir() const { return dir_ / "data"; }
  const std::filesystem::path& kubeconfig() const { return kubeconfig_; }
  RestConfig config() const;

 private:
  std::filesystem::path dir_;
  std::filesystem::path kubeconfig_;
  std::vector<std::string> extraArgs_;
  bool withControlLoops_ = false;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace kite::client::testing
