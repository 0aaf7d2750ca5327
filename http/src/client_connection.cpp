// The outbound connection: setup (connect, TLS, request, response head) runs synchronously on
// the caller's thread with a deadline, by running the connection's own io_context; the tunnel
// phase then runs that io_context on a thread of its own until the connection ends.
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "kite/http/client.h"
#include "tunnel_flow.h"

namespace kite::http {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;

class ClientConnectionImpl final : public ClientConnection,
                                   public std::enable_shared_from_this<ClientConnectionImpl> {
 public:
  ClientConnectionImpl(const std::string& host, std::string where,
                       const std::optional<ClientTls>& tls)
      : where_(std::move(where)),
        context_(ssl::context::tls_client),
        stream_(io_, makeContext(tls)) {
    useTls_ = tls.has_value();
    if (useTls_) {
      const std::string name = tls->serverName.empty() ? host : tls->serverName;
      // SNI (what SSL_set_tlsext_host_name does, without its C cast).
      SSL_ctrl(stream_.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(name.c_str()));
      if (tls->caFile.empty()) {
        // No CA to check against: encrypted but unverified, as the upstream API server talks
        // to kubelets when --kubelet-certificate-authority is not given.
        stream_.set_verify_mode(ssl::verify_none);
      } else {
        stream_.set_verify_mode(ssl::verify_peer);
        stream_.set_verify_callback(ssl::host_name_verification(name));
      }
    }
  }

  // Handlers capture `this`: they only run inside io_.run(), on the thread that holds a
  // reference (or during setup, under the caller's reference).
  ~ClientConnectionImpl() override {
    // Only reached on the io thread once io_.run() has returned (the thread held the last
    // reference), or when the tunnel was never started.
    if (thread_.joinable()) {
      thread_.detach();
    }
  }
  ClientConnectionImpl(const ClientConnectionImpl&) = delete;
  ClientConnectionImpl& operator=(const ClientConnectionImpl&) = delete;

  void setup(const std::string& host, std::uint16_t port, const ClientRequest& request,
             std::chrono::milliseconds timeout, Response& head) {
    ErrorCode error;
    tcp::resolver resolver(io_);
    const auto endpoints = resolver.resolve(host, std::to_string(port), error);
    if (error) {
      fail("resolving", error);
    }
    asio::async_connect(stream_.next_layer(), endpoints,
                        [&](const ErrorCode& e, const tcp::endpoint& /*endpoint*/) { error = e; });
    runFor(timeout, "connecting");
    if (error) {
      fail("connecting", error);
    }
    if (useTls_) {
      stream_.async_handshake(ssl::stream_base::client, [&](const ErrorCode& e) { error = e; });
      runFor(timeout, "TLS handshake");
      if (error) {
        fail("TLS handshake", error);
      }
    }
    std::string out = request.method + " " + request.target +
                      (request.http10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    bool hasHost = false;
    for (const auto& [name, value] : request.headers) {
      hasHost = hasHost || name == "host";
      out.append(name).append(": ").append(value).append("\r\n");
    }
    if (!hasHost) {
      out.append("host: ").append(host).append(":").append(std::to_string(port)).append("\r\n");
    }
    if (!request.body.empty()) {
      out.append("content-length: ").append(std::to_string(request.body.size())).append("\r\n");
    }
    out.append("\r\n").append(request.body);
    withStream([&](auto& s) {
      asio::async_write(s, asio::buffer(out), [&](const ErrorCode& e, std::size_t) { error = e; });
    });
    runFor(timeout, "sending the request");
    if (error) {
      fail("sending the request", error);
    }
    asio::streambuf buffer;
    std::size_t headSize = 0;
    withStream([&](auto& s) {
      asio::async_read_until(s, buffer, "\r\n\r\n", [&](const ErrorCode& e, std::size_t n) {
        error = e;
        headSize = n;
      });
    });
    runFor(timeout, "reading the response");
    if (error) {
      fail("reading the response", error);
    }
    const std::string all(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
    parseHead(all.substr(0, headSize), head);
    pending_ = all.substr(headSize);
    io_.restart();
  }

  void start(DataCallback onData, std::function<void()> onClose) override {
    {
      const std::lock_guard lock(mutex_);
      onData_ = std::move(onData);
      onClose_ = std::move(onClose);
      started_ = true;
    }
    asio::post(io_, [this] {
      if (!pending_.empty()) {
        deliver(std::move(pending_));
      }
      readMore();
    });
    // The thread keeps the connection alive until its io_context has run out of work (the
    // connection ended), so the last reference can never go away inside io_.run().
    thread_ = std::thread([self = shared_from_this()] { self->io_.run(); });
  }

  bool write(std::string data) override {
    {
      const std::lock_guard lock(mutex_);
      if (ended_ || closing_) {
        return false;
      }
    }
    flow_.queued(data.size());
    asio::post(io_, [this, data = std::move(data)]() mutable {
      out_.push_back(std::move(data));
      flush();
    });
    return true;
  }

  std::size_t queuedBytes() const override { return flow_.bytes(); }
  void onDrained(std::size_t lowWater, std::function<void()> callback) override {
    flow_.onDrained(lowWater, std::move(callback));
  }
  void setReading(bool reading) override {
    {
      // The io thread runs until its io_context has no work: with no read outstanding and
      // nothing to write, a paused connection would end it. The guard is that work.
      const std::lock_guard lock(mutex_);
      if (ended_) {
        return;
      }
      readPaused_ = !reading;
      if (!reading && !pauseGuard_) {
        pauseGuard_.emplace(io_.get_executor());
      }
    }
    if (reading) {
      asio::post(io_, [this] {
        {
          const std::lock_guard lock(mutex_);
          pauseGuard_.reset();
        }
        readMore();
      });
    }
  }

  void close() override {
    bool started = false;
    {
      const std::lock_guard lock(mutex_);
      if (closing_) {
        return;
      }
      closing_ = true;
      started = started_;
    }
    if (!started) {
      end();  // nothing runs the io_context
      return;
    }
    asio::post(io_, [this] {
      closeAfterWrites_ = true;
      flush();
    });
  }

 private:
  ssl::context& makeContext(const std::optional<ClientTls>& tls) {
    if (!tls) {
      return context_;
    }
    SSL_CTX_set_min_proto_version(context_.native_handle(), TLS1_2_VERSION);
    try {
      if (!tls->caFile.empty()) {
        context_.load_verify_file(tls->caFile);
      }
      if (!tls->certificateFile.empty()) {
        context_.use_certificate_chain_file(tls->certificateFile);
        context_.use_private_key_file(tls->privateKeyFile, ssl::context::pem);
      }
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error("http client: " + where_ + ": cannot load TLS files: " + e.what());
    }
    // Offer only HTTP/1.1: upgrades need it.
    static constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(context_.native_handle(), kAlpn, sizeof kAlpn);
    return context_;
  }

  template <typename F>
  void withStream(F&& f) {
    if (useTls_) {
      f(stream_);
    } else {
      f(stream_.next_layer());
    }
  }

  void runFor(std::chrono::milliseconds timeout, const char* what) {
    io_.restart();
    io_.run_for(timeout);
    if (!io_.stopped()) {
      ErrorCode ignored;
      stream_.next_layer().close(ignored);  // NOLINT(bugprone-unused-return-value)
      io_.restart();
      io_.run();  // lets the cancelled operation finish before its captures go away
      throw std::runtime_error("http client: " + where_ + ": timed out " + what);
    }
  }

  [[noreturn]] void fail(const char* what, const ErrorCode& error) const {
    throw std::runtime_error("http client: " + where_ + ": " + what + ": " + error.message());
  }

  void parseHead(const std::string& text, Response& head) const {
    // "HTTP/1.1 101 Switching Protocols\r\nname: value\r\n...\r\n\r\n"
    const auto lineEnd = text.find("\r\n");
    const std::string statusLine = text.substr(0, lineEnd);
    const auto space = statusLine.find(' ');
    if (statusLine.rfind("HTTP/1.", 0) != 0 || space == std::string::npos ||
        statusLine.size() < space + 4) {
      throw std::runtime_error("http client: " + where_ + ": bad status line \"" + statusLine +
                               "\"");
    }
    head.status = std::stoi(statusLine.substr(space + 1, 3));
    head.headers.clear();
    std::size_t at = lineEnd + 2;
    while (at < text.size()) {
      const auto end = text.find("\r\n", at);
      if (end == std::string::npos || end == at) {
        break;
      }
      const std::string line = text.substr(at, end - at);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& c : name) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        std::string value = line.substr(colon + 1);
        const auto first = value.find_first_not_of(" \t");
        value = first == std::string::npos ? "" : value.substr(first);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
          value.pop_back();
        }
        head.headers.emplace_back(std::move(name), std::move(value));
      }
      at = end + 2;
    }
  }

  void deliver(std::string data) {
    DataCallback onData;
    {
      const std::lock_guard lock(mutex_);
      onData = onData_;
    }
    if (onData) {
      onData(std::move(data));
    }
  }

  // On the io thread. One read at a time; none while paused (setReading), none once ended.
  void readMore() {
    if (reading_ || readPaused_ || readEnded_) {
      return;
    }
    reading_ = true;
    withStream([&](auto& s) {
      s.async_read_some(asio::buffer(chunk_), [this](const ErrorCode& error, std::size_t n) {
        reading_ = false;
        if (n > 0) {
          deliver(std::string(chunk_.data(), n));
        }
        if (error) {
          readEnded_ = true;
          end();
          return;
        }
        readMore();
      });
    });
  }

  void flush() {
    if (writing_) {
      return;
    }
    if (out_.empty()) {
      if (closeAfterWrites_) {
        end();
      }
      return;
    }
    inflight_ = std::move(out_.front());
    out_.pop_front();
    writing_ = true;
    withStream([&](auto& s) {
      asio::async_write(s, asio::buffer(inflight_), [this](const ErrorCode& error, std::size_t) {
        writing_ = false;
        if (error) {
          end();
          return;
        }
        flow_.sent(inflight_.size());
        flush();
      });
    });
  }

  void end() {
    std::function<void()> onClose;
    {
      const std::lock_guard lock(mutex_);
      if (ended_) {
        return;
      }
      ended_ = true;
      onClose.swap(onClose_);
      onData_ = nullptr;
      pauseGuard_.reset();
    }
    readEnded_ = true;
    flow_.drop();
    ErrorCode ignored;
    stream_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);  // NOLINT
    stream_.next_layer().close(ignored);                                 // NOLINT
    if (onClose) {
      onClose();
    }
  }

  const std::string where_;
  asio::io_context io_;
  ssl::context context_;
  ssl::stream<tcp::socket> stream_;
  bool useTls_ = false;
  std::thread thread_;
  std::string pending_;  // bytes after the response head
  std::array<char, 16384> chunk_{};
  std::deque<std::string> out_;  // io thread only
  std::string inflight_;
  bool writing_ = false;
  bool closeAfterWrites_ = false;
  bool reading_ = false;                 // io thread only
  bool readEnded_ = false;               // io thread only
  std::atomic<bool> readPaused_{false};  // setReading, from any thread
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>>
      pauseGuard_;  // under mutex_: while paused
  detail::TunnelFlow flow_;
  std::mutex mutex_;
  DataCallback onData_;
  std::function<void()> onClose_;
  bool ended_ = false;
  bool closing_ = false;
  bool started_ = false;
};

}  // namespace

std::shared_ptr<ClientConnection> ClientConnection::open(
    const std::string& host, std::uint16_t port, const std::optional<ClientTls>& tls,
    const ClientRequest& request, std::chrono::milliseconds timeout, Response& head) {
  auto connection =
      std::make_shared<ClientConnectionImpl>(host, host + ":" + std::to_string(port), tls);
  connection->setup(host, port, request, timeout, head);
  return connection;
}

void pipeTunnels(const std::shared_ptr<Tunnel>& a, const std::shared_ptr<Tunnel>& b,
                 RelayBounds bounds) {
  // Each side's callbacks hold the valves, and through them both sides; they are dropped
  // when that side ends, so the pair does not keep itself alive. The drained callbacks hold
  // them weakly.
  struct Valves {
    Valves(const std::shared_ptr<Tunnel>& a, const std::shared_ptr<Tunnel>& b, RelayBounds bounds)
        : toA(b, a, bounds), toB(a, b, bounds) {}
    detail::RelayValve toA;  // reads b unless a is behind
    detail::RelayValve toB;  // reads a unless b is behind
  };
  auto valves = std::make_shared<Valves>(a, b, bounds);
  const std::weak_ptr<Valves> weak = valves;
  a->onDrained(bounds.lowWater, [weak] {
    if (auto alive = weak.lock()) alive->toA.update();
  });
  b->onDrained(bounds.lowWater, [weak] {
    if (auto alive = weak.lock()) alive->toB.update();
  });
  // A side's data callbacks run one at a time, so its bytes reach the other side in order.
  a->start(
      [b, valves](std::string data) {
        b->write(std::move(data));
        valves->toB.update();
      },
      [b] { b->close(); });
  b->start(
      [a, valves](std::string data) {
        a->write(std::move(data));
        valves->toA.update();
      },
      [a] { a->close(); });
}

std::optional<Url> parseUrl(const std::string& text) {
  Url url;
  std::string rest;
  if (text.rfind("http://", 0) == 0) {
    rest = text.substr(7);
  } else if (text.rfind("https://", 0) == 0) {
    url.https = true;
    rest = text.substr(8);
  } else {
    return std::nullopt;
  }
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  url.target = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string portText;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) {
      return std::nullopt;
    }
    url.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      portText = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      portText = authority.substr(colon + 1);
    }
  }
  if (url.host.empty()) {
    return std::nullopt;
  }
  int port = url.https ? 443 : 80;
  if (!portText.empty()) {
    try {
      std::size_t used = 0;
      port = std::stoi(portText, &used);
      if (used != portText.size() || port <= 0 || port > 65535) {
        return std::nullopt;
      }
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  url.port = static_cast<std::uint16_t>(port);
  return url;
}

}  // namespace kite::http
