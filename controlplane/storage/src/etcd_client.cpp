#include "etcd_client.h"

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace kite::controlplane::etcd {
namespace {

constexpr std::chrono::milliseconds kFirstPause{25};
constexpr std::chrono::milliseconds kLongestPause{500};

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::shared_ptr<grpc::Channel> makeChannel(const std::string& target) {
  grpc::ChannelArguments args;
  // Range answers can be large (a whole resource list); etcd bounds them, not the client.
  args.SetMaxReceiveMessageSize(-1);
  // Pings on open calls notice a member that vanished without closing its connections
  // (a watch would otherwise wait forever). etcd refuses pings closer than 5s apart.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // A member that comes back is tried again within seconds, not minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

}  // namespace

std::string grpcTarget(const std::string& endpoint) {
  std::string_view rest = endpoint;
  if (const auto scheme = rest.find("://"); scheme != std::string_view::npos) {
    const auto name = rest.substr(0, scheme);
    if (name == "https") {
      throw std::invalid_argument("etcd endpoint " + endpoint +
                                  ": https is not supported yet (use http://)");
    }
    if (name != "http") {
      throw std::invalid_argument("etcd endpoint " + endpoint + ": unsupported scheme '" +
                                  std::string(name) + "' (use http://host:port)");
    }
    rest.remove_prefix(scheme + 3);
  }
  while (!rest.empty() && rest.back() == '/') {
    rest.remove_suffix(1);
  }
  const auto colon = rest.rfind(':');
  if (rest.empty() || colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size() ||
      contains(rest, "/")) {
    throw std::invalid_argument("etcd endpoint '" + endpoint +
                                "' is not of the form http://host:port");
  }
  for (const char c : rest.substr(colon + 1)) {
    if (c < '0' || c > '9') {
      throw std::invalid_argument("etcd endpoint '" + endpoint + "' has a bad port");
    }
  }
  return std::string(rest);
}

StoreError toStoreError(std::string_view method, const std::string& endpoint,
                        const grpc::Status& status, std::chrono::milliseconds timeout) {
  const std::string& text = status.error_message();
  StoreErrorCode code = StoreErrorCode::kInternal;
  // etcd reports these as plain gRPC codes (OutOfRange, InvalidArgument); its message is the
  // only thing that tells them apart.
  if (contains(text, "required revision has been compacted")) {
    code = StoreErrorCode::kCompacted;
  } else if (contains(text, "required revision is a future revision")) {
    code = StoreErrorCode::kFutureRevision;
  } else if (contains(text, "request is too large") ||
             status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    code = StoreErrorCode::kTooLarge;
  } else {
    switch (status.error_code()) {
      case grpc::StatusCode::UNAVAILABLE:
      case grpc::StatusCode::DEADLINE_EXCEEDED:
      case grpc::StatusCode::CANCELLED:
      case grpc::StatusCode::PERMISSION_DENIED:
      case grpc::StatusCode::UNAUTHENTICATED:
        code = StoreErrorCode::kUnavailable;
        break;
      default:
        break;
    }
  }
  std::string message = "etcd ";
  message.append(endpoint).append(": ").append(method).append(": ");
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    message.append("no answer within the deadline of ")
        .append(std::to_string(timeout.count()))
        .append("ms");
  } else {
    message.append(text.empty() ? "gRPC status " + std::to_string(status.error_code()) : text);
  }
  return {code, message};
}

bool retryable(const grpc::Status& status, Idempotency idempotency) {
  const auto code = status.error_code();
  if (idempotency == Idempotency::kRead) {
    return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
  }
  if (code != grpc::StatusCode::UNAVAILABLE) {
    return false;
  }
  // Only failures that happened before the write could reach a member: no connection, the
  // kernel refusing to send on a connection the member had already reset (EPIPE), or a
  // member without a leader refusing it up front ("hasleader").
  const std::string& text = status.error_message();
  return contains(text, "failed to connect") || contains(text, "Connection refused") ||
         contains(text, "Broken pipe") || contains(text, "no leader") ||
         contains(text, "DNS resolution failed");
}

Client::Client(const std::vector<std::string>& endpoints, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
  if (endpoints.empty()) {
    throw std::invalid_argument("etcd store: no endpoint given");
  }
  if (timeout.count() <= 0) {
    throw std::invalid_argument("etcd store: the request timeout must be positive");
  }
  for (const auto& endpoint : endpoints) {
    auto member = std::make_unique<Member>();
    member->endpoint = endpoint;
    member->channel = makeChannel(grpcTarget(endpoint));
    member->kv = etcdserverpb::KV::NewStub(member->channel);
    member->watch = etcdserverpb::Watch::NewStub(member->channel);
    member->maintenance = etcdserverpb::Maintenance::NewStub(member->channel);
    members_.push_back(std::move(member));
  }
}

void Client::call(std::string_view method, Idempotency idempotency,
                  const std::function<grpc::Status(Member&, grpc::ClientContext&)>& rpc) {
  // One deadline for the whole call, failover included: members that cannot be reached
  // fail fast, and a member without a leader answers at once thanks to "hasleader", so the
  // time goes to waiting out an election rather than to one dead member.
  const auto deadline = std::chrono::system_clock::now() + timeout_;
  std::vector<std::string> failures(members_.size());
  std::size_t index = preferred_.load() % members_.size();
  auto pause = kFirstPause;
  for (std::size_t attempt = 1;; ++attempt) {
    Member& member = *members_[index];
    grpc::ClientContext context;
    context.set_deadline(deadline);
    context.AddMetadata("hasleader", "true");
    const grpc::Status status = rpc(member, context);
    if (status.ok()) {
      preferred_.store(index);
      return;
    }
    StoreError error = toStoreError(method, member.endpoint, status, timeout_);
    if (!retryable(status, idempotency)) {
      if (error.code() == StoreErrorCode::kUnavailable) {
        // The next call tries another member first.
        preferred_.store((index + 1) % members_.size());
      }
      if (idempotency == Idempotency::kWrite && error.code() == StoreErrorCode::kUnavailable) {
        // The member may or may not have applied the write before it went away.
        throw StoreError(error.code(), std::string(error.what()) +
                                           " (the write's outcome is "
                                           "unknown: read the key back)");
      }
      throw error;
    }
    failures[index] = error.what();
    // The next call starts with the next member too, instead of waiting on this one again.
    index = (index + 1) % members_.size();
    preferred_.store(index);
    if (attempt % members_.size() == 0) {
      // Every member failed once: give the cluster a moment (an election) before the next
      // round, if the deadline leaves room for one.
      if (std::chrono::system_clock::now() + pause >= deadline) {
        break;
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, kLongestPause);
    } else if (std::chrono::system_clock::now() >= deadline) {
      break;
    }
  }
  std::string message = "etcd: ";
  message.append(method)
      .append(": no member answered within ")
      .append(std::to_string(timeout_.count()))
      .append("ms (");
  bool firstFailure = true;
  for (const auto& failure : failures) {
    if (failure.empty()) {
      continue;
    }
    message.append(firstFailure ? "" : "; ").append(failure);
    firstFailure = false;
  }
  message.append(")");
  throw StoreError(StoreErrorCode::kUnavailable, message);
}

}  // namespace kite::controlplane::etcd
