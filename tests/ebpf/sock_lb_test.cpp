// The loader of the socket load-balancing programs against the real kernel: load, pin,
// attach to a cgroup of the test's own (never the root), survive the loader, go away on
// removePinned. Root only (CI runs as root). The traffic itself is tested in
// tests/proxy/ebpf_traffic_test.cpp.

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <set>

#include "kite/ebpf/sock_lb.h"
#include "scratch.h"

namespace kite::ebpf {
namespace {

using ::testing::HasSubstr;

// ENOTSUPP: the kernel's own "not supported", not in the userspace headers.
constexpr int kKernelNotSupported = 524;

class SockLbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to load BPF programs";
    cgroup_ = std::make_unique<testing::TestCgroup>();
    pins_ = std::make_unique<testing::TestPinDir>();
  }

  SockLbOptions options() const { return {.pinDir = pins_->path(), .cgroup = cgroup_->path()}; }

  std::set<std::string> pinned() const {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(pins_->path())) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }

  // The programs attached to the test's cgroup, as bpftool lists them.
  std::string attached() const {
    return testing::capture("bpftool cgroup show " + cgroup_->path() + " 2>&1");
  }

  static kite_service_key serviceKey(const char* ip, uint16_t port) {
    kite_service_key key{};
    key.addr[2] = htonl(0x0000ffff);  // IPv4-mapped, as maps.h keeps IPv4
    inet_pton(AF_INET, ip, &key.addr[3]);
    key.port = htons(port);
    key.proto = IPPROTO_TCP;
    return key;
  }

  std::unique_ptr<testing::TestCgroup> cgroup_;
  std::unique_ptr<testing::TestPinDir> pins_;
};

TEST_F(SockLbTest, PinsMapsAndLinksAndAttachesToTheGivenCgroup) {
  const SockLb lb(options());
  EXPECT_EQ(pinned(), (std::set<std::string>{
                          "kite_services", "kite_backends", "kite_members", "kite_maglev",
                          "kite_affinity", "kite_revnat", "kite_sock_revnat", "link_kite_connect4",
                          "link_kite_sendmsg4", "link_kite_recvmsg4", "link_kite_getpeername4",
                          "link_kite_connect6", "link_kite_sendmsg6", "link_kite_recvmsg6",
                          "link_kite_getpeername6", "link_kite_sock_release"}));
  const std::string programs = attached();
  EXPECT_THAT(programs, HasSubstr("kite_connect4"));
  EXPECT_THAT(programs, HasSubstr("kite_sendmsg4"));
  EXPECT_THAT(programs, HasSubstr("kite_recvmsg4"));
  EXPECT_THAT(programs, HasSubstr("kite_getpeername4"));
  EXPECT_THAT(programs, HasSubstr("kite_connect6"));
}

TEST_F(SockLbTest, TypedMapsWriteReadIterateAndDelete) {
  const SockLb lb(options());
  auto services = lb.services();
  const kite_service_key key = serviceKey("10.43.0.10", 80);
  EXPECT_FALSE(services.get(key).has_value());
  services.put(key, {.id = 7, .count = 2, .affinity_timeout = 0, .flags = 0, .backends = {}});
  ASSERT_TRUE(services.get(key).has_value());
  EXPECT_EQ(services.get(key)->id, 7U);
  EXPECT_EQ(services.keys().size(), 1U);
  EXPECT_TRUE(services.erase(key));
  EXPECT_FALSE(services.erase(key));
  EXPECT_TRUE(services.keys().empty());
}

TEST_F(SockLbTest, ProgramsAndMapsOutliveTheLoaderAndAreTakenOverByTheNext) {
  const kite_service_key key = serviceKey("10.43.0.10", 80);
  {
    const SockLb first(options());
    first.services().put(key,
                         {.id = 3, .count = 1, .affinity_timeout = 0, .flags = 0, .backends = {}});
  }
  // No loader now (an agent restarting): still attached, the element still there.
  EXPECT_THAT(attached(), HasSubstr("kite_connect4"));
  const SockLb second(options());
  ASSERT_TRUE(second.services().get(key).has_value());
  EXPECT_EQ(second.services().get(key)->id, 3U);
  // The new programs replaced the old ones in the same links: one of each, not two.
  const std::string programs = attached();
  EXPECT_EQ(programs.find("kite_connect4"), programs.rfind("kite_connect4")) << programs;
}

TEST_F(SockLbTest, RemovePinnedDetachesAndForgetsEverything) {
  { const SockLb lb(options()); }
  EXPECT_TRUE(SockLb::removePinned(pins_->path()));
  EXPECT_FALSE(std::filesystem::exists(pins_->path()));
  EXPECT_THAT(attached(), ::testing::Not(HasSubstr("kite_")));
  EXPECT_FALSE(SockLb::removePinned(pins_->path()));
}

TEST_F(SockLbTest, AMissingCgroupIsNamedAtLoad) {
  try {
    const SockLb lb({.pinDir = pins_->path(), .cgroup = cgroup_->path() + "/missing"});
    FAIL() << "loaded without a cgroup";
  } catch (const LoadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cgroup"));
    EXPECT_THAT(e.what(), HasSubstr("/missing"));
  }
}

// Run in a child process that dropped every capability (root without CAP_BPF/CAP_SYS_ADMIN,
// as in an unprivileged container): loading must fail and say what is needed.
TEST_F(SockLbTest, WithoutPrivilegeTheErrorSaysWhatIsNeeded) {
  std::array<int, 2> fds{};
  ASSERT_EQ(pipe(fds.data()), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    __user_cap_header_struct header{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    std::array<__user_cap_data_struct, 2> none{};
    std::string message = "capset failed";
    if (syscall(SYS_capset, &header, none.data()) == 0) {
      try {
        const SockLb lb(options());
        message = "loaded without privilege";
      } catch (const LoadError& e) {
        message = e.what();
      }
    }
    (void)!write(fds[1], message.data(), message.size());
    _exit(0);
  }
  close(fds[1]);
  std::string message;
  std::array<char, 1024> buf{};
  for (ssize_t n = 0; (n = read(fds[0], buf.data(), buf.size())) > 0;) {
    message.append(buf.data(), static_cast<std::size_t>(n));
  }
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  EXPECT_THAT(message, HasSubstr("Operation not permitted"));
  EXPECT_THAT(message, HasSubstr("needs root, or CAP_BPF"));
}

// BPF_PROG_TEST_RUN where the kernel offers it for cgroup sock_addr programs; kernels up to
// at least 6.18 answer ENOTSUPP, and the programs are covered by real traffic instead
// (tests/proxy/ebpf_traffic_test.cpp).
TEST_F(SockLbTest, ConnectUnderProgTestRunWhereTheKernelAllowsIt) {
  const SockLb lb(options());
  const kite_service_key key = serviceKey("10.43.0.10", 80);
  lb.backends().put(
      {.id = 1, .slot = 0},
      {.addr = {0, 0, htonl(0x0000ffff), htonl(0x0a2a0102)}, .port = htons(8080), .pad = 0});
  lb.services().put(key, {.id = 1, .count = 1, .affinity_timeout = 0, .flags = 0, .backends = {}});
  bpf_sock_addr ctx{};
  ctx.user_family = AF_INET;
  ctx.user_ip4 = key.addr[3];
  ctx.user_port = key.port;
  ctx.protocol = IPPROTO_TCP;
  LIBBPF_OPTS(bpf_test_run_opts, run);
  run.ctx_in = &ctx;
  run.ctx_size_in = sizeof(ctx);
  run.ctx_out = &ctx;
  run.ctx_size_out = sizeof(ctx);
  const int rc = bpf_prog_test_run_opts(lb.programFd("kite_connect4"), &run);
  if (rc == -kKernelNotSupported || rc == -EINVAL || rc == -EOPNOTSUPP) {
    GTEST_SKIP() << "BPF_PROG_TEST_RUN is not supported for cgroup/connect4 here";
  }
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(run.retval, 1U);
  EXPECT_EQ(ctx.user_ip4, htonl(0x0a2a0102));
}

}  // namespace
}  // namespace kite::ebpf
