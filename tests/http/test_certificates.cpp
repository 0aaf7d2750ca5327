#include "test_certificates.h"

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace kite::http::testing {
namespace {

void run(const std::string& dir, const std::string& command) {
  std::string line = "cd '";
  line.append(dir).append("' && ").append(command).append(" >>openssl.log 2>&1");
  if (std::system(line.c_str()) != 0) {  // NOLINT(cert-env33-c): a test fixture's own tool
    throw std::runtime_error("test certificates: command failed (see " + dir +
                             "/openssl.log): " + command);
  }
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  if (!file) {
    throw std::runtime_error("test certificates: cannot write " + path);
  }
}

const char* const kNewKey = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

void makeCa(const std::string& dir, const std::string& name, const std::string& subject) {
  run(dir, std::string("openssl req -x509 ") + kNewKey + " -keyout " + name + ".key -out " + name +
               ".crt -days 2 -subj '" + subject + "'");
}

void makeLeaf(const std::string& dir, const std::string& name, const std::string& ca,
              const std::string& subject, const std::string& extensions) {
  writeFile(dir + "/" + name + ".ext", extensions);
  run(dir, std::string("openssl req -new ") + kNewKey + " -keyout " + name + ".key -out " + name +
               ".csr -subj '" + subject + "'");
  run(dir, "openssl x509 -req -in " + name + ".csr -CA " + ca + ".crt -CAkey " + ca +
               ".key -CAcreateserial -days 2 -extfile " + name + ".ext -out " + name + ".crt");
}

}  // namespace

TestCertificates::TestCertificates() {
  std::string pattern = (std::filesystem::temp_directory_path() / "kite-http-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("test certificates: cannot create a temporary directory");
  }
  dir = pattern;
  makeCa(dir, "ca", "/CN=kite-test-ca");
  makeLeaf(dir, "server", "ca", "/CN=kite-test-server",
           "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
           "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n");
  makeLeaf(dir, "client", "ca", "/O=system:masters/O=team a/CN=alice",
           "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
           "extendedKeyUsage=clientAuth\n");
  makeCa(dir, "other-ca", "/CN=some-other-ca");
  makeLeaf(dir, "other-client", "other-ca", "/O=system:masters/CN=mallory",
           "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
           "extendedKeyUsage=clientAuth\n");
  caCert = dir + "/ca.crt";
  serverCert = dir + "/server.crt";
  serverKey = dir + "/server.key";
  clientCert = dir + "/client.crt";
  clientKey = dir + "/client.key";
  otherCaCert = dir + "/other-ca.crt";
  otherClientCert = dir + "/other-client.crt";
  otherClientKey = dir + "/other-client.key";
}

TestCertificates::~TestCertificates() {
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace kite::http::testing
