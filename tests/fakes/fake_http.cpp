#include "fakes/fake_http.h"

#include <utility>

namespace kite::testing {

bool FakeStream::write(std::string data) {
  std::unique_lock lock(mutex_);
  if (closed_) return false;
  pieces_.push_back(std::move(data));
  changed_.notify_all();
  return true;
}

void FakeStream::close() {
  std::unique_lock lock(mutex_);
  closeLocked(lock);
}

void FakeStream::disconnect() { close(); }

void FakeStream::closeLocked(std::unique_lock<std::mutex>& lock) {
  if (closed_) return;
  closed_ = true;
  auto callbacks = std::exchange(callbacks_, {});
  changed_.notify_all();
  // Callbacks may call back into the stream (closed(), write()): run them unlocked.
  lock.unlock();
  for (auto& cb : callbacks) cb();
  lock.lock();
}

bool FakeStream::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

void FakeStream::onClose(std::function<void()> callback) {
  std::unique_lock lock(mutex_);
  if (closed_) {
    lock.unlock();
    callback();
    return;
  }
  callbacks_.push_back(std::move(callback));
}

std::vector<std::string> FakeStream::pieces() const {
  std::lock_guard lock(mutex_);
  return pieces_;
}

bool FakeStream::waitForPieces(std::size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return pieces_.size() >= count || closed_; }) &&
         pieces_.size() >= count;
}

void FakeResponder::respond(http::Response response) {
  std::lock_guard lock(mutex_);
  ++answers_;
  response_ = std::move(response);
  answered_.notify_all();
}

std::shared_ptr<http::Stream> FakeResponder::startStream(int status, http::Headers headers) {
  std::lock_guard lock(mutex_);
  ++answers_;
  response_.status = status;
  response_.headers = std::move(headers);
  stream_ = std::make_shared<FakeStream>();
  answered_.notify_all();
  return stream_;
}

bool FakeResponder::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return answered_.wait_for(lock, timeout, [&] { return answers_ > 0; });
}

bool FakeResponder::answered() const {
  std::lock_guard lock(mutex_);
  return answers_ > 0;
}

int FakeResponder::answers() const {
  std::lock_guard lock(mutex_);
  return answers_;
}

http::Response FakeResponder::response() const {
  std::lock_guard lock(mutex_);
  return response_;
}

std::shared_ptr<FakeStream> FakeResponder::stream() const {
  std::lock_guard lock(mutex_);
  return stream_;
}

http::Request makeRequest(std::string method, std::string target, std::string body,
                          std::string contentType) {
  http::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  const auto q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  if (!contentType.empty()) r.headers.emplace_back("content-type", std::move(contentType));
  r.body = std::move(body);
  r.remoteAddress = "127.0.0.1:1";
  return r;
}

}  // namespace kite::testing
