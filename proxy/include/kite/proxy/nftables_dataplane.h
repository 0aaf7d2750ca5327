#pragma once
// The nftables backend: runs the text of nft_rules.h through libnftables, one
// nft_run_cmd_from_buffer per sync, so every sync is one atomic transaction. It touches only
// `table inet kite-proxy`. Needs CAP_NET_ADMIN in the network namespace it runs in.

#include <string>

#include "kite/proxy/dataplane.h"
#include "kite/proxy/nft_context.h"
#include "kite/proxy/nft_rules.h"

namespace kite::proxy {

class NftablesDataplane final : public Dataplane {
 public:
  explicit NftablesDataplane(nft::RulesOptions options);
  ~NftablesDataplane() override;
  NftablesDataplane(const NftablesDataplane&) = delete;
  NftablesDataplane& operator=(const NftablesDataplane&) = delete;

  void syncAll(const DesiredState& state) override;
  void syncChanges(const DesiredState& applied, const DesiredState& next) override;
  void cleanup() override;

  // Runs nft commands as one transaction; throws std::runtime_error with nft's message.
  void run(const std::string& commands);
  // `nft list table inet kite-proxy`, or "" when the table does not exist.
  std::string listTable();

 private:
  nft::RulesOptions options_;
  NftContext nft_;
};

}  // namespace kite::proxy
