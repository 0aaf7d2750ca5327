#pragma once
// A real `kite server --disable-agent` for the client's integration tests: a temporary data
// folder, a free loopback port, the process stopped by its PID and the folder removed.

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "kite/client/config.h"

namespace kite::client::testing {

// A TCP port on 127.0.0.1 that was free a moment ago.
int freeLoopbackPort();

class TestServer {
 public:
  TestServer();
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
  const std::filesystem::path& kubeconfig() const { return kubeconfig_; }
  RestConfig config() const;

 private:
  std::filesystem::path dir_;
  std::filesystem::path kubeconfig_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace kite::client::testing
