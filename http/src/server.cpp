// startServer and the Server behind it: the listening socket, the io threads and stop().

#include "kite/http/server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "connection.h"
#include "server_state.h"
#include "tls.h"

namespace kite::http {
namespace {

namespace asio = boost::asio;
using ErrorCode = boost::system::error_code;
using tcp = asio::ip::tcp;

std::string describe(const std::string& address, std::uint16_t port) {
  std::string text;
  if (address.find(':') != std::string::npos) {
    text.append("[").append(address).append("]");
  } else {
    text.append(address);
  }
  return text.append(":").append(std::to_string(port));
}

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServerOptions& options, Handler handler)
      : state_(std::make_shared<detail::ServerState>(options, std::move(handler))),
        tls_(detail::makeTlsContext(options.tls, options.enableHttp2)),
        io_(static_cast<int>(std::max(1U, options.ioThreads))),
        acceptor_(asio::make_strand(io_)),
        retryTimer_(acceptor_.get_executor()),
        work_(asio::make_work_guard(io_)) {
    listen(options);
    const unsigned threads = std::max(1U, options.ioThreads);
    ioThreads_.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) {
      ioThreads_.emplace_back([this] { runIo(); });
    }
    asio::post(acceptor_.get_executor(), [this] { accept(); });
  }

  ~ServerImpl() override { stop(); }
  ServerImpl(const ServerImpl&) = delete;
  ServerImpl& operator=(const ServerImpl&) = delete;

  std::uint16_t port() const override { return port_; }

  void stop() override {
    const std::lock_guard lock(stopMutex_);
    if (stopped_) {
      return;
    }
    stopped_ = true;
    state_->beginStop();  // no new connections, no new streams, no new handler calls
    std::promise<void> closing;
    asio::post(acceptor_.get_executor(), [this, &closing] {
      ErrorCode ignored;
      acceptor_.close(ignored);  // NOLINT(bugprone-unused-return-value)
      retryTimer_.cancel();
      for (const auto& connection : state_->snapshot()) {
        connection->abortConnection();  // fires the streams' onClose on the io threads
      }
      closing.set_value();
    });
    closing.get_future().wait();
    // The io threads finish what is queued (the closes above) and return once nothing is
    // left to do; then the workers finish their tasks.
    work_.reset();
    for (auto& thread : ioThreads_) {
      thread.join();
    }
    state_->pool().stop();
  }

 private:
  void listen(const ServerOptions& options) {
    const std::string where = describe(options.bindAddress, options.port);
    ErrorCode error;
    const auto address = asio::ip::make_address(options.bindAddress, error);
    if (error) {
      throw std::runtime_error(std::string("http: invalid bind address \"")
                                   .append(options.bindAddress)
                                   .append("\": ")
                                   .append(error.message()));
    }
    const tcp::endpoint endpoint(address, options.port);
    const auto fail = [&where](std::string_view step, const ErrorCode& cause) {
      throw std::runtime_error(std::string("http: cannot ")
                                   .append(step)
                                   .append(" ")
                                   .append(where)
                                   .append(": ")
                                   .append(cause.message()));
    };
    if (acceptor_.open(endpoint.protocol(), error)) {
      fail("open a socket for", error);
    }
    if (acceptor_.set_option(tcp::acceptor::reuse_address(true), error)) {
      fail("set SO_REUSEADDR on", error);
    }
    if (address.is_v6()) {
      // "::" serves both families, whatever the system's default for v6-only is.
      ErrorCode ignored;
      acceptor_.set_option(asio::ip::v6_only(false), ignored);  // NOLINT
    }
    if (acceptor_.bind(endpoint, error)) {
      fail("bind", error);
    }
    if (acceptor_.listen(asio::socket_base::max_listen_connections, error)) {
      fail("listen on", error);
    }
    port_ = acceptor_.local_endpoint().port();
  }

  void runIo() {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (...) {
        // Nothing on the io threads is meant to throw; if something does, keep serving the
        // other connections rather than ending the process.
      }
    }
  }

  void accept() {
    acceptor_.async_accept(asio::make_strand(io_), [this](const ErrorCode& error,
                                                          tcp::socket socket) {
      if (error == asio::error::operation_aborted || !acceptor_.is_open()) {
        return;
      }
      if (error) {
        // Out of descriptors, or the client left before accept: wait a little so a full
        // descriptor table does not spin an io thread.
        retryTimer_.expires_after(std::chrono::milliseconds(50));
        retryTimer_.async_wait([this](const ErrorCode& waitError) {
          if (!waitError) {
            accept();
          }
        });
        return;
      }
      ErrorCode ignored;
      socket.set_option(tcp::no_delay(true), ignored);  // NOLINT(bugprone-unused-return-value)
      const auto id = state_->nextConnectionId();
      auto connection = std::make_shared<detail::Connection>(std::move(socket), tls_, state_, id);
      if (state_->add(id, connection)) {
        connection->start();
      }
      accept();
    });
  }

  std::shared_ptr<detail::ServerState> state_;
  asio::ssl::context tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  asio::steady_timer retryTimer_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> ioThreads_;
  std::uint16_t port_ = 0;
  std::mutex stopMutex_;
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<Server> startServer(const ServerOptions& options, Handler handler) {
  return std::make_unique<ServerImpl>(options, std::move(handler));
}

}  // namespace kite::http
