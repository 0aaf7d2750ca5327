#pragma once
// Throwaway certificates for the HTTPS server tests, made with the openssl command line in a
// temporary directory (removed again by the destructor): a CA with a server certificate for
// 127.0.0.1/localhost and a client certificate (CN alice, O system:masters and O "team a"),
// and a second, unrelated CA with a client certificate of its own.

#include <string>

namespace kite::http::testing {

class TestCertificates {
 public:
  TestCertificates();
  ~TestCertificates();
  TestCertificates(const TestCertificates&) = delete;
  TestCertificates& operator=(const TestCertificates&) = delete;

  std::string dir;
  std::string caCert;
  std::string serverCert;
  std::string serverKey;
  std::string clientCert;  // CN=alice, O=system:masters, O=team a
  std::string clientKey;
  std::string otherCaCert;
  std::string otherClientCert;  // CN=mallory, signed by the other CA
  std::string otherClientKey;
};

}  // namespace kite::http::testing
