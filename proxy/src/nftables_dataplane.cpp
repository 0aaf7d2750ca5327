// libnftables: one nft_run_cmd_from_buffer per sync, so a sync is one atomic transaction.

#include "kite/proxy/nftables_dataplane.h"

#include <spdlog/spdlog.h>

#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fstream>
#include <stdexcept>

#include "kite/netlink/conntrack.h"
#include "kite/proxy/stale_conntrack.h"

namespace kite::proxy {

NftablesDataplane::NftablesDataplane(nft::RulesOptions options) : options_(std::move(options)) {}

NftablesDataplane::~NftablesDataplane() = default;

namespace {

// After the rules changed: UDP flows pinned by conntrack to endpoints that are gone would
// keep going there until they time out. A failure is logged, not fatal: the rules are right.
void deleteStaleConntrack(const StaleConntrack& stale) {
  if (stale.empty()) return;
  try {
    netlink::Conntrack conntrack;
    const auto pick = [&](const netlink::ConntrackEntry& e) {
      return e.protocol == IPPROTO_UDP &&
             stale.matches(e.original.destination, e.original.destinationPort, e.reply.source,
                           e.reply.sourcePort);
    };
    std::size_t deleted = 0;
    if (stale.ipv4()) deleted += conntrack.removeIf(AF_INET, pick);
    if (stale.ipv6()) deleted += conntrack.removeIf(AF_INET6, pick);
    if (deleted > 0) spdlog::debug("proxy: deleted {} stale UDP conntrack entries", deleted);
  } catch (const std::exception& e) {
    spdlog::warn("proxy: cannot delete stale UDP conntrack entries: {}", e.what());
  }
}

// NodePorts on 127.0.0.1: DNATed loopback traffic may only leave lo with route_localnet
// (the sysctl is per network namespace). kube-proxy's iptables mode sets it the same way.
void enableRouteLocalnet() {
  const char* path = "/proc/sys/net/ipv4/conf/all/route_localnet";
  std::ofstream file(path);
  file << "1\n";
  file.flush();
  if (!file) spdlog::warn("proxy: cannot set {}: NodePorts on 127.0.0.1 will not answer", path);
}

}  // namespace

void NftablesDataplane::run(const std::string& commands) { nft_.run(commands); }

std::string NftablesDataplane::listTable() { return nft_.listTable(nft::kFamily, nft::kTable); }

void NftablesDataplane::syncAll(const DesiredState& state) {
  hairpin_.reset();
  if (nft::localhostNodePorts(options_)) enableRouteLocalnet();
  run(nft::renderFull(state, options_));
  hairpin_.emplace(state);
  // libnftables parsed the whole table (about 2 KiB a Service port) and freed it again; give
  // those pages back to the system instead of keeping the peak for the process's life.
  malloc_trim(0);
  deleteStaleConntrack(StaleConntrack(nullptr, state));
  spdlog::debug("nftables: full sync of {} service ports", state.services.size());
}

void NftablesDataplane::syncChanges(const DesiredState& applied, const DesiredState& next) {
  // The states are compared once: the stale conntrack entries follow from the changed ports
  // alone (a changed port is in both halves, a removed one only in `before`).
  applyChanges(applied, nft::changedPorts(applied, next));
}

void NftablesDataplane::syncChangedKeys(const DesiredState& applied, const DesiredState& next,
                                        const std::vector<std::string>& keys) {
  applyChanges(applied, nft::changedPorts(applied, next, keys));
}

void NftablesDataplane::applyChanges(const DesiredState& applied,
                                     const nft::ChangedPorts& changed) {
  if (changed.before.services.empty() && changed.after.services.empty()) return;
  if (!hairpin_) hairpin_.emplace(applied);
  hairpin_->remove(changed.before);
  hairpin_->add(changed.after);
  try {
    run(nft::renderChanges(changed, *hairpin_, options_));
  } catch (...) {
    hairpin_.reset();  // the table is as before; the next sync recounts
    throw;
  }
  deleteStaleConntrack(StaleConntrack(&changed.before, changed.after));
}

void NftablesDataplane::cleanup() {
  hairpin_.reset();
  run(nft::renderCleanup());
}

}  // namespace kite::proxy
