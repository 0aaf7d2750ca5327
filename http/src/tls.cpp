#include "tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/system/system_error.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <span>
#include <stdexcept>
#include <string_view>

namespace kite::http::detail {
namespace {

namespace ssl = boost::asio::ssl;

// Protocols served, in the server's order of preference, as ALPN names; the connection picks
// its protocol handler from negotiatedProtocol() once the handshake is done (see
// Connection::onHandshake).
constexpr std::string_view kWithHttp2[] = {"h2", "http/1.1"};
constexpr std::string_view kHttp11Only[] = {"http/1.1"};

// OpenSSL's ALPN selection callback: the first served protocol (in the server's order) the
// client offered. A client offering none of them still gets a connection without ALPN
// (NOACK), as curl with --no-alpn does; it then speaks HTTP/1.1. `arg` is non-null when
// HTTP/2 is served.
int selectProtocol(SSL* /*ssl*/, const unsigned char** out, unsigned char* outLength,
                   const unsigned char* in, unsigned int inLength, void* arg) {
  const auto served = arg != nullptr ? std::span<const std::string_view>(kWithHttp2)
                                     : std::span<const std::string_view>(kHttp11Only);
  for (const std::string_view protocol : served) {
    unsigned int at = 0;
    while (at < inLength) {
      const unsigned int length = in[at];
      if (at + 1 + length > inLength) {
        break;  // malformed list
      }
      const std::string_view offered(reinterpret_cast<const char*>(in + at + 1), length);
      if (offered == protocol) {
        *out = in + at + 1;
        *outLength = static_cast<unsigned char>(length);
        return SSL_TLSEXT_ERR_OK;
      }
      at += 1 + length;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

void requireReadable(const std::string& path, std::string_view what) {
  if (path.empty()) {
    throw std::runtime_error(std::string("http: no ").append(what).append(" file configured"));
  }
  const std::ifstream file(path);
  if (!file) {
    const int error = errno;
    throw std::runtime_error(std::string("http: cannot read ")
                                 .append(what)
                                 .append(" file ")
                                 .append(path)
                                 .append(": ")
                                 .append(std::strerror(error)));
  }
}

std::string openSslError() {
  const unsigned long code = ERR_get_error();
  if (code == 0) {
    return "unknown error";
  }
  std::string text(256, '\0');
  ERR_error_string_n(code, text.data(), text.size());
  text.resize(std::strlen(text.c_str()));
  return text;
}

std::string utf8(const ASN1_STRING* value) {
  unsigned char* converted = nullptr;
  const int length = ASN1_STRING_to_UTF8(&converted, value);
  if (length < 0) {
    return {};
  }
  std::string text(reinterpret_cast<const char*>(converted), static_cast<std::size_t>(length));
  OPENSSL_free(converted);
  return text;
}

}  // namespace

boost::asio::ssl::context makeTlsContext(const TlsConfig& config, bool http2) {
  ssl::context context(ssl::context::tls_server);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use);
  SSL_CTX* native = context.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // Client-initiated renegotiation only costs the server CPU; nothing kite serves needs it.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Forward-secret AEAD suites only for TLS 1.2 (TLS 1.3 suites are all of that kind).
  SSL_CTX_set_cipher_list(native, "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20");
  // Hundreds of idle watch connections: do not keep 2 x 17 KiB of buffers for each.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);

  requireReadable(config.certificateFile, "TLS certificate");
  requireReadable(config.privateKeyFile, "TLS private key");
  try {
    context.use_certificate_chain_file(config.certificateFile);
  } catch (const boost::system::system_error& error) {
    throw std::runtime_error(std::string("http: cannot load TLS certificate file ")
                                 .append(config.certificateFile)
                                 .append(": ")
                                 .append(error.what()));
  }
  try {
    context.use_private_key_file(config.privateKeyFile, ssl::context::pem);
  } catch (const boost::system::system_error& error) {
    throw std::runtime_error(std::string("http: cannot load TLS private key file ")
                                 .append(config.privateKeyFile)
                                 .append(": ")
                                 .append(error.what()));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    throw std::runtime_error(std::string("http: TLS private key file ")
                                 .append(config.privateKeyFile)
                                 .append(" does not match certificate file ")
                                 .append(config.certificateFile)
                                 .append(": ")
                                 .append(openSslError()));
  }

  if (!config.clientCaFile.empty()) {
    requireReadable(config.clientCaFile, "client CA");
    try {
      context.load_verify_file(config.clientCaFile);
    } catch (const boost::system::system_error& error) {
      throw std::runtime_error(std::string("http: cannot load client CA file ")
                                   .append(config.clientCaFile)
                                   .append(": ")
                                   .append(error.what()));
    }
    // Tells clients which CAs are accepted, so one holding several certificates picks right.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.clientCaFile.c_str());
    if (names != nullptr) {
      SSL_CTX_set_client_CA_list(native, names);
    }
    // Requested, not required (bearer tokens authenticate too); a certificate that is
    // presented must verify, or the handshake fails.
    context.set_verify_mode(ssl::verify_peer);
  }
  // Session resumption with client certificates needs a session id context.
  static constexpr unsigned char kSessionContext[] = {'k', 'i', 't', 'e'};
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext);
  // Any non-null pointer says "serve h2"; the callback never dereferences it.
  static int servesHttp2 = 1;
  SSL_CTX_set_alpn_select_cb(native, selectProtocol, http2 ? &servesHttp2 : nullptr);
  return context;
}

std::optional<PeerIdentity> verifiedPeer(SSL* ssl) {
  X509* certificate = SSL_get0_peer_certificate(ssl);
  if (certificate == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) {
    return std::nullopt;
  }
  PeerIdentity peer;
  X509_NAME* subject = X509_get_subject_name(certificate);
  const int count = X509_NAME_entry_count(subject);
  for (int i = 0; i < count; ++i) {
    X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    if (nid == NID_commonName) {
      // The last CN wins, as Kubernetes (Go's crypto/x509) reads a subject.
      peer.commonName = utf8(X509_NAME_ENTRY_get_data(entry));
    } else if (nid == NID_organizationName) {
      peer.organizations.push_back(utf8(X509_NAME_ENTRY_get_data(entry)));
    }
  }
  return peer;
}

std::string negotiatedProtocol(SSL* ssl) {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl, &data, &length);
  return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), length);
}

}  // namespace kite::http::detail
