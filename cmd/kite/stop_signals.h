#pragma once
// SIGTERM and SIGINT end the long-running commands (server, agent, kubelet, proxy). Blocking
// them before any thread starts means every thread inherits the mask, so only wait() sees
// them and the command stops its parts in order on the main thread.

#include <pthread.h>

#include <csignal>

namespace kite::cmd {

class StopSignals {
 public:
  // Blocks the stop signals in the calling thread; construct it before starting threads.
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  // Blocks until one arrives; returns it.
  int wait() const {
    int signal = 0;
    sigwait(&set_, &signal);
    return signal;
  }

 private:
  sigset_t set_{};
};

}  // namespace kite::cmd
