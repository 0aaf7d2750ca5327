#pragma once
// DnsRecords from the API server: informers on every Service and EndpointSlice, looked up in
// their caches at query time (nothing is copied on events, so a busy cluster costs only the
// informers' own caches). EndpointSlices are found through their kubernetes.io/service-name
// label; addresses through indexes for PTR answers.

#include <chrono>
#include <memory>

#include "kite/client/client.h"
#include "kite/dns/records.h"

namespace kite::dns {

class InformerRecords final : public DnsRecords {
 public:
  explicit InformerRecords(client::Client& client);
  ~InformerRecords() override;
  InformerRecords(const InformerRecords&) = delete;
  InformerRecords& operator=(const InformerRecords&) = delete;

  void start();
  void stop();
  bool hasSynced() const;
  bool waitForSync(std::chrono::milliseconds timeout) const;

  std::optional<ServiceRecord> service(std::string_view ns, std::string_view name) const override;
  std::vector<EndpointRecord> endpoints(std::string_view ns,
                                        std::string_view service) const override;
  bool hasNamespace(std::string_view ns) const override;
  std::vector<std::string> namesOfAddress(std::string_view ip) const override;

 private:
  struct Informers;
  std::unique_ptr<Informers> informers_;
};

}  // namespace kite::dns
