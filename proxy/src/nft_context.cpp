#include "kite/proxy/nft_context.h"

#include <nftables/libnftables.h>

#include <stdexcept>

namespace kite::proxy {

void NftContext::CtxDeleter::operator()(nft_ctx* ctx) const { nft_ctx_free(ctx); }

NftContext::NftContext() : ctx_(nft_ctx_new(NFT_CTX_DEFAULT)) {
  if (!ctx_) throw std::runtime_error("nftables: nft_ctx_new failed");
  // Output and errors into buffers, for error messages and listTable().
  if (nft_ctx_buffer_output(ctx_.get()) != 0 || nft_ctx_buffer_error(ctx_.get()) != 0) {
    throw std::runtime_error("nftables: cannot buffer output");
  }
}

NftContext::~NftContext() = default;

void NftContext::run(const std::string& commands) {
  if (commands.empty()) return;
  const int rc = nft_run_cmd_from_buffer(ctx_.get(), commands.c_str());
  const char* err = nft_ctx_get_error_buffer(ctx_.get());
  if (rc != 0) {
    throw std::runtime_error("nftables: " + std::string(err != nullptr ? err : "command failed"));
  }
}

std::string NftContext::listTable(const std::string& family, const std::string& name) {
  const std::string cmd = "list table " + family + " " + name;
  if (nft_run_cmd_from_buffer(ctx_.get(), cmd.c_str()) != 0) {
    nft_ctx_get_error_buffer(ctx_.get());  // drop the "No such file" message
    return {};
  }
  const char* out = nft_ctx_get_output_buffer(ctx_.get());
  return out != nullptr ? out : "";
}

}  // namespace kite::proxy
