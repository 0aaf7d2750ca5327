#include "queued_stream.h"

#include "exchange_sink.h"

namespace kite::http::detail {

QueuedStream::QueuedStream(std::weak_ptr<ExchangeSink> sink, std::uint64_t exchange,
                           std::size_t limit)
    : sink_(std::move(sink)), exchange_(exchange), limit_(limit) {}

bool QueuedStream::write(std::string data) {
  bool overflow = false;
  bool post = false;
  {
    const std::lock_guard lock(mutex_);
    if (closed_) {
      return false;
    }
    if (data.empty()) {
      return true;  // an empty chunk would end the body
    }
    if (pendingBytes_ + data.size() > limit_) {
      closed_ = true;
      overflow = true;
    } else {
      pendingBytes_ += data.size();
      queue_.push_back(std::move(data));
      post = !dataPosted_;
      dataPosted_ = true;
    }
  }
  if (overflow) {
    // The client cannot keep up: drop it, as the Kubernetes API server drops such a watcher.
    // The connection finishes this stream (onClose) from its strand.
    if (auto sink = sink_.lock()) {
      sink->streamOverflowed(shared_from_this());
    } else {
      finish();
    }
    return false;
  }
  if (post) {
    postData();
  }
  return true;
}

void QueuedStream::close() {
  bool post = false;
  {
    const std::lock_guard lock(mutex_);
    if (closed_) {
      return;
    }
    closed_ = true;
    endRequested_ = true;
    post = !dataPosted_;
    dataPosted_ = true;
  }
  if (post) {
    postData();
  }
}

bool QueuedStream::closed() const {
  const std::lock_guard lock(mutex_);
  return closed_;
}

void QueuedStream::onClose(std::function<void()> callback) {
  {
    const std::lock_guard lock(mutex_);
    if (!finished_) {
      callbacks_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

QueuedStream::Batch QueuedStream::take() {
  Batch batch;
  const std::lock_guard lock(mutex_);
  batch.pieces.reserve(queue_.size());
  for (auto& piece : queue_) {
    batch.pieces.push_back(std::move(piece));
  }
  queue_.clear();
  dataPosted_ = false;
  if (endRequested_ && !endTaken_) {
    endTaken_ = true;
    batch.end = true;
  }
  return batch;
}

void QueuedStream::written(std::size_t bytes) {
  const std::lock_guard lock(mutex_);
  pendingBytes_ = bytes > pendingBytes_ ? 0 : pendingBytes_ - bytes;
}

void QueuedStream::finish() {
  std::vector<std::function<void()>> callbacks;
  {
    const std::lock_guard lock(mutex_);
    if (finished_) {
      return;
    }
    finished_ = true;
    closed_ = true;
    queue_.clear();
    callbacks.swap(callbacks_);
  }
  for (auto& callback : callbacks) {
    try {
      callback();
    } catch (...) {
      // A throwing callback must not take the io thread down with it.
    }
  }
}

void QueuedStream::postData() {
  if (auto sink = sink_.lock()) {
    sink->deliverStreamData(shared_from_this());
  } else {
    finish();
  }
}

}  // namespace kite::http::detail
