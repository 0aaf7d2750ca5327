// libnftables for the NetworkPolicy table: one nft_run_cmd_from_buffer per sync.

#include "kite/proxy/network_policy_dataplane.h"

#include <nftables/libnftables.h>

#include <stdexcept>

#include "kite/proxy/network_policy_rules.h"

namespace kite::proxy::netpol {

void NftablesRunner::CtxDeleter::operator()(nft_ctx* ctx) const { nft_ctx_free(ctx); }

NftablesRunner::NftablesRunner() : ctx_(nft_ctx_new(NFT_CTX_DEFAULT)) {
  if (!ctx_) throw std::runtime_error("nftables: nft_ctx_new failed");
  // Output and errors into buffers, for error messages and listTable().
  if (nft_ctx_buffer_output(ctx_.get()) != 0 || nft_ctx_buffer_error(ctx_.get()) != 0) {
    throw std::runtime_error("nftables: cannot buffer output");
  }
}

NftablesRunner::~NftablesRunner() = default;

void NftablesRunner::run(const std::string& commands) {
  if (commands.empty()) return;
  const int rc = nft_run_cmd_from_buffer(ctx_.get(), commands.c_str());
  const char* err = nft_ctx_get_error_buffer(ctx_.get());
  if (rc != 0) {
    throw std::runtime_error("nftables: " + std::string(err != nullptr ? err : "command failed"));
  }
}

std::string NftablesRunner::listTable() {
  const std::string cmd = std::string("list table ") + nft::kFamily + " " + nft::kTable;
  if (nft_run_cmd_from_buffer(ctx_.get(), cmd.c_str()) != 0) {
    nft_ctx_get_error_buffer(ctx_.get());  // drop the "No such file" message
    return {};
  }
  const char* out = nft_ctx_get_output_buffer(ctx_.get());
  return out != nullptr ? out : "";
}

void NftablesRunner::syncAll(const State& state) { run(nft::renderFull(state)); }

void NftablesRunner::syncChanges(const State& applied, const State& next) {
  run(nft::renderChanges(applied, next));
}

void NftablesRunner::cleanup() { run(nft::renderCleanup()); }

}  // namespace kite::proxy::netpol
