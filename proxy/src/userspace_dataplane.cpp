// The userspace dataplane: Service addresses on a dummy link, and a ServicePortForwarder per
// Service port, all driven from one event loop.

#include "kite/proxy/userspace_dataplane.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <stdexcept>
#include <system_error>

#include "kite/netlink/links.h"
#include "userspace_event_loop.h"
#include "userspace_service_port.h"
#include "userspace_socket.h"

namespace kite::proxy {

using userspace::Clock;
using userspace::ServicePortForwarder;

namespace {

// Often enough for the UDP idle timeout and connect timeouts, rare enough to cost nothing.
constexpr std::chrono::milliseconds kTick{100};

userspace::ForwarderOptions forwarderOptions(const UserspaceOptions& options) {
  userspace::ForwarderOptions out;
  out.link = options.link;
  out.udpIdleTimeout = options.udpIdleTimeout;
  for (const auto& cidr : options.nodePortAddresses) {
    out.nodePortAddresses.push_back(userspace::parseCidr(cidr, "--nodeport-addresses"));
  }
  return out;
}

// An address of either family as the prefix of itself alone. IPv6 ones are added without
// duplicate address detection (netlink::Links), so listeners can bind them at once.
std::string hostPrefix(const std::string& ip) {
  return ip + (ip.find(':') != std::string::npos ? "/128" : "/32");
}

// The addresses a Service port puts on the link (IPv6 literals are canonical in the state,
// as the link lists them).
std::set<std::string> addressesOf(const ServicePortState& state) {
  std::set<std::string> out{state.clusterIP};
  out.insert(state.externalIPs.begin(), state.externalIPs.end());
  return out;
}

}  // namespace

class UserspaceDataplane::Impl {
 public:
  explicit Impl(UserspaceOptions options)
      : options_(std::move(options)),
        forwarding_(forwarderOptions(options_)),
        loop_(kTick, [this] { tick(); }) {
    loop_.run([this] {
      links_ = std::make_unique<netlink::Links>();
      ensureLink();
    });
  }

  ~Impl() {
    try {
      loop_.run([this] {
        ports_.clear();
        loop_.releaseAll();
      });
    } catch (const std::exception& e) {
      spdlog::warn("userspace proxy: stopping: {}", e.what());
    }
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void syncAll(const DesiredState& state) {
    loop_.run([&] {
      ensureLink();
      std::vector<std::string> errors;
      std::vector<std::string> gone;
      for (const auto& [key, forwarder] : ports_) {
        if (!state.services.contains(key)) gone.push_back(key);
      }
      for (const auto& key : gone) applyPort(key, nullptr, errors);
      for (const auto& [key, port] : state.services) applyPort(key, &port, errors);
      // The link as it is: addresses someone removed come back, an earlier run's go.
      std::set<std::string> present;
      for (const auto& cidr : links_->addresses(options_.link)) {
        if (cidr.starts_with("fe80:")) continue;  // the kernel's IPv6 link-local address
        const std::string ip = cidr.substr(0, cidr.find('/'));
        present.insert(ip);
        if (!addressUses_.contains(ip)) links_->removeAddress(options_.link, cidr);
      }
      for (const auto& [ip, uses] : addressUses_) {
        if (!present.contains(ip)) links_->addAddress(options_.link, hostPrefix(ip));
      }
      finish(errors);
    });
  }

  void syncChanges(const DesiredState& applied, const DesiredState& next) {
    loop_.run([&] {
      std::vector<std::string> errors;
      for (const auto& [key, port] : applied.services) {
        if (!next.services.contains(key)) applyPort(key, nullptr, errors);
      }
      for (const auto& [key, port] : next.services) {
        const auto before = applied.services.find(key);
        if (before == applied.services.end() || !(before->second == port)) {
          applyPort(key, &port, errors);
        }
      }
      finish(errors);
    });
  }

  void cleanup() {
    loop_.run([this] {
      ports_.clear();
      addressUses_.clear();
      loop_.releaseAll();
      links_->remove(options_.link);
    });
  }

  std::size_t openConnections() {
    std::size_t n = 0;
    loop_.run([&] { n = loop_.adopted(); });
    return n;
  }

 private:
  void ensureLink() {
    const auto existing = links_->find(options_.link);
    const auto& kinds = options_.linkKinds;
    if (!existing || std::find(kinds.begin(), kinds.end(), existing->kind) == kinds.end()) {
      addLink();
    }
    links_->setUp(options_.link);
  }

  void addLink() {
    for (std::size_t i = 0; i < options_.linkKinds.size(); ++i) {
      try {
        links_->add(options_.link, options_.linkKinds[i]);
        if (i > 0) {
          spdlog::info("userspace proxy: Service addresses on {} link {} (no {} links here)",
                       options_.linkKinds[i], options_.link, options_.linkKinds[0]);
        }
        return;
      } catch (const std::system_error& e) {
        if (e.code().value() != EOPNOTSUPP || i + 1 == options_.linkKinds.size()) throw;
      }
    }
    throw std::invalid_argument("userspace proxy: no link kinds to try");
  }

  // Moves one Service port to `next` (nullptr: gone), adding its addresses before its
  // listeners bind them and removing the old ones after.
  void applyPort(const std::string& key, const ServicePortState* next,
                 std::vector<std::string>& errors) {
    auto it = ports_.find(key);
    if (next == nullptr) {
      if (it == ports_.end()) return;
      const auto old = addressesOf(it->second->state());
      ports_.erase(it);
      release(old, errors);
      return;
    }
    if (it != ports_.end() && it->second->state() == *next && it->second->complete()) return;
    std::set<std::string> old;
    if (it == ports_.end()) {
      it = ports_.emplace(key, std::make_unique<ServicePortForwarder>(loop_, forwarding_)).first;
    } else {
      old = addressesOf(it->second->state());
    }
    const auto wanted = addressesOf(*next);
    try {
      for (const auto& ip : wanted) acquire(ip);
    } catch (const std::exception& e) {
      errors.push_back(key + ": " + e.what());
    }
    for (auto& error : it->second->apply(*next)) errors.push_back(std::move(error));
    release(old, errors);
  }

  void acquire(const std::string& ip) {
    if (addressUses_[ip]++ == 0) {
      try {
        links_->addAddress(options_.link, hostPrefix(ip));
      } catch (...) {
        addressUses_.erase(ip);
        throw;
      }
    }
  }

  void release(const std::set<std::string>& ips, std::vector<std::string>& errors) {
    for (const auto& ip : ips) {
      const auto it = addressUses_.find(ip);
      if (it == addressUses_.end() || --it->second > 0) continue;
      addressUses_.erase(it);
      try {
        links_->removeAddress(options_.link, hostPrefix(ip));
      } catch (const std::exception& e) {
        errors.push_back(ip + ": " + e.what());
      }
    }
  }

  static void finish(const std::vector<std::string>& errors) {
    if (errors.empty()) return;
    std::string message = "userspace proxy: " + std::to_string(errors.size()) + " failed: ";
    for (std::size_t i = 0; i < errors.size(); ++i) message += (i > 0 ? "; " : "") + errors[i];
    throw std::runtime_error(message);
  }

  void tick() {
    const auto now = Clock::now();
    for (auto& [key, forwarder] : ports_) forwarder->tick(now);
  }

  // Touched on the loop thread only; declared before loop_ so the thread stops first.
  UserspaceOptions options_;
  userspace::ForwarderOptions forwarding_;
  std::unique_ptr<netlink::Links> links_;
  std::map<std::string, std::unique_ptr<ServicePortForwarder>> ports_;
  std::map<std::string, int> addressUses_;
  userspace::EventLoop loop_;
};

UserspaceDataplane::UserspaceDataplane(UserspaceOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
UserspaceDataplane::~UserspaceDataplane() = default;

void UserspaceDataplane::syncAll(const DesiredState& state) { impl_->syncAll(state); }
void UserspaceDataplane::syncChanges(const DesiredState& applied, const DesiredState& next) {
  impl_->syncChanges(applied, next);
}
void UserspaceDataplane::cleanup() { impl_->cleanup(); }
std::size_t UserspaceDataplane::openConnections() { return impl_->openConnections(); }

bool UserspaceDataplane::removeLink(const std::string& link) {
  return netlink::Links().remove(link);
}

}  // namespace kite::proxy
