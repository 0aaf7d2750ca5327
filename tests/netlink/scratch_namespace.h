#pragma once
// A network namespace of the test's own (`ip netns add`), deleted by the destructor, and a
// guard that moves the calling thread into it (netlink sockets opened meanwhile stay bound
// to it) and back.

#include <string>

namespace kite::netlink::testing {

class ScratchNamespace {
 public:
  ScratchNamespace();
  ~ScratchNamespace();
  ScratchNamespace(const ScratchNamespace&) = delete;
  ScratchNamespace& operator=(const ScratchNamespace&) = delete;

  const std::string& name() const { return name_; }
  // Runs `ip netns exec NAME sh -c COMMAND`; throws when it fails.
  void sh(const std::string& command) const;
  // Its stdout (no failure check).
  std::string output(const std::string& command) const;

 private:
  std::string name_;
};

class Entered {
 public:
  explicit Entered(const ScratchNamespace& ns);
  ~Entered();
  Entered(const Entered&) = delete;
  Entered& operator=(const Entered&) = delete;

 private:
  int original_ = -1;
};

// A command run on the host side (`ip link add ... netns X`); throws when it fails.
void hostSh(const std::string& command);

}  // namespace kite::netlink::testing
