// Maps pinned by another version of kite (another layout) are refused at load with an error
// that says how to remove them, and once removed the load succeeds. Root only.

#include <bpf/bpf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>

#include "kite/ebpf/sock_lb.h"
#include "scratch.h"

namespace kite::ebpf {
namespace {

using ::testing::HasSubstr;

TEST(SockLbPins, MapsOfAnIncompatibleLayoutAreRefusedWithTheWayOut) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to load BPF programs";
  const testing::TestCgroup cgroup;
  const testing::TestPinDir pins;
  // kite_services as the IPv4-only version pinned it: 8-byte keys, 16-byte values.
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
  const int fd =
      bpf_map_create(BPF_MAP_TYPE_HASH, "kite_services", 8, 16, KITE_MAX_SERVICES, &opts);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(bpf_obj_pin(fd, (pins.path() + "/kite_services").c_str()), 0);
  close(fd);

  try {
    const SockLb lb({.pinDir = pins.path(), .cgroup = cgroup.path()});
    FAIL() << "loaded over maps of another layout";
  } catch (const LoadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("by another version"));
    EXPECT_THAT(e.what(), HasSubstr("kite proxy --cleanup"));
  }
  // Nothing was attached by the failed load.
  EXPECT_THAT(testing::capture("bpftool cgroup show " + cgroup.path() + " 2>&1"),
              ::testing::Not(HasSubstr("kite_")));

  EXPECT_TRUE(SockLb::removePinned(pins.path()));
  const SockLb lb({.pinDir = pins.path(), .cgroup = cgroup.path()});
  EXPECT_EQ(lb.services().keys().size(), 0U);
}

}  // namespace
}  // namespace kite::ebpf
