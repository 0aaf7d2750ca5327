#include "kite/pki/server_pki.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <utility>

#include "kite/pki/error.h"
#include "kite/pki/files.h"
#include "kite/pki/verify.h"

namespace kite::pki {
namespace {

namespace fs = std::filesystem;

bool fileExists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

std::string machineHostname() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return {};
  return name.data();
}

// Loads the CA at cert/key, or creates it when neither file exists. created is set when it
// was created.
CertificateAuthority loadOrCreateCa(const fs::path& cert, const fs::path& key,
                                    std::string_view prefix, std::chrono::seconds validity,
                                    bool& created) {
  const bool haveCert = fileExists(cert);
  const bool haveKey = fileExists(key);
  if (haveCert && haveKey) return CertificateAuthority::load(cert, key);
  if (haveCert != haveKey) {
    // Replacing half a CA would silently invalidate every certificate and token issued.
    throw PkiError("incomplete CA: " + (haveCert ? cert : key).string() + " exists but " +
                   (haveCert ? key : cert).string() + " does not; restore it or remove both");
  }
  CertificateAuthority ca = createSelfSignedCa(caCommonName(prefix), validity);
  ca.save(cert, key);
  created = true;
  return ca;
}

PrivateKey loadOrCreateKey(const fs::path& path) {
  if (fileExists(path)) return PrivateKey::load(path);
  PrivateKey key = PrivateKey::generateP256();
  key.save(path);
  return key;
}

// The key at path when it loads, else a new one (the certificate is re-issued either way).
PrivateKey loadKeyOrNew(const fs::path& path) {
  if (fileExists(path)) {
    try {
      return PrivateKey::load(path);
    } catch (const PkiError&) {
      // An unreadable leaf key is replaced along with its certificate.
    }
  }
  return PrivateKey::generateP256();
}

std::optional<Certificate> loadCertificateIfPresent(const fs::path& path) {
  if (!fileExists(path)) return std::nullopt;
  try {
    return Certificate::load(path);
  } catch (const PkiError&) {
    return std::nullopt;  // a damaged leaf certificate is re-issued
  }
}

std::vector<std::string> sorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values;
}

bool expiresWithin(const Certificate& cert, std::chrono::seconds window) {
  return cert.notAfter() - std::chrono::system_clock::now() < window;
}

// The leaf is usable when its key matches, it chains to ca for purpose, and it is not about
// to expire.
bool leafUsable(const std::optional<Certificate>& cert, const PrivateKey& key,
                const CertificateAuthority& ca, Purpose purpose, std::chrono::seconds renewBefore) {
  if (!cert) return false;
  if (!(cert->publicKey() == key.publicKey())) return false;
  VerifyOptions verify;
  verify.purpose = purpose;
  if (!verifyCertificate(*cert, {ca.certificate}, verify)) return false;
  return !expiresWithin(*cert, renewBefore);
}

void wantedSans(const ServerPkiOptions& options, std::vector<std::string>& dnsNames,
                std::vector<std::string>& ips) {
  std::vector<std::string> names = {"localhost", "127.0.0.1", "::1"};
  std::string host = options.hostname.empty() ? machineHostname() : options.hostname;
  std::transform(host.begin(), host.end(), host.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  // A hostname that is not a DNS name (e.g. with '_') cannot be a SAN; clients use IPs then.
  if (isValidDnsName(host) || isIpAddress(host)) names.push_back(host);
  for (const char* name : {"kubernetes", "kubernetes.default", "kubernetes.default.svc"}) {
    names.emplace_back(name);
  }
  names.push_back("kubernetes.default.svc." + options.clusterDomain);
  for (const auto& ip : options.nodeIps) {
    if (!isIpAddress(ip)) throw PkiError("node IP is not an IP address: \"" + ip + "\"");
    names.push_back(ip);
  }
  for (const auto& ip : options.serviceIps) {
    if (!isIpAddress(ip)) throw PkiError("service IP is not an IP address: \"" + ip + "\"");
    names.push_back(ip);
  }
  for (const auto& san : options.tlsSans) {
    if (!isIpAddress(san) && !isValidDnsName(san)) {
      throw PkiError("--tls-san is neither a DNS name nor an IP address: \"" + san + "\"");
    }
    names.push_back(san);
  }
  splitSubjectAltNames(names, dnsNames, ips);
}

JoinToken loadOrCreateToken(const ServerPkiPaths& paths, const std::string& caBundlePem,
                            const std::string& wanted) {
  std::optional<JoinToken> given;
  if (!wanted.empty()) {
    given = JoinToken::parse(wanted);
    if (checkCaAgainstToken(*given, caBundlePem) == CaCheck::kMismatch) {
      throw PkiError("the given token's CA hash does not match the server CA in " +
                     paths.serverCaCert.string());
    }
  }
  std::optional<JoinToken> stored;
  if (fileExists(paths.token)) {
    try {
      stored = JoinToken::parse(readFile(paths.token));
    } catch (const PkiError& e) {
      throw PkiError(paths.token.string() + ": " + e.what());
    }
    if (given && !given->sameSecret(*stored)) {
      throw PkiError("the given token differs from the one stored in " + paths.token.string() +
                     "; agents already joined with the stored one");
    }
  }
  std::string secret = stored ? stored->secret : given ? given->secret : generateTokenSecret();
  JoinToken token = makeJoinToken(caBundlePem, std::move(secret));
  // Rewrite only when the file is missing or stale (e.g. it was written in the short form).
  if (!stored || stored->toString() != token.toString()) {
    writeFileAtomic(paths.token, token.toString() + "\n", kSecretFileMode);
  }
  return token;
}

}  // namespace

ServerPkiPaths ServerPkiPaths::forDataDir(const fs::path& dataDir) {
  ServerPkiPaths p;
  const fs::path server = dataDir / "server";
  p.tlsDir = server / "tls";
  p.serverCaCert = p.tlsDir / "server-ca.crt";
  p.serverCaKey = p.tlsDir / "server-ca.key";
  p.clientCaCert = p.tlsDir / "client-ca.crt";
  p.clientCaKey = p.tlsDir / "client-ca.key";
  p.servingCert = p.tlsDir / "serving-kube-apiserver.crt";
  p.servingKey = p.tlsDir / "serving-kube-apiserver.key";
  p.adminCert = p.tlsDir / "client-admin.crt";
  p.adminKey = p.tlsDir / "client-admin.key";
  p.serviceAccountKey = p.tlsDir / "service.key";
  p.token = server / "token";
  return p;
}

Kubeconfig ServerPki::adminKubeconfig(const std::string& serverUrl) const {
  Kubeconfig config;
  config.server = serverUrl;
  config.certificateAuthorityPem = serverCaBundlePem;
  config.clientCertificatePem = adminCertificate.toPem();
  config.clientKeyPem = adminKey.toPem();
  return config;
}

ServerPki loadOrCreateServerPki(const ServerPkiOptions& options) {
  if (options.dataDir.empty()) throw PkiError("server PKI needs a data directory");
  const ServerPkiPaths paths = ServerPkiPaths::forDataDir(options.dataDir);
  ensurePrivateDirectory(paths.tlsDir.parent_path());
  ensurePrivateDirectory(paths.tlsDir);

  bool created = false;
  CertificateAuthority serverCa = loadOrCreateCa(paths.serverCaCert, paths.serverCaKey,
                                                 "kite-server-ca", options.caValidity, created);
  CertificateAuthority clientCa = loadOrCreateCa(paths.clientCaCert, paths.clientCaKey,
                                                 "kite-client-ca", options.caValidity, created);
  std::string serverCaBundlePem = readFile(paths.serverCaCert);
  PrivateKey serviceAccountKey = loadOrCreateKey(paths.serviceAccountKey);
  if (!serviceAccountKey.isP256()) {
    throw PkiError(paths.serviceAccountKey.string() +
                   ": service-account key must be ECDSA P-256 (tokens are signed ES256)");
  }
  JoinToken token = loadOrCreateToken(paths, serverCaBundlePem, options.token);

  std::vector<std::string> dnsNames;
  std::vector<std::string> ips;
  wantedSans(options, dnsNames, ips);

  // Serving certificate.
  PrivateKey servingKey = loadKeyOrNew(paths.servingKey);
  std::optional<Certificate> serving = loadCertificateIfPresent(paths.servingCert);
  const bool servingOk =
      leafUsable(serving, servingKey, serverCa, Purpose::kServerAuth, options.renewBefore) &&
      sorted(serving->dnsNames()) == sorted(dnsNames) &&
      sorted(serving->ipAddresses()) == sorted(ips);
  if (!servingOk) {
    serving = issueServingCertificate(serverCa, servingKey.publicKey(),
                                      {kApiServerCommonName, dnsNames, ips, options.certValidity});
    servingKey.save(paths.servingKey);  // key first: a new certificate always has its key
    writeFileAtomic(paths.servingCert, serving->toPem(), kPublicFileMode);
  }

  // Admin client certificate.
  PrivateKey adminKey = loadKeyOrNew(paths.adminKey);
  std::optional<Certificate> admin = loadCertificateIfPresent(paths.adminCert);
  const bool adminOk =
      leafUsable(admin, adminKey, clientCa, Purpose::kClientAuth, options.renewBefore) &&
      admin->subjectCommonName() == kAdminUser &&
      admin->subjectOrganizations() == std::vector<std::string>{kAdminGroup};
  if (!adminOk) {
    admin = issueClientCertificate(clientCa, adminKey.publicKey(),
                                   {kAdminUser, {kAdminGroup}, options.certValidity});
    adminKey.save(paths.adminKey);
    writeFileAtomic(paths.adminCert, admin->toPem(), kPublicFileMode);
  }

  return ServerPki{paths,
                   std::move(serverCa),
                   std::move(clientCa),
                   std::move(serverCaBundlePem),
                   std::move(*serving),
                   std::move(servingKey),
                   std::move(*admin),
                   std::move(adminKey),
                   std::move(serviceAccountKey),
                   std::move(token),
                   std::move(dnsNames),
                   std::move(ips),
                   created,
                   !servingOk,
                   !adminOk};
}

}  // namespace kite::pki
