#pragma once
// The etcd v3 backend of the Store seam, over etcd's gRPC API (kite's own rendering of it in
// controlplane/storage/proto/etcd/). Every call carries a deadline; when a member does not
// answer, calls and watches move on to the next configured member. Failures are StoreErrors
// whose message names the endpoint and etcd's own words.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kite/controlplane/store.h"

namespace kite::controlplane {

struct EtcdStoreOptions {
  // Client URLs of the cluster's members, "http://127.0.0.1:2379" (a bare "host:port" is
  // taken as http). https is not supported yet.
  std::vector<std::string> endpoints;
  // Prepended to every key kite writes and stripped from every key it reads, so several
  // users can share one etcd (Kubernetes' --etcd-prefix).
  std::string keyPrefix;
  // Deadline of one request to one member; a request may try every member once.
  std::chrono::milliseconds requestTimeout{5000};
  // How long a watch keeps trying to reach some member before it reports kUnavailable.
  std::chrono::milliseconds watchRetryTimeout{30000};
};

// Splits a --datastore-endpoint value ("http://a:2379,http://b:2379") into endpoints,
// trimming blanks and skipping empty items.
std::vector<std::string> splitEtcdEndpoints(std::string_view commaSeparated);

// Checks the options (throws std::invalid_argument naming the bad endpoint) and returns a
// store; members are contacted lazily, by the first call.
std::unique_ptr<Store> openEtcdStore(const EtcdStoreOptions& options);

}  // namespace kite::controlplane
