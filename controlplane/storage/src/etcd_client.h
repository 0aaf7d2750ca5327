#pragma once
// The connection side of the etcd store: one gRPC channel per configured member, and unary
// calls with a deadline that fail over to the next member when one does not answer.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "etcd/etcdserverpb/rpc.grpc.pb.h"
#include "kite/controlplane/store.h"

namespace kite::controlplane::etcd {

// One member: its URL as configured (used in messages), its channel and stubs.
struct Member {
  std::string endpoint;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch;
  std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance;
};

// Whether a failed call may be sent again to another member. A read always may; a write
// only when it surely was not applied (the member could not be reached or had no leader),
// because a compare-and-swap that did apply would fail its compare the second time.
enum class Idempotency { kRead, kWrite };

// The gRPC target ("host:port") of a configured endpoint; throws std::invalid_argument for
// a scheme other than http or a missing host or port.
std::string grpcTarget(const std::string& endpoint);

// Translates a failed call into a StoreError naming the endpoint and the method.
StoreError toStoreError(std::string_view method, const std::string& endpoint,
                        const grpc::Status& status, std::chrono::milliseconds timeout);

// Whether a failed call may be retried on another member.
bool retryable(const grpc::Status& status, Idempotency idempotency);

class Client {
 public:
  Client(const std::vector<std::string>& endpoints, std::chrono::milliseconds timeout);

  // Runs `rpc` against the member that answered last, then the others in turn, each with its
  // own deadline, until one answers. Throws the StoreError of a failure that must not be
  // retried, or kUnavailable naming every member's failure when none answered.
  void call(std::string_view method, Idempotency idempotency,
            const std::function<grpc::Status(Member&, grpc::ClientContext&)>& rpc);

  std::size_t size() const { return members_.size(); }
  Member& member(std::size_t index) { return *members_[index]; }
  // The member to try first: the one that answered last.
  std::size_t preferred() const { return preferred_.load(); }
  void setPreferred(std::size_t index) { preferred_.store(index); }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  std::vector<std::unique_ptr<Member>> members_;
  std::atomic<std::size_t> preferred_{0};
  std::chrono::milliseconds timeout_;
};

}  // namespace kite::controlplane::etcd
