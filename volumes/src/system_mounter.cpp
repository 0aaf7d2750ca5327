// The real Mounter: mount(2) and umount2(2) directly, no mount(8) binary, so
// there is no option parsing by a helper and nothing to canonicalize paths
// behind our back (subPath bind mounts rely on /proc/self/fd/N sources).

#include <sys/mount.h>

#include <array>
#include <cerrno>
#include <string_view>

#include "fs_util.h"
#include "kite/volumes/error.h"
#include "kite/volumes/mounter.h"

namespace kite::volumes {

namespace {

struct FlagOption {
  std::string_view name;
  unsigned long set;
  unsigned long clear;
};

constexpr std::array<FlagOption, 13> kFlagOptions{{
    {"defaults", 0, 0},
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"bind", MS_BIND, 0},
    {"rbind", MS_BIND | MS_REC, 0},
    {"nosuid", MS_NOSUID, 0},
    {"nodev", MS_NODEV, 0},
    {"noexec", MS_NOEXEC, 0},
    {"noatime", MS_NOATIME, 0},
    {"nodiratime", MS_NODIRATIME, 0},
    {"relatime", MS_RELATIME, 0},
    {"sync", MS_SYNCHRONOUS, 0},
    {"remount", MS_REMOUNT, 0},
}};

// Propagation changes need a mount(2) call of their own.
constexpr std::array<FlagOption, 8> kPropagationOptions{{
    {"private", MS_PRIVATE, 0},
    {"rprivate", MS_PRIVATE | MS_REC, 0},
    {"slave", MS_SLAVE, 0},
    {"rslave", MS_SLAVE | MS_REC, 0},
    {"shared", MS_SHARED, 0},
    {"rshared", MS_SHARED | MS_REC, 0},
    {"unbindable", MS_UNBINDABLE, 0},
    {"runbindable", MS_UNBINDABLE | MS_REC, 0},
}};

template <std::size_t N>
const FlagOption* findOption(const std::array<FlagOption, N>& table, std::string_view name) {
  for (const auto& option : table) {
    if (option.name == name) {
      return &option;
    }
  }
  return nullptr;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) {
      out += ',';
    }
    out += part;
  }
  return out;
}

[[noreturn]] void throwMountError(int err, const std::string& source, const std::string& target,
                                  const std::string& fsType,
                                  const std::vector<std::string>& options) {
  throw VolumeError(Reason::kInternal,
                    "mount failed: " + detail::errnoText(err) +
                        "\nMounting arguments: " + (fsType.empty() ? "" : "-t " + fsType + " ") +
                        (options.empty() ? "" : "-o " + join(options) + " ") + source + " " +
                        target,
                    "", err);
}

class SystemMounter final : public Mounter {
 public:
  void mount(const std::string& source, const std::string& target, const std::string& fsType,
             const std::vector<std::string>& options) override {
    unsigned long flags = 0;
    unsigned long propagation = 0;
    std::vector<std::string> data;
    for (const auto& option : options) {
      if (const auto* flag = findOption(kFlagOptions, option)) {
        flags = (flags | flag->set) & ~flag->clear;
      } else if (const auto* prop = findOption(kPropagationOptions, option)) {
        propagation |= prop->set;
      } else {
        data.push_back(option);
      }
    }
    const std::string dataText = join(data);
    const bool bind = (flags & MS_BIND) != 0;
    // The kernel ignores MS_RDONLY and friends on the first bind mount call;
    // they take effect on a remount of the bind, as mount(8) does it.
    const unsigned long first = bind ? (flags & (MS_BIND | MS_REC | MS_REMOUNT)) : flags;
    if (::mount(source.c_str(), target.c_str(), fsType.empty() ? nullptr : fsType.c_str(), first,
                dataText.empty() ? nullptr : dataText.c_str()) != 0) {
      throwMountError(errno, source, target, fsType, options);
    }
    const unsigned long rest = flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (bind && rest != 0 && (flags & MS_REMOUNT) == 0) {
      if (::mount("", target.c_str(), nullptr, MS_BIND | MS_REMOUNT | rest, nullptr) != 0) {
        const int err = errno;
        ::umount2(target.c_str(), UMOUNT_NOFOLLOW);
        throwMountError(err, source, target, fsType, options);
      }
    }
    if (propagation != 0 && ::mount("", target.c_str(), nullptr, propagation, nullptr) != 0) {
      const int err = errno;
      ::umount2(target.c_str(), UMOUNT_NOFOLLOW);
      throwMountError(err, source, target, fsType, options);
    }
  }

  void unmount(const std::string& target) override {
    // UMOUNT_NOFOLLOW: a user who can write inside a volume must not be able
    // to turn the target into a symlink and make us unmount something else.
    if (::umount2(target.c_str(), UMOUNT_NOFOLLOW) != 0) {
      const int err = errno;
      throw VolumeError(
          err == ENOENT ? Reason::kNotFound : Reason::kInternal,
          "unmount failed: " + detail::errnoText(err) + "\nUnmounting arguments: " + target, "",
          err);
    }
  }

  std::vector<MountInfo> listMounts() override { return readMountInfo(); }

  bool isMountPoint(const std::string& path) override {
    // A dangling symlink is no mount point either.
    if (!detail::statIfExists(path)) {
      return false;
    }
    const std::string canonical = detail::realPath(path);
    for (const auto& mount : readMountInfo()) {
      if (mount.mountPoint == canonical) {
        return true;
      }
    }
    return false;
  }
};

}  // namespace

std::unique_ptr<Mounter> newSystemMounter() { return std::make_unique<SystemMounter>(); }

}  // namespace kite::volumes
