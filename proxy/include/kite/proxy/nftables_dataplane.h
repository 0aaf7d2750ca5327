#pragma once
// The nftables backend: runs the text of nft_rules.h through libnftables, one
// nft_run_cmd_from_buffer per sync, so every sync is one atomic transaction. It touches only
// `table inet kite-proxy`. Needs CAP_NET_ADMIN in the network namespace it runs in.

#include <optional>
#include <string>
#include <vector>

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
  // Looks up and renders only the ports of `keys`: an endpoint change costs the same at any N.
  void syncChangedKeys(const DesiredState& applied, const DesiredState& next,
                       const std::vector<std::string>& keys) override;
  void cleanup() override;

  // Runs nft commands as one transaction; throws std::runtime_error with nft's message.
  void run(const std::string& commands);
  // `nft list table inet kite-proxy`, or "" when the table does not exist.
  std::string listTable();

 private:
  void applyChanges(const DesiredState& applied, const nft::ChangedPorts& changed);

  nft::RulesOptions options_;
  NftContext nft_;
  // Endpoint addresses of what the last sync wrote (built from `applied` when unknown: at the
  // first incremental sync of a new object, after a failure).
  std::optional<nft::HairpinCounts> hairpin_;
};

}  // namespace kite::proxy
