#include "https_connection.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl.hpp>

namespace kite::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

asio::ssl::context makeClientContext(const ClientTls& tls) {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(tls.caFile);
  ctx.use_certificate_chain_file(tls.certFile);
  ctx.use_private_key_file(tls.keyFile, asio::ssl::context::pem);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  return ctx;
}

HttpsConnection::HttpsConnection(asio::io_context& io, asio::ssl::context& tls, std::string host,
                                 std::string port)
    : io_(io), tls_(tls), host_(std::move(host)), port_(std::move(port)) {}

HttpsConnection::~HttpsConnection() = default;

void HttpsConnection::connect() {
  asio::ip::tcp::resolver resolver(io_);
  auto stream = std::make_unique<Stream>(io_, tls_);
  beast::get_lowest_layer(*stream).connect(resolver.resolve(host_, port_));
  beast::get_lowest_layer(*stream).socket().set_option(asio::ip::tcp::no_delay(true));
  stream->handshake(asio::ssl::stream_base::client);
  buffer_.clear();
  stream_ = std::move(stream);
}

Reply HttpsConnection::request(http::verb verb, const std::string& target,
                               const std::string& body) {
  if (!stream_) connect();
  try {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, host_);
    req.set(http::field::accept, "application/json");
    req.set(http::field::user_agent, "kite-bench-apiserver");
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::write(*stream_, req);

    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);  // a list of 10k pods is tens of megabytes
    http::read(*stream_, buffer_, parser);
    Reply reply;
    reply.status = static_cast<int>(parser.get().result_int());
    const bool keep = parser.get().keep_alive();
    reply.body = std::move(parser.get().body());
    if (!keep) stream_.reset();
    return reply;
  } catch (...) {
    stream_.reset();
    throw;
  }
}

}  // namespace kite::bench
