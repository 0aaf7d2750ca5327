#pragma once
// Throw-away places for the eBPF tests, so they never act on the host's own sockets or pins:
// a cgroup v2 child the test's client processes are moved into (the programs attach there,
// not at the root), and a pin directory of their own in bpffs. Both removed on destruction.

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

}  // namespace kite::ebpf::testing
