#include "kite/kubelet/seccomp_profile.h"

#include <gtest/gtest.h>

#include "config_test_util.h"
#include "kite/kubelet/container_env.h"

namespace kite::kubelet {
namespace {

using testing::TempDir;

constexpr const char* kValidProfile = R"({
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 1,
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  "archMap": [{"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
  "syscalls": [
    {"names": ["read", "write", "openat", "exit_group", "futex_waitv"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["arm_fadvise64_64", "statmount"], "action": "SCMP_ACT_ALLOW",
     "includes": {"arches": ["arm"]}},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
    {"name": "ptrace", "action": "SCMP_ACT_LOG"}
  ]
})";

// The message of the ContainerConfigError that `file` raises, "" if none.
std::string problemWith(const std::filesystem::path& file) {
  try {
    checkLocalhostProfile(file);
  } catch (const ContainerConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(SeccompProfile, ValidProfileIsAccepted) {
  TempDir dir;
  EXPECT_EQ(problemWith(dir.write("ok.json", kValidProfile)), "");
}

TEST(SeccompProfile, UnknownSyscallIsRefusedWithItsNameAndPlace) {
  TempDir dir;
  const auto file = dir.write("typo.json", R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [
      {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["write"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["opne", "close"], "action": "SCMP_ACT_ERRNO"}
    ]})");
  EXPECT_EQ(problemWith(file), "seccomp profile " + file.string() +
                                   ": unknown syscall \"opne\" in syscalls[2].names[0]");
}

TEST(SeccompProfile, MissingFileIsRefusedWithThePath) {
  TempDir dir;
  const auto file = dir.path() / "absent.json";
  EXPECT_EQ(problemWith(file),
            "seccomp profile " + file.string() + ": cannot read: No such file or directory");
}

TEST(SeccompProfile, BadJsonIsRefusedWithThePath) {
  TempDir dir;
  const auto file = dir.write("bad.json", R"({"defaultAction": "SCMP_ACT_ALLOW",)");
  const std::string problem = problemWith(file);
  EXPECT_EQ(problem.rfind("seccomp profile " + file.string() + ": invalid JSON at offset", 0), 0U)
      << problem;
}

TEST(SeccompProfile, UnknownActionsAndArchitecturesAreRefused) {
  TempDir dir;
  EXPECT_NE(problemWith(dir.write("a.json", R"({"defaultAction": "SCMP_ACT_MAYBE"})"))
                .find("unknown action \"SCMP_ACT_MAYBE\" in defaultAction"),
            std::string::npos);
  EXPECT_NE(problemWith(dir.write("b.json", R"({"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["read"], "action": "ALLOW"}]})"))
                .find("unknown action \"ALLOW\" in syscalls[0].action"),
            std::string::npos);
  EXPECT_NE(problemWith(dir.write("c.json", R"({"defaultAction": "SCMP_ACT_ALLOW",
                "architectures": ["SCMP_ARCH_Z80"]})"))
                .find("unknown architecture \"SCMP_ARCH_Z80\" in architectures[0]"),
            std::string::npos);
  EXPECT_NE(
      problemWith(dir.write("d.json", R"({"syscalls": []})")).find("defaultAction is missing"),
      std::string::npos);
}

class ContainerSeccompTest : public ::testing::Test {
 protected:
  cri::v1::SecurityProfile profile(bool seccompDefault = false) {
    return containerSeccompProfile(pod_, pod_.spec.containers[0], dir_.path(), seccompDefault);
  }
  static api::core::v1::SeccompProfile of(const std::string& type,
                                          std::optional<std::string> localhost = std::nullopt) {
    api::core::v1::SeccompProfile p;
    p.type = type;
    p.localhostProfile = std::move(localhost);
    return p;
  }
  void setPod(const api::core::v1::SeccompProfile& p) {
    api::core::v1::PodSecurityContext sc;
    sc.seccompProfile = p;
    pod_.spec.securityContext = sc;
  }
  void setContainer(const api::core::v1::SeccompProfile& p) {
    api::core::v1::SecurityContext sc;
    sc.seccompProfile = p;
    pod_.spec.containers[0].securityContext = sc;
  }

  TempDir dir_;
  api::core::v1::Pod pod_ = testing::basicPod();
};

TEST_F(ContainerSeccompTest, UnconfinedUnlessAskedOrSeccompDefault) {
  EXPECT_EQ(profile().profile_type(), cri::v1::SecurityProfile::Unconfined);
  EXPECT_EQ(profile(true).profile_type(), cri::v1::SecurityProfile::RuntimeDefault);
}

TEST_F(ContainerSeccompTest, ContainerProfileOverridesThePods) {
  setPod(of("RuntimeDefault"));
  EXPECT_EQ(profile().profile_type(), cri::v1::SecurityProfile::RuntimeDefault);
  setContainer(of("Unconfined"));
  EXPECT_EQ(profile(true).profile_type(), cri::v1::SecurityProfile::Unconfined);
}

TEST_F(ContainerSeccompTest, LocalhostResolvesUnderTheProfileRootAndIsChecked) {
  const auto file = dir_.write("profiles/audit.json", kValidProfile);
  setContainer(of("Localhost", "profiles/audit.json"));
  const auto p = profile();
  EXPECT_EQ(p.profile_type(), cri::v1::SecurityProfile::Localhost);
  EXPECT_EQ(p.localhost_ref(), file.string());
  setContainer(of("Localhost", "profiles/missing.json"));
  EXPECT_THROW(profile(), ContainerConfigError);
  setContainer(of("Localhost"));
  EXPECT_THROW(profile(), ContainerConfigError);
}

}  // namespace
}  // namespace kite::kubelet
