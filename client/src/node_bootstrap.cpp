#include "kite/client/node_bootstrap.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "kite/client/transport.h"
#include "kite/pki/csr.h"
#include "kite/pki/files.h"
#include "kite/pki/join_token.h"
#include "kite/pki/kubeconfig.h"
#include "kite/pki/random.h"
#include "kite/pki/verify.h"

namespace kite::client {

namespace {

namespace fs = std::filesystem;

struct Paths {
  fs::path serverCa, clientCa, password, clientCert, clientKey, servingCert, servingKey, kubeconfig;
  explicit Paths(const fs::path& dir)
      : serverCa(dir / "server-ca.crt"),
        clientCa(dir / "client-ca.crt"),
        password(dir / "node-password"),
        clientCert(dir / "client-kubelet.crt"),
        clientKey(dir / "client-kubelet.key"),
        servingCert(dir / "serving-kubelet.crt"),
        servingKey(dir / "serving-kubelet.key"),
        kubeconfig(dir / "kubelet.kubeconfig") {}
};

std::string fetchCa(const NodeBootstrapOptions& options, const pki::JoinToken& token) {
  RestConfig config;
  config.server = options.server;
  config.insecureSkipTlsVerify = true;  // checked against the token's hash below
  config.connectTimeout = std::chrono::seconds(10);
  config.requestTimeout = std::chrono::seconds(20);
  Transport transport(config);
  HttpRequest request;
  request.target = "/cacerts";
  const auto response = transport.send(request);
  if (response.status != 200) {
    throw std::runtime_error("GET " + options.server + "/cacerts: HTTP " +
                             std::to_string(response.status));
  }
  switch (pki::checkCaAgainstToken(token, response.body)) {
    case pki::CaCheck::kMatch:
      break;
    case pki::CaCheck::kMismatch:
      throw std::runtime_error("the CA of " + options.server +
                               " does not match the hash in the join token: refusing to trust it");
    case pki::CaCheck::kNoHash:
      spdlog::warn(
          "the join token has no CA hash (short form): trusting the CA {} presents on first use; "
          "use the full token from the server's token file to check it",
          options.server);
      break;
  }
  return response.body;
}

bool usable(const fs::path& certFile, const fs::path& keyFile, const std::string& caPem,
            const NodeBootstrapOptions& options, const std::string& commonName,
            const std::vector<std::string>& ips) {
  if (!fs::exists(certFile) || !fs::exists(keyFile)) return false;
  try {
    const auto cert = pki::Certificate::load(certFile);
    const auto key = pki::PrivateKey::load(keyFile);
    if (cert.publicKey() != key.publicKey()) return false;
    if (!pki::verifyCertificate(cert, pki::Certificate::bundleFromPem(caPem))) return false;
    if (cert.notAfter() - options.renewBefore < std::chrono::system_clock::now()) return false;
    if (!commonName.empty()) return cert.subjectCommonName() == commonName;
    const auto names = cert.dnsNames();
    if (std::find(names.begin(), names.end(), options.nodeName) == names.end()) return false;
    const auto have = cert.ipAddresses();
    return std::all_of(ips.begin(), ips.end(), [&](const std::string& ip) {
      return std::find(have.begin(), have.end(), pki::canonicalIp(ip)) != have.end();
    });
  } catch (const std::exception&) {
    return false;  // unreadable: get a new one
  }
}

// POSTs a CSR to the server and returns the PEM answer (certificate, then its CA).
std::string requestCertificate(const NodeBootstrapOptions& options, const std::string& serverCa,
                               const std::string& password, const std::string& path,
                               const pki::CertificateRequest& csr) {
  RestConfig config;
  config.server = options.server;
  config.caPem = serverCa;
  config.connectTimeout = std::chrono::seconds(10);
  config.requestTimeout = std::chrono::seconds(30);
  Transport transport(config);
  HttpRequest request;
  request.method = "POST";
  request.target = path;
  request.body = csr.toPem();
  request.contentType = "application/pkcs10";
  std::string ips;
  for (const auto& ip : options.nodeIps) ips += (ips.empty() ? "" : ",") + ip;
  request.headers = {{"Authorization", "Bearer " + options.token},
                     {"Kite-Node-Name", options.nodeName},
                     {"Kite-Node-Password", password},
                     {"Kite-Node-Ip", ips}};
  const auto response = transport.send(request);
  if (response.status != 200) {
    throw std::runtime_error("POST " + options.server + path + ": HTTP " +
                             std::to_string(response.status) + ": " + response.body);
  }
  return response.body;
}

}  // namespace

NodeCredentials bootstrapNode(const NodeBootstrapOptions& options) {
  if (options.server.rfind("https://", 0) != 0) {
    throw std::runtime_error("--server " + options.server + ": want https://HOST:PORT");
  }
  if (options.token.empty()) throw std::runtime_error("--token (or KITE_TOKEN) is required");
  if (options.nodeName.empty()) throw std::runtime_error("a node name is required");
  const auto token = pki::JoinToken::parse(options.token);
  pki::ensurePrivateDirectory(options.dir);
  const Paths paths(options.dir);

  // The CA: the one kept from an earlier join when it still matches the token.
  std::string serverCa;
  if (fs::exists(paths.serverCa)) {
    serverCa = pki::readFile(paths.serverCa);
    if (pki::checkCaAgainstToken(token, serverCa) == pki::CaCheck::kMismatch) serverCa.clear();
  }
  if (serverCa.empty()) {
    serverCa = fetchCa(options, token);
    pki::writeFileAtomic(paths.serverCa, serverCa, 0600);
  }

  std::string password;
  if (fs::exists(paths.password)) password = pki::readFile(paths.password);
  if (password.size() < 16) {
    password = pki::randomHex(16);
    pki::writeFileAtomic(paths.password, password, 0600);
  }

  NodeCredentials out;
  const std::string user = "system:node:" + options.nodeName;
  std::string clientCa = fs::exists(paths.clientCa) ? pki::readFile(paths.clientCa) : "";
  if (clientCa.empty() || !usable(paths.clientCert, paths.clientKey, clientCa, options, user, {})) {
    auto csr = pki::createCsr(user, {"system:nodes"});
    const auto pem =
        requestCertificate(options, serverCa, password, "/v1-kite/client-kubelet.crt", csr.request);
    const auto chain = pki::Certificate::bundleFromPem(pem);
    if (chain.size() < 2) throw std::runtime_error("the server sent no client CA");
    clientCa = chain[1].toPem();
    csr.key.save(paths.clientKey);
    pki::writeFileAtomic(paths.clientCert, chain[0].toPem(), 0600);
    pki::writeFileAtomic(paths.clientCa, clientCa, 0600);
    out.clientRenewed = true;
  }
  if (!usable(paths.servingCert, paths.servingKey, serverCa, options, {}, options.nodeIps)) {
    auto csr = pki::createCsr(options.nodeName, {});
    const auto pem = requestCertificate(options, serverCa, password, "/v1-kite/serving-kubelet.crt",
                                        csr.request);
    csr.key.save(paths.servingKey);
    pki::writeFileAtomic(paths.servingCert, pki::Certificate::fromPem(pem).toPem(), 0600);
    out.servingRenewed = true;
  }

  if (out.clientRenewed || !fs::exists(paths.kubeconfig)) {
    pki::Kubeconfig kc;
    kc.server = options.server;
    kc.certificateAuthorityPem = serverCa;
    kc.clientCertificatePem = pki::readFile(paths.clientCert);
    kc.clientKeyPem = pki::readFile(paths.clientKey);
    kc.userName = user;
    kc.write(paths.kubeconfig);
  }
  out.kubeconfig = paths.kubeconfig;
  out.serverCa = paths.serverCa;
  out.clientCa = paths.clientCa;
  out.servingCert = paths.servingCert;
  out.servingKey = paths.servingKey;
  out.expires = std::min(pki::Certificate::load(paths.clientCert).notAfter(),
                         pki::Certificate::load(paths.servingCert).notAfter());
  return out;
}

}  // namespace kite::client
