#pragma once
// One libnftables context with buffered output and errors, shared by the Service table's
// dataplane and the NetworkPolicy table's runner: each run() is one nft_run_cmd_from_buffer,
// so a batch of commands is one atomic transaction. It acts on the network namespace of the
// thread that created it.

#include <memory>
#include <string>

struct nft_ctx;

namespace kite::proxy {

class NftContext {
 public:
  NftContext();  // throws std::runtime_error when libnftables cannot start
  ~NftContext();
  NftContext(const NftContext&) = delete;
  NftContext& operator=(const NftContext&) = delete;

  // Runs nft commands as one transaction ("" does nothing); throws std::runtime_error with
  // nft's message.
  void run(const std::string& commands);
  // `nft list table FAMILY NAME`, or "" when the table does not exist.
  std::string listTable(const std::string& family, const std::string& name);

 private:
  struct CtxDeleter {
    void operator()(nft_ctx* ctx) const;
  };
  std::unique_ptr<nft_ctx, CtxDeleter> ctx_;
};

}  // namespace kite::proxy
