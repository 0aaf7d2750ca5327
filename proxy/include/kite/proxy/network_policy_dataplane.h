#pragma once
// Applies NetworkPolicy rule text (network_policy_rules.h) through libnftables: one
// nft_run_cmd_from_buffer per call, so each sync is one atomic transaction. It acts on the
// network namespace of the thread that created it; it touches only `table inet kite-netpol`.

#include <string>

#include "kite/proxy/network_policy_state.h"
#include "kite/proxy/nft_context.h"

namespace kite::proxy::netpol {

class NftablesRunner {
 public:
  NftablesRunner();
  ~NftablesRunner();
  NftablesRunner(const NftablesRunner&) = delete;
  NftablesRunner& operator=(const NftablesRunner&) = delete;

  // Runs nft commands as one transaction; throws std::runtime_error with nft's message.
  void run(const std::string& commands);
  // `nft list table inet kite-netpol`, or "" when the table does not exist.
  std::string listTable();

  void syncAll(const State& state);
  void syncChanges(const State& applied, const State& next);
  void cleanup();

 private:
  NftContext nft_;
};

}  // namespace kite::proxy::netpol
