// libnftables for the NetworkPolicy table: one nft_run_cmd_from_buffer per sync.

#include "kite/proxy/network_policy_dataplane.h"

#include <stdexcept>

#include "kite/proxy/network_policy_rules.h"

namespace kite::proxy::netpol {

NftablesRunner::NftablesRunner() = default;

NftablesRunner::~NftablesRunner() = default;

void NftablesRunner::run(const std::string& commands) { nft_.run(commands); }

std::string NftablesRunner::listTable() { return nft_.listTable(nft::kFamily, nft::kTable); }

void NftablesRunner::syncAll(const State& state) { run(nft::renderFull(state)); }

void NftablesRunner::syncChanges(const State& applied, const State& next) {
  run(nft::renderChanges(applied, next));
}

void NftablesRunner::cleanup() { run(nft::renderCleanup()); }

}  // namespace kite::proxy::netpol
