#include "kite/kubelet/seccomp_profile.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <seccomp.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string_view>

#include "kite/kubelet/container_env.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;

namespace {

// The action, architecture and operator names of the OCI runtime spec.
constexpr std::array<std::string_view, 9> kActions = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY"};
constexpr std::array<std::string_view, 19> kArchitectures = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64"};
constexpr std::array<std::string_view, 7> kOperators = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};

// System calls newer than Debian 12's libseccomp (2.5.4, whose table ends
// with Linux 6.7's futex_requeue) that current docker/moby default profiles
// already list. Without them a copy of such a profile would be refused
// although runc accepts it.
constexpr std::array<std::string_view, 12> kNewerSyscalls = {
    "statmount",        "listmount",     "lsm_get_self_attr", "lsm_set_self_attr",
    "lsm_list_modules", "mseal",         "setxattrat",        "getxattrat",
    "listxattrat",      "removexattrat", "open_tree_attr",    "uretprobe"};

template <std::size_t N>
bool oneOf(const std::array<std::string_view, N>& names, std::string_view value) {
  for (auto name : names) {
    if (name == value) return true;
  }
  return false;
}

bool knownSyscall(const std::string& name) {
  // Names of other architectures resolve to libseccomp's negative pseudo
  // numbers, so an arm-only entry in a multi-arch profile is accepted too.
  return seccomp_syscall_resolve_name(name.c_str()) != __NR_SCMP_ERROR ||
         oneOf(kNewerSyscalls, name);
}

class ProfileChecker {
 public:
  explicit ProfileChecker(const std::filesystem::path& file) : file_(file.string()) {}

  void check(const rapidjson::Value& root) const {
    if (!root.IsObject()) fail("the profile is not a JSON object");
    const auto defaultAction = root.FindMember("defaultAction");
    if (defaultAction == root.MemberEnd()) fail("defaultAction is missing");
    checkAction(defaultAction->value, "defaultAction");
    if (const auto archs = root.FindMember("architectures"); archs != root.MemberEnd()) {
      checkArchitectures(archs->value, "architectures");
    }
    if (const auto archMap = root.FindMember("archMap"); archMap != root.MemberEnd()) {
      // docker's format; containerd ignores it, but a profile that has it is
      // meant to be right.
      const auto& list = array(archMap->value, "archMap");
      for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
        const std::string where = "archMap[" + std::to_string(i) + "]";
        const auto& entry = object(list[i], where);
        if (const auto a = entry.FindMember("architecture"); a != entry.MemberEnd()) {
          checkArchitecture(a->value, where + ".architecture");
        }
        if (const auto s = entry.FindMember("subArchitectures"); s != entry.MemberEnd()) {
          checkArchitectures(s->value, where + ".subArchitectures");
        }
      }
    }
    if (const auto syscalls = root.FindMember("syscalls"); syscalls != root.MemberEnd()) {
      if (syscalls->value.IsNull()) return;
      const auto& list = array(syscalls->value, "syscalls");
      for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
        checkSyscallRule(list[i], "syscalls[" + std::to_string(i) + "]");
      }
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw ContainerConfigError("seccomp profile " + file_ + ": " + what);
  }

 private:
  const rapidjson::Value& array(const rapidjson::Value& v, const std::string& where) const {
    if (!v.IsArray()) fail(where + " is not an array");
    return v;
  }

  const rapidjson::Value& object(const rapidjson::Value& v, const std::string& where) const {
    if (!v.IsObject()) fail(where + " is not an object");
    return v;
  }

  std::string string(const rapidjson::Value& v, const std::string& where) const {
    if (!v.IsString()) fail(where + " is not a string");
    return {v.GetString(), v.GetStringLength()};
  }

  void checkAction(const rapidjson::Value& v, const std::string& where) const {
    const std::string action = string(v, where);
    if (!oneOf(kActions, action)) fail("unknown action \"" + action + "\" in " + where);
  }

  void checkArchitecture(const rapidjson::Value& v, const std::string& where) const {
    const std::string arch = string(v, where);
    if (!oneOf(kArchitectures, arch)) fail("unknown architecture \"" + arch + "\" in " + where);
  }

  void checkArchitectures(const rapidjson::Value& v, const std::string& where) const {
    if (v.IsNull()) return;
    const auto& list = array(v, where);
    for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
      checkArchitecture(list[i], where + "[" + std::to_string(i) + "]");
    }
  }

  void checkSyscallName(const rapidjson::Value& v, const std::string& where) const {
    const std::string name = string(v, where);
    if (!knownSyscall(name)) fail("unknown syscall \"" + name + "\" in " + where);
  }

  void checkSyscallRule(const rapidjson::Value& v, const std::string& where) const {
    const auto& rule = object(v, where);
    bool named = false;
    if (const auto names = rule.FindMember("names"); names != rule.MemberEnd()) {
      const auto& list = array(names->value, where + ".names");
      for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
        checkSyscallName(list[i], where + ".names[" + std::to_string(i) + "]");
      }
      named = !list.Empty();
    }
    if (const auto name = rule.FindMember("name"); name != rule.MemberEnd()) {
      checkSyscallName(name->value, where + ".name");  // docker's older single-name form
      named = true;
    }
    if (!named) fail(where + " names no syscall");
    const auto action = rule.FindMember("action");
    if (action == rule.MemberEnd()) fail(where + ".action is missing");
    checkAction(action->value, where + ".action");
    if (const auto args = rule.FindMember("args");
        args != rule.MemberEnd() && !args->value.IsNull()) {
      const auto& list = array(args->value, where + ".args");
      for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
        const std::string argWhere = where + ".args[" + std::to_string(i) + "]";
        const auto& arg = object(list[i], argWhere);
        const auto op = arg.FindMember("op");
        const std::string opWhere = argWhere + ".op";
        if (op == arg.MemberEnd()) fail(opWhere + " is missing");
        const std::string opName = string(op->value, opWhere);
        if (!oneOf(kOperators, opName)) {
          std::string message = "unknown operator \"";
          message.append(opName).append("\" in ").append(opWhere);
          fail(message);
        }
      }
    }
  }

  std::string file_;
};

cri::v1::SecurityProfile profileFor(const corev1::SeccompProfile& profile,
                                    const std::filesystem::path& root) {
  cri::v1::SecurityProfile out;
  if (profile.type == corev1::SeccompProfileType::RuntimeDefault) {
    out.set_profile_type(cri::v1::SecurityProfile::RuntimeDefault);
  } else if (profile.type == corev1::SeccompProfileType::Localhost) {
    if (!profile.localhostProfile || profile.localhostProfile->empty()) {
      throw ContainerConfigError(
          "localhostProfile must be set if seccompProfile type is Localhost.");
    }
    // Joined as a relative path (Go's filepath.Join), even if it starts with /.
    const auto file = (root / std::filesystem::path(*profile.localhostProfile).relative_path())
                          .lexically_normal();
    checkLocalhostProfile(file);
    out.set_profile_type(cri::v1::SecurityProfile::Localhost);
    out.set_localhost_ref(file.string());
  } else {
    out.set_profile_type(cri::v1::SecurityProfile::Unconfined);  // also unknown types
  }
  return out;
}

}  // namespace

void checkLocalhostProfile(const std::filesystem::path& file) {
  const ProfileChecker checker(file);
  std::ifstream in(file, std::ios::binary);
  if (!in) checker.fail(std::string("cannot read: ") + std::strerror(errno));
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) checker.fail(std::string("cannot read: ") + std::strerror(errno));
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    checker.fail("invalid JSON at offset " + std::to_string(doc.GetErrorOffset()) + ": " +
                 rapidjson::GetParseError_En(doc.GetParseError()));
  }
  checker.check(doc);
}

cri::v1::SecurityProfile containerSeccompProfile(const corev1::Pod& pod,
                                                 const corev1::Container& container,
                                                 const std::filesystem::path& profileRoot,
                                                 bool seccompDefault) {
  if (container.securityContext && container.securityContext->seccompProfile) {
    return profileFor(*container.securityContext->seccompProfile, profileRoot);
  }
  if (pod.spec.securityContext && pod.spec.securityContext->seccompProfile) {
    return profileFor(*pod.spec.securityContext->seccompProfile, profileRoot);
  }
  cri::v1::SecurityProfile out;
  out.set_profile_type(seccompDefault ? cri::v1::SecurityProfile::RuntimeDefault
                                      : cri::v1::SecurityProfile::Unconfined);
  return out;
}

}  // namespace kite::kubelet
