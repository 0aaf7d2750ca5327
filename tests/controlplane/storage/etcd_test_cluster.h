#pragma once
// Real etcd members for the etcd store's tests: Debian's /usr/bin/etcd (or $KITE_ETCD_BINARY)
// on free loopback ports with a temporary data directory. The object owns the processes and
// the directory: its destructor kills every member it started, by PID, and removes the
// directory, also when a test fails.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace kite::controlplane::testing {

class EtcdTestCluster {
 public:
  // Starts `members` members forming one cluster and waits until each reports a leader.
  // Throws std::runtime_error naming what went wrong (a missing binary included).
  explicit EtcdTestCluster(std::size_t members = 1);
  ~EtcdTestCluster();
  EtcdTestCluster(const EtcdTestCluster&) = delete;
  EtcdTestCluster& operator=(const EtcdTestCluster&) = delete;
  EtcdTestCluster(EtcdTestCluster&&) = delete;
  EtcdTestCluster& operator=(EtcdTestCluster&&) = delete;

  std::size_t size() const { return members_.size(); }
  // "http://127.0.0.1:<port>"
  const std::string& clientUrl(std::size_t member) const { return members_[member].clientUrl; }
  std::vector<std::string> clientUrls() const;

  // SIGKILL and reap one member.
  void kill(std::size_t member);
  bool running(std::size_t member) const { return members_[member].pid > 0; }
  // Index of the member the running members agree leads, asking each over gRPC; throws when
  // none is known within the guard.
  std::size_t leader() const;

  // The last lines of a member's log, for failure messages.
  std::string logTail(std::size_t member) const;

 private:
  struct Member {
    std::string name;
    std::string clientUrl;
    std::string peerUrl;
    std::string dataDir;
    std::string logPath;
    pid_t pid = -1;
  };

  void start(const std::string& binary);
  void waitReady();
  void stopAll() noexcept;

  std::string dir_;
  std::vector<Member> members_;
};

// The binary the tests run: $KITE_ETCD_BINARY or /usr/bin/etcd.
std::string etcdBinary();

}  // namespace kite::controlplane::testing
