#pragma once
// Watch fan-out: many watch connections on one resource path, each counting the events it
// receives and when. One io thread serves every watcher (asynchronous reads), so the
// watchers cost the two-core machine little besides the TLS decryption.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace kite::bench {

class WatchFanout {
 public:
  using Clock = std::chrono::steady_clock;

  // Watches `target` (a ?watch=true URL) from `watchers` connections. Events are recognised
  // by the object name `namePrefix` + index, index < `events`.
  WatchFanout(boost::asio::ssl::context& tls, std::string host, std::string port,
              std::string target, int watchers, int events, std::string namePrefix);
  ~WatchFanout();
  WatchFanout(const WatchFanout&) = delete;
  WatchFanout& operator=(const WatchFanout&) = delete;

  // Opens every watch; returns once all have their 200 header or `timeout` passed (then
  // throws, naming how many are open).
  void open(std::chrono::seconds timeout);
  // Blocks until every watcher has received every event or `timeout` passed; false then.
  bool waitAll(std::chrono::seconds timeout);
  // Stops the io thread; the figures below are then stable.
  void stop();

  std::size_t delivered() const { return delivered_.load(); }
  std::size_t failedWatchers() const { return failed_.load(); }
  // Per event: when the last watcher got it (Clock::time_point{} if none did).
  const std::vector<Clock::time_point>& lastDelivery() const { return lastDelivery_; }
  // Per event: how many watchers got it.
  const std::vector<int>& deliveries() const { return deliveries_; }

 private:
  struct Watcher;
  void onLine(std::string_view line);

  boost::asio::io_context io_;
  boost::asio::ssl::context& tls_;
  std::string host_;
  std::string port_;
  std::string target_;
  int events_;
  std::string namePrefix_;
  std::vector<std::shared_ptr<Watcher>> watchers_;
  std::vector<Clock::time_point> lastDelivery_;
  std::vector<int> deliveries_;
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> failed_{0};
  std::atomic<std::size_t> delivered_{0};
  std::thread thread_;
};

}  // namespace kite::bench
