#include "kite/ebpf/sock_lb.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <vector>

#include "kite/ebpf/bpffs.h"
#include "sock_lb.skel.h"

namespace kite::ebpf {

namespace {

// libbpf's warnings (the verifier's log among them) go to the agent's log, not stderr.
__attribute__((format(printf, 2, 0))) int logLibbpf(libbpf_print_level level, const char* format,
                                                    va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  std::array<char, 1024> line{};
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(line.data(), line.size(), format, copy);
  va_end(copy);
  std::string text(line.data());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (level == LIBBPF_WARN) {
    spdlog::warn("libbpf: {}", text);
  } else {
    spdlog::debug("libbpf: {}", text);
  }
  return n;
}

std::string errorText(int err) { return std::strerror(err < 0 ? -err : err); }

std::string permissionHint(int err) {
  if (err == -EPERM || err == EPERM || err == -EACCES || err == EACCES) {
    return " (needs root, or CAP_BPF with CAP_NET_ADMIN and CAP_PERFMON)";
  }
  return "";
}

struct SkeletonDeleter {
  void operator()(sock_lb* skel) const { sock_lb__destroy(skel); }
};
struct LinkDeleter {
  void operator()(bpf_link* link) const { bpf_link__destroy(link); }
};
using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

struct SockLb::Impl {
  std::unique_ptr<sock_lb, SkeletonDeleter> skel;
  std::vector<LinkPtr> links;  // destroyed before the skeleton (declared after it)

  void load(const SockLbOptions& options);
  void pinMaps(const std::string& dir) const;
  void attach(bpf_program* program, int cgroupFd, const std::string& pinPath);
};

void SockLb::Impl::pinMaps(const std::string& dir) const {
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, skel->obj) {
    const std::string path = dir + "/" + bpf_map__name(map);
    if (const int err = bpf_map__set_pin_path(map, path.c_str()); err != 0) {
      throw LoadError("eBPF proxy: cannot pin map at " + path + ": " + errorText(err));
    }
  }
}

void SockLb::Impl::attach(bpf_program* program, int cgroupFd, const std::string& pinPath) {
  const std::string name = bpf_program__name(program);
  if (std::filesystem::exists(pinPath)) {
    // Attached by an earlier run: swap this run's program in, atomically.
    LinkPtr link(bpf_link__open(pinPath.c_str()));
    if (!link) {
      throw LoadError("eBPF proxy: cannot open the pinned link " + pinPath + ": " +
                      errorText(errno));
    }
    if (const int err = bpf_link__update_program(link.get(), program); err != 0) {
      throw LoadError("eBPF proxy: cannot replace the program of " + pinPath + ": " +
                      errorText(err));
    }
    links.push_back(std::move(link));
    return;
  }
  LinkPtr link(bpf_program__attach_cgroup(program, cgroupFd));
  if (!link) {
    const int err = errno;
    throw LoadError("eBPF proxy: cannot attach " + name + " to the cgroup: " + errorText(err) +
                    permissionHint(err));
  }
  if (const int err = bpf_link__pin(link.get(), pinPath.c_str()); err != 0) {
    throw LoadError("eBPF proxy: cannot pin the link of " + name + " at " + pinPath + ": " +
                    errorText(err));
  }
  links.push_back(std::move(link));
}

void SockLb::Impl::load(const SockLbOptions& options) {
  static std::once_flag printer;
  std::call_once(printer, [] { libbpf_set_print(logLibbpf); });

  if (!std::filesystem::exists("/sys/kernel/btf/vmlinux")) {
    throw LoadError(
        "eBPF proxy: the kernel has no BTF (/sys/kernel/btf/vmlinux is missing; needs "
        "CONFIG_DEBUG_INFO_BTF)");
  }
  std::string cgroup = options.cgroup;
  try {
    if (cgroup.empty()) cgroup = cgroup2Root();
    ensureBpffs(std::filesystem::path(options.pinDir).parent_path().string());
  } catch (const std::runtime_error& e) {
    throw LoadError(std::string("eBPF proxy: ") + e.what());
  }
  std::error_code ec;
  std::filesystem::create_directories(options.pinDir, ec);
  if (ec) {
    throw LoadError("eBPF proxy: cannot create " + options.pinDir + ": " + ec.message());
  }
  const Fd cgroupFd(open(cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (cgroupFd.get() < 0) {
    throw LoadError("eBPF proxy: cannot open the cgroup v2 directory " + cgroup + ": " +
                    errorText(errno));
  }

  skel.reset(sock_lb__open());
  if (!skel) {
    throw LoadError("eBPF proxy: cannot open the BPF object: " + errorText(errno));
  }
  pinMaps(options.pinDir);
  // Pinned by an earlier run: libbpf refuses them with EINVAL when their layout differs.
  const bool hadPins = std::filesystem::exists(options.pinDir + "/kite_services");
  if (const int err = sock_lb__load(skel.get()); err != 0) {
    std::string hint;
    if (err == -EINVAL) {
      hint = hadPins ? " (maps pinned in " + options.pinDir +
                           " by another version? `kite proxy --cleanup`)"
                     : " (the verifier's log is in the log above)";
    }
    throw LoadError("eBPF proxy: loading the socket load-balancing programs failed: " +
                    errorText(err) + permissionHint(err) + hint);
  }
  // All hooks or none: links this load pinned are unpinned again when a later one fails, so a
  // failed start leaves no half-translating dataplane behind.
  std::vector<std::string> pinnedHere;
  try {
    bpf_program* program = nullptr;
    bpf_object__for_each_program(program, skel->obj) {
      const std::string path = options.pinDir + "/link_" + std::string(bpf_program__name(program));
      const bool existed = std::filesystem::exists(path);
      attach(program, cgroupFd.get(), path);
      if (!existed) pinnedHere.push_back(path);
    }
  } catch (const LoadError&) {
    for (const auto& path : pinnedHere) unlink(path.c_str());
    links.clear();  // closing the last descriptor of an unpinned link detaches it
    throw;
  }
}

SockLb::SockLb(const SockLbOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->load(options);
}

SockLb::~SockLb() = default;

Map<kite_service_key, kite_service_value> SockLb::services() const {
  return {bpf_map__fd(impl_->skel->maps.kite_services), "kite_services"};
}
Map<kite_backend_key, kite_backend> SockLb::backends() const {
  return {bpf_map__fd(impl_->skel->maps.kite_backends), "kite_backends"};
}
Map<kite_member_key, __u32> SockLb::members() const {
  return {bpf_map__fd(impl_->skel->maps.kite_members), "kite_members"};
}
Map<__u32, kite_maglev_table> SockLb::maglev() const {
  return {bpf_map__fd(impl_->skel->maps.kite_maglev), "kite_maglev"};
}
Map<kite_affinity_key, kite_affinity_value> SockLb::affinity() const {
  return {bpf_map__fd(impl_->skel->maps.kite_affinity), "kite_affinity"};
}
Map<kite_revnat_key, kite_revnat_value> SockLb::revnat() const {
  return {bpf_map__fd(impl_->skel->maps.kite_revnat), "kite_revnat"};
}

int SockLb::programFd(const std::string& name) const {
  bpf_program* program = bpf_object__find_program_by_name(impl_->skel->obj, name.c_str());
  return program == nullptr ? -1 : bpf_program__fd(program);
}

bool SockLb::removePinned(const std::string& pinDir) { return removePinDir(pinDir); }

}  // namespace kite::ebpf
