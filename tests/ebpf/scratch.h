#pragma once
// Throw-away places for the eBPF tests, so they never act on the host's own sockets or pins:
// a cgroup v2 child the test's client processes are moved into (the programs attach there,
// not at the root), and a pin directory of their own in bpffs. Both removed on destruction.

#include <cstddef>
#include <string>

namespace kite::ebpf::testing {

class TestCgroup {
 public:
  TestCgroup();  // <cgroup v2 root>/kite-test-XXXXXX
  ~TestCgroup();
  TestCgroup(const TestCgroup&) = delete;
  TestCgroup& operator=(const TestCgroup&) = delete;

  const std::string& path() const { return path_; }
  // A shell command line that runs `command` (a plain program and its arguments, no quotes)
  // with its process moved into this cgroup first.
  std::string wrap(const std::string& command) const;

 private:
  std::string path_;
};

class TestPinDir {
 public:
  TestPinDir();  // /sys/fs/bpf/kite-test-XXXXXX (bpffs mounted if needed)
  ~TestPinDir();
  TestPinDir(const TestPinDir&) = delete;
  TestPinDir& operator=(const TestPinDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A command's stdout.
std::string capture(const std::string& command);

// The backends held for the Services pinned in `pinDir` (a second loader takes a look): the
// elements of kite_backends, and the lists kept inline in Service elements, once a generation
// (the addresses of one Service port share it).
struct HeldBackends {
  std::size_t inMap = 0;
  std::size_t inlined = 0;
  std::size_t total() const { return inMap + inlined; }
};
HeldBackends heldBackends(const std::string& pinDir, const std::string& cgroup);

}  // namespace kite::ebpf::testing
