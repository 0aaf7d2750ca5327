#pragma once
// A small plain-HTTP server (cpp-httplib) on its own thread, for the proxy's health and
// metrics ends: bound in the constructor (throws with the address when it cannot), stopped
// and joined by the destructor.

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace httplib {
class Server;
}

namespace kite::proxy::detail {

struct PlainResponse {
  int status = 200;
  std::string contentType = "text/plain; charset=utf-8";
  std::string body{};
};

class PlainHttpServer {
 public:
  using Handler = std::function<PlainResponse()>;
  // `address`: "HOST:PORT" ("[::1]:PORT" for IPv6); `what` names it in errors.
  PlainHttpServer(const std::string& what, const std::string& address,
                  const std::vector<std::pair<std::string, Handler>>& routes);
  ~PlainHttpServer();
  PlainHttpServer(const PlainHttpServer&) = delete;
  PlainHttpServer& operator=(const PlainHttpServer&) = delete;

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

// "HOST:PORT" -> host and port; throws std::invalid_argument naming `what`.
std::pair<std::string, int> splitHostPort(const std::string& what, const std::string& address);

}  // namespace kite::proxy::detail
