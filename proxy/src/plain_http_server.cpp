#include "plain_http_server.h"

#include <httplib.h>

#include <chrono>
#include <stdexcept>

namespace kite::proxy::detail {

std::pair<std::string, int> splitHostPort(const std::string& what, const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    throw std::invalid_argument(what + ": \"" + address + "\" is not HOST:PORT");
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::size_t end = 0;
  int port = -1;
  try {
    port = std::stoi(address.substr(colon + 1), &end);
  } catch (const std::exception&) {
    end = 0;
  }
  if (end != address.size() - colon - 1 || port < 0 || port > 65535 || host.empty()) {
    throw std::invalid_argument(what + ": \"" + address + "\" is not HOST:PORT");
  }
  return {host, port};
}

PlainHttpServer::PlainHttpServer(const std::string& what, const std::string& address,
                                 const std::vector<std::pair<std::string, Handler>>& routes)
    : server_(std::make_unique<httplib::Server>()) {
  const auto [host, port] = splitHostPort(what, address);
  // One worker is plenty for probes and scrapes (the default is one per core, at least 8).
  server_->new_task_queue = [] { return std::make_unique<httplib::ThreadPool>(1).release(); };
  for (const auto& [path, handler] : routes) {
    server_->Get(path, [handler = handler](const httplib::Request&, httplib::Response& response) {
      const PlainResponse answer = handler();
      response.status = answer.status;
      response.set_header("X-Content-Type-Options", "nosniff");
      response.set_content(answer.body, answer.contentType);
    });
  }
  if (!server_->bind_to_port(host, port)) {
    throw std::runtime_error(what + ": cannot listen on " + address);
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() before the loop runs would be lost (and the join would hang): wait for it.
  while (!server_->is_running() && thread_.joinable()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

PlainHttpServer::~PlainHttpServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace kite::proxy::detail
