#pragma once
// A blocking HTTPS/1.1 keep-alive connection that presents a client certificate. The API
// server benchmark needs one because wrk (Debian's 4.1) has no option to present a client
// certificate, and the admin identity kite's kubeconfig carries is a certificate.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <string>

namespace kite::bench {

struct ClientTls {
  std::string caFile;    // PEM CA that signed the server certificate
  std::string certFile;  // PEM client certificate
  std::string keyFile;   // PEM client key
};

// A TLS client context that verifies the server against caFile and presents certFile.
boost::asio::ssl::context makeClientContext(const ClientTls& tls);

struct Reply {
  int status = 0;
  std::string body;
};

class HttpsConnection {
 public:
  HttpsConnection(boost::asio::io_context& io, boost::asio::ssl::context& tls, std::string host,
                  std::string port);
  ~HttpsConnection();
  HttpsConnection(const HttpsConnection&) = delete;
  HttpsConnection& operator=(const HttpsConnection&) = delete;

  // Sends one request and reads the whole answer, connecting first when there is no open
  // connection. On a transport failure the connection is dropped (the next call reconnects)
  // and boost::system::system_error propagates.
  Reply request(boost::beast::http::verb verb, const std::string& target,
                const std::string& body = {});

 private:
  using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  void connect();

  boost::asio::io_context& io_;
  boost::asio::ssl::context& tls_;
  std::string host_;
  std::string port_;
  std::unique_ptr<Stream> stream_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace kite::bench
