#include "kite/client/transport.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <sstream>

#include "kite/client/errors.h"
#include "kite/client/request_metrics.h"

namespace kite::client {

namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string opensslError() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "no detail from OpenSSL";
  std::string buf(256, '\0');
  ERR_error_string_n(code, buf.data(), buf.size());
  buf.resize(buf.find('\0'));
  ERR_clear_error();
  return buf;
}

BioPtr memBio(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw ConfigError("cannot allocate an OpenSSL buffer");
  return bio;
}

// Every certificate of a PEM bundle, in order.
std::vector<X509Ptr> readCertificates(const std::string& pem, const char* what) {
  std::vector<X509Ptr> out;
  auto bio = memBio(pem);
  while (X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(raw);
  ERR_clear_error();  // the end of the bundle reads as an error
  if (out.empty()) throw ConfigError(std::string(what) + ": no PEM certificate found");
  return out;
}

bool isIpAddress(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  const std::string want = lower(name);
  for (const auto& [k, v] : headers) {
    if (lower(k) == want) return v;
  }
  return {};
}

// ---- StreamCanceller ----

void StreamCanceller::cancel() {
  std::unique_lock lock(mutex_);
  cancelled_ = true;
  // From the streaming thread itself (an event handler) the flag is enough: the read loop
  // checks it before handing over the next line.
  if (!active_ || streamThread_ == std::this_thread::get_id()) return;
  // stop() only takes effect once the request is in flight (before, the socket is not open
  // yet), so repeat it until the stream reports that it ended. The stream thread clears
  // active_ under this mutex before it destroys the connection, so stop_ is safe to call here.
  while (active_) {
    stop_();
    cv_.wait_for(lock, std::chrono::milliseconds(20), [this] { return !active_; });
  }
}

bool StreamCanceller::cancelled() const { return cancelled_; }

// ---- TLS material shared by every connection ----

struct Transport::Tls {
  std::vector<X509Ptr> cas;
  std::vector<X509Ptr> clientChain;  // [0] is the client certificate
  PkeyPtr clientKey;
};

class Transport::Connection {
 public:
  Connection(std::unique_ptr<httplib::ClientImpl> client) : client_(std::move(client)) {}
  httplib::ClientImpl& http() { return *client_; }
  void stop() { client_->stop(); }
  bool reused = false;

 private:
  std::unique_ptr<httplib::ClientImpl> client_;
};

Transport::Transport(RestConfig config)
    : config_(std::move(config)), tls_(std::make_unique<Tls>()) {
  // Writing to a connection the server closed raises SIGPIPE, whose default action ends the
  // process; OpenSSL writes with write(2), so MSG_NOSIGNAL cannot help. Like every kite
  // command, ignore it (a handler the program installed itself is left alone).
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    std::signal(SIGPIPE, SIG_IGN);
  }
  std::string_view url = config_.server;
  if (url.starts_with("https://")) {
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
    https_ = false;
    port_ = 80;
  } else {
    throw ConfigError("server URL \"" + config_.server + "\" must start with https:// or http://");
  }
  const auto slash = url.find('/');
  std::string_view hostPort = url.substr(0, slash);
  if (slash != std::string_view::npos) {
    pathPrefix_ = std::string(url.substr(slash));
    while (!pathPrefix_.empty() && pathPrefix_.back() == '/') pathPrefix_.pop_back();
  }
  std::string_view portText;
  if (hostPort.starts_with('[')) {
    const auto close = hostPort.find(']');
    if (close == std::string_view::npos) {
      throw ConfigError("server URL \"" + config_.server + "\": unterminated [IPv6] host");
    }
    host_ = std::string(hostPort.substr(1, close - 1));
    if (close + 1 < hostPort.size() && hostPort[close + 1] == ':') {
      portText = hostPort.substr(close + 2);
    }
  } else {
    const auto colon = hostPort.rfind(':');
    host_ = std::string(hostPort.substr(0, colon));
    if (colon != std::string_view::npos) portText = hostPort.substr(colon + 1);
  }
  if (host_.empty()) throw ConfigError("server URL \"" + config_.server + "\" has no host");
  if (!portText.empty()) {
    int port = 0;
    for (const char c : portText) {
      if (c < '0' || c > '9' || port > 65535) {
        throw ConfigError("server URL \"" + config_.server + "\": bad port");
      }
      port = port * 10 + (c - '0');
    }
    if (port <= 0 || port > 65535) {
      throw ConfigError("server URL \"" + config_.server + "\": bad port");
    }
    port_ = port;
  }

  if (https_) {
    if (!config_.caPem.empty())
      tls_->cas = readCertificates(config_.caPem, "certificate authority");
    const bool hasCert = !config_.clientCertificatePem.empty();
    const bool hasKey = !config_.clientKeyPem.empty();
    if (hasCert != hasKey) {
      throw ConfigError("a client certificate needs its key and a key needs its certificate");
    }
    if (hasCert) {
      tls_->clientChain = readCertificates(config_.clientCertificatePem, "client certificate");
      auto bio = memBio(config_.clientKeyPem);
      tls_->clientKey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
      if (!tls_->clientKey) throw ConfigError("client key: " + opensslError());
      if (X509_check_private_key(tls_->clientChain.front().get(), tls_->clientKey.get()) != 1) {
        ERR_clear_error();
        throw ConfigError("client key does not match the client certificate");
      }
    }
  }
  token_ = config_.token;
}

Transport::~Transport() = default;

std::unique_ptr<Transport::Connection> Transport::newConnection(
    std::chrono::milliseconds readTimeout) {
  std::unique_ptr<httplib::ClientImpl> http;
  if (https_) {
    std::unique_ptr<httplib::SSLClient> ssl;
    if (tls_->clientKey) {
      ssl = std::make_unique<httplib::SSLClient>(host_, port_, tls_->clientChain.front().get(),
                                                 tls_->clientKey.get());
    } else {
      ssl = std::make_unique<httplib::SSLClient>(host_, port_);
    }
    SSL_CTX* ctx = ssl->ssl_context();
    if (ctx == nullptr || !ssl->is_valid()) {
      throw ConfigError("cannot set up TLS for " + config_.server + ": " + opensslError());
    }
    for (std::size_t i = 1; i < tls_->clientChain.size(); ++i) {
      SSL_CTX_add1_chain_cert(ctx, tls_->clientChain[i].get());
    }
    // httplib's own verification would also trust the system's CAs; kite checks the server
    // against the configured CA alone, with OpenSSL's host name or IP check.
    ssl->enable_server_certificate_verification(false);
    if (!config_.insecureSkipTlsVerify) {
      X509_STORE* store = SSL_CTX_get_cert_store(ctx);
      if (tls_->cas.empty()) {
        SSL_CTX_set_default_verify_paths(ctx);
      } else {
        for (const auto& ca : tls_->cas) {
          if (X509_STORE_add_cert(store, ca.get()) != 1) ERR_clear_error();  // duplicates
        }
      }
      X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
      const std::string& name = config_.tlsServerName.empty() ? host_ : config_.tlsServerName;
      const int ok = isIpAddress(name) ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                                       : X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
      if (ok != 1) throw ConfigError("cannot check the server's name " + name);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    }
    http = std::move(ssl);
  } else {
    http = std::make_unique<httplib::ClientImpl>(host_, port_);
  }
  const auto secs = [](std::chrono::milliseconds d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d);
  };
  http->set_connection_timeout(secs(config_.connectTimeout));
  http->set_read_timeout(secs(readTimeout));
  http->set_write_timeout(secs(config_.requestTimeout));
  http->set_keep_alive(true);
  http->set_tcp_nodelay(true);
  http->set_follow_location(false);
  http->set_url_encode(false);
  http->set_socket_options([this](socket_t fd) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    std::lock_guard lock(mutex_);
    ++opened_;
  });
  return std::make_unique<Connection>(std::move(http));
}

std::unique_ptr<Transport::Connection> Transport::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      c->reused = true;
      return c;
    }
  }
  return newConnection(config_.requestTimeout);
}

void Transport::release(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < config_.maxIdleConnections) idle_.push_back(std::move(connection));
}

std::size_t Transport::idleConnections() const {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

std::size_t Transport::connectionsOpened() const {
  std::lock_guard lock(mutex_);
  return opened_;
}

HttpHeaders Transport::commonHeaders() {
  HttpHeaders h;
  h.emplace_back("User-Agent", config_.userAgent);
  std::string token;
  {
    std::lock_guard lock(mutex_);
    if (!config_.tokenFile.empty()) {
      // Projected service-account tokens rotate: read the file again after a minute.
      const auto now = std::chrono::steady_clock::now();
      if (token_.empty() || now - tokenReadAt_ > std::chrono::minutes(1)) {
        std::ifstream in(config_.tokenFile);
        std::stringstream ss;
        ss << in.rdbuf();
        if (in) {
          token_ = trim(ss.str());
          tokenReadAt_ = now;
        } else if (token_.empty()) {
          throw TransportError("cannot read the token file " + config_.tokenFile.string());
        }
      }
    }
    token = token_;
  }
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  return h;
}

namespace {

httplib::Request toHttplib(const HttpRequest& request, const std::string& prefix,
                           const HttpHeaders& common) {
  httplib::Request req;
  req.method = request.method;
  req.path = prefix + request.target;
  for (const auto& [k, v] : common) req.headers.emplace(k, v);
  bool hasAccept = false;
  for (const auto& [k, v] : request.headers) {
    if (lower(k) == "accept") hasAccept = true;
    req.headers.emplace(k, v);
  }
  if (!hasAccept) req.headers.emplace("Accept", "application/json");
  if (!request.body.empty() || !request.contentType.empty()) {
    req.headers.emplace("Content-Type",
                        request.contentType.empty() ? "application/json" : request.contentType);
  }
  req.body = request.body;
  return req;
}

HttpResponse fromHttplib(httplib::Response& res) {
  HttpResponse out;
  out.status = res.status;
  for (auto& [k, v] : res.headers) out.headers.emplace_back(k, v);
  out.body = std::move(res.body);
  return out;
}

std::string describe(const std::string& method, const std::string& target, httplib::Error error,
                     long verifyResult) {
  std::string msg = method;
  msg.append(" ").append(target).append(": ").append(httplib::to_string(error));
  if (error == httplib::Error::SSLConnection && verifyResult != X509_V_OK) {
    msg.append(" (certificate check: ")
        .append(X509_verify_cert_error_string(verifyResult))
        .append(")");
  }
  return msg;
}

long verifyResultOf(httplib::ClientImpl& http) {
  auto* ssl = dynamic_cast<httplib::SSLClient*>(&http);
  return ssl == nullptr ? X509_V_OK : ssl->get_openssl_verify_result();
}

}  // namespace

HttpResponse Transport::send(const HttpRequest& request) {
  const bool idempotent = request.method == "GET" || request.method == "HEAD" ||
                          request.method == "PUT" || request.method == "DELETE";
  for (int attempt = 0;; ++attempt) {
    auto connection = acquire();
    httplib::Request req = toHttplib(request, pathPrefix_, commonHeaders());
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    if (connection->http().send(req, res, error)) {
      countRequest(request.method, std::to_string(res.status));
      release(std::move(connection));
      return fromHttplib(res);
    }
    countRequest(request.method, "<error>");
    // A pooled connection the server closed while idle fails on first use; an idempotent
    // request is safe to send once more on a fresh one.
    if (connection->reused && idempotent && attempt == 0 && error != httplib::Error::Connection) {
      continue;
    }
    // Verification failures show in the handshake as a connection error; say why.
    throw TransportError(describe(request.method, config_.server + pathPrefix_ + request.target,
                                  error, verifyResultOf(connection->http())));
  }
}

HttpResponse Transport::stream(const HttpRequest& request,
                               const std::function<bool(std::string_view)>& onLine,
                               StreamCanceller& canceller, std::chrono::milliseconds readTimeout) {
  auto connection = newConnection(readTimeout);
  {
    std::lock_guard lock(canceller.mutex_);
    if (canceller.cancelled_) return {};
    canceller.active_ = true;
    canceller.streamThread_ = std::this_thread::get_id();
    Connection* c = connection.get();
    canceller.stop_ = [c] { c->stop(); };
  }
  struct Done {
    StreamCanceller& c;
    ~Done() {
      std::lock_guard lock(c.mutex_);
      c.active_ = false;
      c.stop_ = nullptr;
      c.cv_.notify_all();
    }
  };
  // Declared after the connection: ends the canceller's use of it before it is destroyed.
  Done done{canceller};

  httplib::Request req = toHttplib(request, pathPrefix_, commonHeaders());
  req.headers.emplace("Accept-Encoding", "identity");
  int status = 0;
  std::string errorBody;
  std::string pending;
  bool stopped = false;
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    return !canceller.cancelled();
  };
  req.content_receiver = [&](const char* data, std::size_t len, std::uint64_t, std::uint64_t) {
    if (canceller.cancelled()) return false;
    if (status != 200) {
      errorBody.append(data, len);
      return true;
    }
    pending.append(data, len);
    std::size_t start = 0;
    for (std::size_t nl = pending.find('\n', start); nl != std::string::npos;
         nl = pending.find('\n', start)) {
      std::string_view line(pending.data() + start, nl - start);
      start = nl + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      if (canceller.cancelled() || !onLine(line)) {
        stopped = true;
        return false;
      }
    }
    pending.erase(0, start);
    return true;
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  const bool ok = connection->http().send(req, res, error);
  HttpResponse out;
  out.status = status != 0 ? status : res.status;
  countRequest(request.method, out.status != 0 ? std::to_string(out.status) : "<error>");
  for (auto& [k, v] : res.headers) out.headers.emplace_back(k, v);
  if (status != 200 && status != 0) out.body = std::move(errorBody);
  if (ok) {
    if (status == 200 && !pending.empty() && !canceller.cancelled()) onLine(pending);
    return out;
  }
  if (stopped || canceller.cancelled() || error == httplib::Error::Canceled) return out;
  // A watch the server ends by closing the connection reads as a read error after a 200.
  if (status == 200 && error == httplib::Error::Read) return out;
  throw TransportError(describe(request.method, config_.server + pathPrefix_ + request.target,
                                error, verifyResultOf(connection->http())));
}

}  // namespace kite::client
