// The kubelet's own serving certificate when none is configured: like the upstream kubelet, a
// certificate for this host signed by a CA made just for it ("<host>-ca@<time>"), written as
// kubelet.crt (certificate, then that CA) and kubelet.key under <root-dir>/pki, and reused
// while it is valid for at least another week.
#include <chrono>
#include <filesystem>

#include "kite/kubelet/kubelet_server.h"
#include "kite/pki/authority.h"
#include "kite/pki/files.h"

namespace kite::kubelet {

void ensureSelfSignedServingCertificate(KubeletServerOptions& options, const std::string& rootDir,
                                        const std::string& hostname,
                                        const std::vector<std::string>& addresses) {
  const std::filesystem::path dir = std::filesystem::path(rootDir) / "pki";
  const auto certFile = dir / "kubelet.crt";
  const auto keyFile = dir / "kubelet.key";
  options.tlsCertFile = certFile.string();
  options.tlsPrivateKeyFile = keyFile.string();
  if (std::filesystem::exists(certFile) && std::filesystem::exists(keyFile)) {
    try {
      const auto certificate = pki::Certificate::load(certFile);
      const auto key = pki::PrivateKey::load(keyFile);
      if (certificate.notAfter() > std::chrono::system_clock::now() + std::chrono::hours(24 * 7) &&
          certificate.publicKey().toPem() == key.publicKey().toPem()) {
        return;
      }
    } catch (const std::exception&) {
      // Unreadable or mismatched: made anew below.
    }
  }
  std::filesystem::create_directories(dir);
  const auto ca = pki::createSelfSignedCa(pki::caCommonName(hostname + "-ca"));
  const auto key = pki::PrivateKey::generateP256();
  pki::ServingCertOptions serving;
  serving.commonName = hostname + "@" +
                       std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  serving.dnsNames.push_back(hostname);
  for (const auto& address : addresses) {
    if (pki::isIpAddress(address)) {
      serving.ipAddresses.push_back(address);
    } else if (address != hostname && pki::isValidDnsName(address)) {
      serving.dnsNames.push_back(address);
    }
  }
  const auto certificate = pki::issueServingCertificate(ca, key.publicKey(), serving);
  key.save(keyFile);
  pki::writeFileAtomic(certFile, certificate.toPem() + ca.certificate.toPem(), 0644);
}

}  // namespace kite::kubelet
