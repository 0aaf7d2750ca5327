#include "tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace kite::http::testing {
namespace {

constexpr int kTimeoutSeconds = 60;

int connectLoopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  }
  timeval timeout{};
  timeout.tv_sec = kTimeoutSeconds;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    ::close(fd);
    throw std::runtime_error(std::string("connect: ") + std::strerror(error));
  }
  return fd;
}

std::string sslError(std::string_view what) {
  std::string text(what);
  const unsigned long code = ERR_get_error();
  if (code != 0) {
    std::array<char, 256> detail{};
    ERR_error_string_n(code, detail.data(), detail.size());
    text.append(": ").append(detail.data());
  }
  ERR_clear_error();
  return text;
}

std::string lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return text;
}

}  // namespace

std::optional<std::string> Reply::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) {
      return value;
    }
  }
  return std::nullopt;
}

TlsClient::TlsClient(std::uint16_t port, const ClientTls& tls,
                     const std::vector<std::string>& protocols) {
  context_ = SSL_CTX_new(TLS_client_method());
  if (context_ == nullptr) {
    throw std::runtime_error(sslError("SSL_CTX_new"));
  }
  try {
    if (SSL_CTX_load_verify_locations(context_, tls.caFile.c_str(), nullptr) != 1) {
      throw std::runtime_error(sslError("load CA " + tls.caFile));
    }
    SSL_CTX_set_verify(context_, SSL_VERIFY_PEER, nullptr);
    if (!tls.certFile.empty()) {
      if (SSL_CTX_use_certificate_chain_file(context_, tls.certFile.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(context_, tls.keyFile.c_str(), SSL_FILETYPE_PEM) != 1) {
        throw std::runtime_error(sslError("load client certificate " + tls.certFile));
      }
    }
    std::string wire;
    for (const auto& protocol : protocols) {
      wire.push_back(static_cast<char>(protocol.size()));
      wire.append(protocol);
    }
    if (!wire.empty()) {
      SSL_CTX_set_alpn_protos(context_, reinterpret_cast<const unsigned char*>(wire.data()),
                              static_cast<unsigned int>(wire.size()));
    }
    fd_ = connectLoopback(port);
    ssl_ = SSL_new(context_);
    SSL_set_fd(ssl_, fd_);
    SSL_set1_host(ssl_, "127.0.0.1");
    if (SSL_connect(ssl_) != 1) {
      throw std::runtime_error(sslError("TLS handshake"));
    }
  } catch (...) {
    if (ssl_ != nullptr) {
      SSL_free(ssl_);
    }
    if (fd_ >= 0) {
      ::close(fd_);
    }
    SSL_CTX_free(context_);
    throw;
  }
}

TlsClient::~TlsClient() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
  }
  if (fd_ >= 0) {
    ::close(fd_);
  }
  SSL_CTX_free(context_);
}

void TlsClient::send(std::string_view data) {
  while (!data.empty()) {
    const int written = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
    if (written <= 0) {
      throw std::runtime_error(sslError("SSL_write"));
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
}

bool TlsClient::fill() {
  char chunk[16384];
  const int got = SSL_read(ssl_, chunk, sizeof chunk);
  if (got <= 0) {
    ERR_clear_error();
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(got));
  return true;
}

std::string TlsClient::readLine() {
  for (;;) {
    const auto end = buffer_.find("\r\n");
    if (end != std::string::npos) {
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      return line;
    }
    if (!fill()) {
      throw std::runtime_error("connection ended in the middle of a line");
    }
  }
}

std::string TlsClient::readExactly(std::size_t count) {
  while (buffer_.size() < count) {
    if (!fill()) {
      throw std::runtime_error("connection ended in the middle of a body");
    }
  }
  std::string data = buffer_.substr(0, count);
  buffer_.erase(0, count);
  return data;
}

Reply TlsClient::readHead() {
  Reply reply;
  const std::string status = readLine();
  if (status.size() < 12 || status.compare(0, 5, "HTTP/") != 0) {
    throw std::runtime_error("bad status line: " + status);
  }
  reply.status = std::stoi(status.substr(9, 3));
  for (;;) {
    const std::string line = readLine();
    if (line.empty()) {
      break;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) {
      throw std::runtime_error("bad header line: " + line);
    }
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') {
      value.erase(0, 1);
    }
    reply.headers.emplace_back(lower(line.substr(0, colon)), value);
  }
  return reply;
}

std::optional<std::string> TlsClient::readChunk() {
  const std::string sizeLine = readLine();
  const std::size_t size = std::stoul(sizeLine, nullptr, 16);
  if (size == 0) {
    readLine();  // the empty line after the final chunk (no trailers)
    return std::nullopt;
  }
  std::string data = readExactly(size);
  if (!readLine().empty()) {
    throw std::runtime_error("chunk not followed by CRLF");
  }
  return data;
}

Reply TlsClient::readReply() {
  Reply reply = readHead();
  if (reply.status < 200 || reply.status == 204 || reply.status == 304) {
    return reply;
  }
  if (auto length = reply.header("content-length")) {
    reply.body = readExactly(std::stoul(*length));
  } else if (reply.header("transfer-encoding") == std::optional<std::string>("chunked")) {
    while (auto chunk = readChunk()) {
      reply.body.append(*chunk);
    }
  } else {
    while (fill()) {
    }
    reply.body = std::move(buffer_);
    buffer_.clear();
  }
  return reply;
}

std::optional<std::string> TlsClient::readSome() {
  if (!buffer_.empty()) {
    std::string data = std::move(buffer_);
    buffer_.clear();
    return data;
  }
  if (!fill()) {
    return std::nullopt;
  }
  std::string data = std::move(buffer_);
  buffer_.clear();
  return data;
}

bool TlsClient::waitClosed() {
  char chunk[16384];
  for (;;) {
    const int got = SSL_read(ssl_, chunk, sizeof chunk);
    if (got > 0) {
      continue;
    }
    const int error = SSL_get_error(ssl_, got);
    const int savedErrno = errno;
    ERR_clear_error();
    if (error == SSL_ERROR_SYSCALL && (savedErrno == EAGAIN || savedErrno == EWOULDBLOCK)) {
      return false;  // the socket timeout: still open
    }
    return true;
  }
}

std::string TlsClient::alpn() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &data, &length);
  return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), length);
}

void TlsClient::disconnect() const {
  if (fd_ >= 0) {
    ::shutdown(fd_, SHUT_RDWR);
  }
}

bool silentClientIsDropped(std::uint16_t port) {
  const int fd = connectLoopback(port);
  char byte = 0;
  const auto got = ::recv(fd, &byte, 1, 0);
  const int error = errno;
  ::close(fd);
  return got == 0 || (got < 0 && error != EAGAIN && error != EWOULDBLOCK);
}

}  // namespace kite::http::testing
