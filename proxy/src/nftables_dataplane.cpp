// libnftables: one nft_run_cmd_from_buffer per sync, so a sync is one atomic transaction.

#include "kite/proxy/nftables_dataplane.h"

#include <nftables/libnftables.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace kite::proxy {

void NftablesDataplane::CtxDeleter::operator()(nft_ctx* ctx) const { nft_ctx_free(ctx); }

NftablesDataplane::NftablesDataplane(nft::RulesOptions options)
    : options_(std::move(options)), ctx_(nft_ctx_new(NFT_CTX_DEFAULT)) {
  if (!ctx_) throw std::runtime_error("nftables: nft_ctx_new failed");
  // Output and errors into buffers, for error messages and listTable().
  if (nft_ctx_buffer_output(ctx_.get()) != 0 || nft_ctx_buffer_error(ctx_.get()) != 0) {
    throw std::runtime_error("nftables: cannot buffer output");
  }
}

NftablesDataplane::~NftablesDataplane() = default;

void NftablesDataplane::run(const std::string& commands) {
  if (commands.empty()) return;
  const int rc = nft_run_cmd_from_buffer(ctx_.get(), commands.c_str());
  const char* err = nft_ctx_get_error_buffer(ctx_.get());
  if (rc != 0) {
    throw std::runtime_error("nftables: " + std::string(err != nullptr ? err : "command failed"));
  }
}

std::string NftablesDataplane::listTable() {
  const std::string cmd = std::string("list table ") + nft::kFamily + " " + nft::kTable;
  if (nft_run_cmd_from_buffer(ctx_.get(), cmd.c_str()) != 0) {
    nft_ctx_get_error_buffer(ctx_.get());  // drop the "No such file" message
    return {};
  }
  const char* out = nft_ctx_get_output_buffer(ctx_.get());
  return out != nullptr ? out : "";
}

void NftablesDataplane::syncAll(const DesiredState& state) {
  run(nft::renderFull(state, options_));
  spdlog::debug("nftables: full sync of {} service ports", state.services.size());
}

void NftablesDataplane::syncChanges(const DesiredState& applied, const DesiredState& next) {
  run(nft::renderChanges(applied, next, options_));
}

void NftablesDataplane::cleanup() { run(nft::renderCleanup()); }

}  // namespace kite::proxy
