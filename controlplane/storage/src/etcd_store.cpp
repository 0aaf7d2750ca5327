// The Store seam over etcd v3: reads are linearizable Range calls, writes are Txns whose
// compares carry the compare-and-swap (create_revision == 0 for "absent", mod_revision for
// "unchanged"), watches are etcd watches with prev_kv.

#include "kite/controlplane/etcd_store.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <utility>

#include "etcd_client.h"
#include "etcd_keys.h"
#include "etcd_watch.h"

namespace kite::controlplane {
namespace {

using etcd::Client;
using etcd::Idempotency;
using etcd::Member;

class EtcdStore final : public Store {
 public:
  explicit EtcdStore(const EtcdStoreOptions& options)
      : client_(std::make_shared<Client>(options.endpoints, options.requestTimeout)),
        prefix_(options.keyPrefix),
        watchRetryTimeout_(options.watchRetryTimeout) {}

  Revision currentRevision() override { return probe(0).header().revision(); }

  Revision compactedRevision() override {
    // etcd does not report its compaction point, but a read below it fails: search for the
    // oldest readable revision. It only grows, so the last answer bounds the search.
    const Revision newest = currentRevision();
    Revision low = std::clamp<Revision>(compacted_.load(), 1, std::max<Revision>(newest, 1));
    if (readableAt(low)) {
      compacted_.store(low);
      return low;
    }
    Revision high = newest;  // always readable: compaction never passes the newest revision
    while (high - low > 1) {
      const Revision middle = low + (high - low) / 2;
      if (readableAt(middle)) {
        high = middle;
      } else {
        low = middle;
      }
    }
    compacted_.store(high);
    return high;
  }

  std::optional<KeyValue> get(std::string_view key) override {
    etcdserverpb::RangeRequest request;
    request.set_key(fullKey(key));
    etcdserverpb::RangeResponse response;
    client_->call("Range", Idempotency::kRead, [&](Member& member, grpc::ClientContext& context) {
      return member.kv->Range(&context, request, &response);
    });
    if (response.kvs_size() == 0) {
      return std::nullopt;
    }
    return etcd::fromEtcd(response.kvs(0), prefix_.size());
  }

  RangeResult range(const RangeRequest& in) override {
    const std::string first = fullKey(in.prefix);
    std::string key = first;
    if (!in.startAfter.empty()) {
      // The smallest key greater than startAfter is startAfter followed by a zero byte.
      std::string after = fullKey(in.startAfter);
      after.push_back('\0');
      key = std::max(key, after);
    }
    etcdserverpb::RangeRequest request;
    request.set_key(etcd::nonEmptyKey(std::move(key)));
    request.set_range_end(etcd::prefixEnd(first));
    request.set_limit(in.limit);
    request.set_revision(in.revision);
    etcdserverpb::RangeResponse response;
    client_->call("Range", Idempotency::kRead, [&](Member& member, grpc::ClientContext& context) {
      return member.kv->Range(&context, request, &response);
    });
    RangeResult result;
    result.items.reserve(static_cast<std::size_t>(response.kvs_size()));
    for (const auto& kv : response.kvs()) {
      result.items.push_back(etcd::fromEtcd(kv, prefix_.size()));
    }
    result.more = response.more();
    result.revision = in.revision != 0 ? in.revision : response.header().revision();
    return result;
  }

  std::int64_t count(std::string_view prefix) override {
    const std::string first = fullKey(prefix);
    etcdserverpb::RangeRequest request;
    request.set_key(etcd::nonEmptyKey(first));
    request.set_range_end(etcd::prefixEnd(first));
    request.set_count_only(true);
    etcdserverpb::RangeResponse response;
    client_->call("Range", Idempotency::kRead, [&](Member& member, grpc::ClientContext& context) {
      return member.kv->Range(&context, request, &response);
    });
    return response.count();
  }

  WriteResult create(std::string_view key, std::string_view value) override {
    const std::string full = fullKey(key);
    etcdserverpb::TxnRequest txn;
    addCompare(txn, full, etcdserverpb::Compare::CREATE, etcdserverpb::Compare::EQUAL, 0);
    auto* put = txn.add_success()->mutable_request_put();
    put->set_key(full);
    put->set_value(std::string(value));
    addReadOnFailure(txn, full);
    const auto response = commit(txn);
    WriteResult result;
    if (response.succeeded()) {
      result.succeeded = true;
      result.revision = response.header().revision();
      result.current =
          KeyValue{std::string(key), std::string(value), result.revision, result.revision};
    } else {
      result.current = currentOf(response);
    }
    return result;
  }

  WriteResult update(std::string_view key, std::string_view value,
                     Revision expectedModRevision) override {
    const std::string full = fullKey(key);
    etcdserverpb::TxnRequest txn;
    // The key must exist: an absent key's mod_revision is 0 and would match 0.
    addCompare(txn, full, etcdserverpb::Compare::CREATE, etcdserverpb::Compare::GREATER, 0);
    addCompare(txn, full, etcdserverpb::Compare::MOD, etcdserverpb::Compare::EQUAL,
               expectedModRevision);
    auto* put = txn.add_success()->mutable_request_put();
    put->set_key(full);
    put->set_value(std::string(value));
    put->set_prev_kv(true);
    addReadOnFailure(txn, full);
    const auto response = commit(txn);
    WriteResult result;
    if (response.succeeded()) {
      result.succeeded = true;
      result.revision = response.header().revision();
      Revision created = result.revision;
      if (response.responses_size() > 0 && response.responses(0).has_response_put()) {
        created = response.responses(0).response_put().prev_kv().create_revision();
      }
      result.current = KeyValue{std::string(key), std::string(value), created, result.revision};
    } else {
      result.current = currentOf(response);
    }
    return result;
  }

  WriteResult remove(std::string_view key, Revision expectedModRevision) override {
    const std::string full = fullKey(key);
    etcdserverpb::TxnRequest txn;
    addCompare(txn, full, etcdserverpb::Compare::CREATE, etcdserverpb::Compare::GREATER, 0);
    if (expectedModRevision != 0) {
      addCompare(txn, full, etcdserverpb::Compare::MOD, etcdserverpb::Compare::EQUAL,
                 expectedModRevision);
    }
    auto* removal = txn.add_success()->mutable_request_delete_range();
    removal->set_key(full);
    removal->set_prev_kv(true);
    addReadOnFailure(txn, full);
    const auto response = commit(txn);
    WriteResult result;
    if (response.succeeded()) {
      result.succeeded = true;
      result.revision = response.header().revision();
      if (response.responses_size() > 0 && response.responses(0).has_response_delete_range()) {
        const auto& deleted = response.responses(0).response_delete_range();
        if (deleted.prev_kvs_size() > 0) {
          result.deleted = etcd::fromEtcd(deleted.prev_kvs(0), prefix_.size());
        }
      }
    } else {
      result.current = currentOf(response);
    }
    return result;
  }

  std::unique_ptr<Watch> watch(std::string_view prefix, Revision afterRevision,
                               WatchCallbacks callbacks) override {
    const Revision start = afterRevision + 1;
    // etcd reports a compacted start only later, on the stream; a read at the start revision
    // fails the same way (below etcd's compaction point), so check before returning.
    if (start <= currentRevision()) {
      probe(start);
    }
    const std::string first = fullKey(prefix);
    etcd::WatchTarget target{etcd::nonEmptyKey(first), etcd::prefixEnd(first), prefix_.size()};
    return std::make_unique<etcd::EtcdWatch>(client_, std::move(target), start,
                                             std::move(callbacks), watchRetryTimeout_);
  }

  void compact(Revision revision) override {
    etcdserverpb::CompactionRequest request;
    request.set_revision(revision);
    // Answer only once the history is gone, so what follows sees the compaction.
    request.set_physical(true);
    etcdserverpb::CompactionResponse response;
    try {
      client_->call("Compact", Idempotency::kRead,
                    [&](Member& member, grpc::ClientContext& context) {
                      return member.kv->Compact(&context, request, &response);
                    });
    } catch (const StoreError& error) {
      // Compacting below the compaction point changes nothing: not a failure.
      if (error.code() != StoreErrorCode::kCompacted) {
        throw;
      }
      return;
    }
    Revision known = compacted_.load();
    while (known < revision && !compacted_.compare_exchange_weak(known, revision)) {
    }
  }

 private:
  std::string fullKey(std::string_view key) const {
    std::string full = prefix_;
    full.append(key);
    return full;
  }

  // A cheap linearizable read at `revision` (0: the newest): one key, count only.
  etcdserverpb::RangeResponse probe(Revision revision) {
    etcdserverpb::RangeRequest request;
    request.set_key(etcd::nonEmptyKey(prefix_));
    request.set_revision(revision);
    request.set_count_only(true);
    etcdserverpb::RangeResponse response;
    client_->call("Range", Idempotency::kRead, [&](Member& member, grpc::ClientContext& context) {
      return member.kv->Range(&context, request, &response);
    });
    return response;
  }

  bool readableAt(Revision revision) {
    try {
      probe(revision);
      return true;
    } catch (const StoreError& error) {
      if (error.code() == StoreErrorCode::kCompacted) {
        return false;
      }
      throw;
    }
  }

  static void addCompare(etcdserverpb::TxnRequest& txn, const std::string& key,
                         etcdserverpb::Compare::CompareTarget target,
                         etcdserverpb::Compare::CompareResult result, Revision revision) {
    auto* compare = txn.add_compare();
    compare->set_key(key);
    compare->set_target(target);
    compare->set_result(result);
    if (target == etcdserverpb::Compare::CREATE) {
      compare->set_create_revision(revision);
    } else {
      compare->set_mod_revision(revision);
    }
  }

  // A failed compare reads the key in the same transaction, so the caller learns what it
  // holds now without a second round trip (and without a race).
  static void addReadOnFailure(etcdserverpb::TxnRequest& txn, const std::string& key) {
    txn.add_failure()->mutable_request_range()->set_key(key);
  }

  std::optional<KeyValue> currentOf(const etcdserverpb::TxnResponse& response) const {
    if (response.responses_size() == 0 || !response.responses(0).has_response_range()) {
      return std::nullopt;
    }
    const auto& range = response.responses(0).response_range();
    if (range.kvs_size() == 0) {
      return std::nullopt;
    }
    return etcd::fromEtcd(range.kvs(0), prefix_.size());
  }

  etcdserverpb::TxnResponse commit(const etcdserverpb::TxnRequest& txn) {
    etcdserverpb::TxnResponse response;
    client_->call("Txn", Idempotency::kWrite, [&](Member& member, grpc::ClientContext& context) {
      return member.kv->Txn(&context, txn, &response);
    });
    return response;
  }

  std::shared_ptr<Client> client_;
  std::string prefix_;
  std::chrono::milliseconds watchRetryTimeout_;
  std::atomic<Revision> compacted_{0};
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

std::vector<std::string> splitEtcdEndpoints(std::string_view commaSeparated) {
  std::vector<std::string> endpoints;
  while (!commaSeparated.empty()) {
    const auto comma = commaSeparated.find(',');
    const auto item = trim(commaSeparated.substr(0, comma));
    if (!item.empty()) {
      endpoints.emplace_back(item);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    commaSeparated.remove_prefix(comma + 1);
  }
  return endpoints;
}

std::unique_ptr<Store> openEtcdStore(const EtcdStoreOptions& options) {
  if (options.watchRetryTimeout.count() <= 0) {
    throw std::invalid_argument("etcd store: the watch retry timeout must be positive");
  }
  return std::make_unique<EtcdStore>(options);
}

}  // namespace kite::controlplane
