#include "etcd_watch.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "etcd_keys.h"

namespace kite::controlplane::etcd {
namespace {

constexpr std::chrono::milliseconds kFirstPause{100};
constexpr std::chrono::milliseconds kLongestPause{2000};

// Failures after which opening the watch again cannot help.
bool permanent(grpc::StatusCode code) {
  return code == grpc::StatusCode::INVALID_ARGUMENT ||
         code == grpc::StatusCode::PERMISSION_DENIED || code == grpc::StatusCode::UNAUTHENTICATED ||
         code == grpc::StatusCode::OUT_OF_RANGE || code == grpc::StatusCode::UNIMPLEMENTED;
}

std::string printable(std::string_view key) {
  std::string out;
  for (const char c : key) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(c);
    } else {
      out.append("\\x");
      constexpr std::string_view kHex = "0123456789abcdef";
      const auto byte = static_cast<unsigned char>(c);
      out.push_back(kHex[byte >> 4U]);
      out.push_back(kHex[byte & 0xfU]);
    }
  }
  return out;
}

}  // namespace

EtcdWatch::EtcdWatch(std::shared_ptr<Client> client, WatchTarget target, Revision startRevision,
                     WatchCallbacks callbacks, std::chrono::milliseconds retryTimeout)
    : client_(std::move(client)),
      target_(std::move(target)),
      nextRevision_(startRevision),
      callbacks_(std::move(callbacks)),
      retryTimeout_(retryTimeout) {
  thread_ = std::thread([this] { run(); });
}

EtcdWatch::~EtcdWatch() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
    if (active_ != nullptr) {
      active_->TryCancel();
    }
  }
  wake_.notify_all();
  thread_.join();
}

bool EtcdWatch::pause(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [this] { return stopping_; });
}

void EtcdWatch::run() {
  auto lastHealthy = std::chrono::steady_clock::now();
  auto delay = kFirstPause;
  std::size_t index = client_->preferred();
  std::size_t failuresInRow = 0;
  for (;;) {
    std::string failure;
    StoreErrorCode code = StoreErrorCode::kUnavailable;
    bool healthy = false;
    const StreamEnd end = runStream(index, failure, code, healthy);
    if (end == StreamEnd::kStopped) {
      return;
    }
    if (end == StreamEnd::kFailed) {
      if (callbacks_.onError) {
        callbacks_.onError(StoreError(code, failure));
      }
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (healthy) {
      lastHealthy = now;
      delay = kFirstPause;
      failuresInRow = 0;
    }
    ++failuresInRow;
    if (now - lastHealthy > retryTimeout_) {
      std::string message = "etcd: watch of ";
      message.append(printable(target_.key))
          .append(" lost: no member answered for ")
          .append(std::to_string(retryTimeout_.count()))
          .append("ms (last: ")
          .append(failure)
          .append(")");
      if (callbacks_.onError) {
        callbacks_.onError(StoreError(StoreErrorCode::kUnavailable, message));
      }
      return;
    }
    // Straight on to the next member; pause only once every member failed in a row.
    index = (index + 1) % client_->size();
    if (failuresInRow % client_->size() == 0) {
      if (!pause(delay)) {
        return;
      }
      delay = std::min(delay * 2, kLongestPause);
    }
  }
}

EtcdWatch::StreamEnd EtcdWatch::runStream(std::size_t index, std::string& failure,
                                          StoreErrorCode& failureCode, bool& healthy) {
  Member& member = client_->member(index);
  grpc::ClientContext context;
  // Without a leader a member cannot tell whether it still sees every write; with this
  // metadata it ends the stream instead, and the watch moves to a member that can.
  context.AddMetadata("hasleader", "true");
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) {
      return StreamEnd::kStopped;
    }
    active_ = &context;
  }
  // The destructor may cancel the context only while it is registered.
  struct Unregister {
    EtcdWatch* self;
    ~Unregister() {
      const std::lock_guard lock(self->mutex_);
      self->active_ = nullptr;
    }
  } unregister{this};

  auto stream = member.watch->Watch(&context);
  etcdserverpb::WatchRequest request;
  auto* create = request.mutable_create_request();
  create->set_key(target_.key);
  create->set_range_end(target_.rangeEnd);
  create->set_start_revision(nextRevision_);
  create->set_prev_kv(true);
  stream->Write(request);

  etcdserverpb::WatchResponse response;
  bool ended = false;  // the watch ended for good inside the stream
  while (!ended && stream->Read(&response)) {
    if (response.compact_revision() != 0) {
      failure = "etcd " + member.endpoint + ": watch of " + printable(target_.key) +
                " from revision " + std::to_string(nextRevision_) +
                ": required revision has been compacted (oldest readable " +
                std::to_string(response.compact_revision()) + ")";
      failureCode = StoreErrorCode::kCompacted;
      ended = true;
    } else if (response.canceled()) {
      failure = "etcd " + member.endpoint + ": watch of " + printable(target_.key) +
                " cancelled by etcd: " +
                (response.cancel_reason().empty() ? "no reason given" : response.cancel_reason());
      failureCode = StoreErrorCode::kInternal;
      ended = true;
    } else {
      if (response.created() && !healthy) {
        healthy = true;
        client_->setPreferred(index);
      }
      if (response.events_size() > 0) {
        deliver(response);
      }
    }
  }
  if (ended) {
    context.TryCancel();
    while (stream->Read(&response)) {
    }
  }
  const grpc::Status status = stream->Finish();
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) {
      return StreamEnd::kStopped;
    }
  }
  if (ended) {
    return StreamEnd::kFailed;
  }
  const StoreError error = toStoreError("Watch", member.endpoint, status, client_->timeout());
  failure = error.what();
  failureCode = error.code();
  if (!status.ok() && permanent(status.error_code())) {
    return StreamEnd::kFailed;
  }
  return StreamEnd::kRetry;
}

void EtcdWatch::deliver(const etcdserverpb::WatchResponse& response) {
  std::vector<WatchEvent> events;
  events.reserve(static_cast<std::size_t>(response.events_size()));
  for (const auto& event : response.events()) {
    // A watch opened again starts after the last delivered revision; this guards against a
    // member sending one twice all the same.
    if (event.kv().mod_revision() < nextRevision_) {
      continue;
    }
    WatchEvent out;
    out.kv = fromEtcd(event.kv(), target_.prefixLength);
    if (event.type() == mvccpb::Event::DELETE) {
      out.type = WatchEventType::kDelete;
      out.kv.value.clear();
      out.kv.createRevision = 0;
    }
    if (event.has_prev_kv()) {
      out.prev = fromEtcd(event.prev_kv(), target_.prefixLength);
    }
    events.push_back(std::move(out));
  }
  if (events.empty()) {
    return;
  }
  nextRevision_ = events.back().kv.modRevision + 1;
  if (callbacks_.onEvents) {
    callbacks_.onEvents(events);
  }
}

}  // namespace kite::controlplane::etcd
