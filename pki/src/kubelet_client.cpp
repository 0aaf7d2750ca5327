#include "kite/pki/kubelet_client.h"

#include <optional>

#include "kite/pki/files.h"
#include "kite/pki/verify.h"

namespace kite::pki {

KubeletClientFiles ensureKubeletClientCertificate(const ServerPki& pki,
                                                  std::chrono::seconds renewBefore) {
  KubeletClientFiles files{pki.paths.tlsDir / "client-kube-apiserver-kubelet.crt",
                           pki.paths.tlsDir / "client-kube-apiserver-kubelet.key"};
  const PrivateKey key = std::filesystem::exists(files.keyFile) ? PrivateKey::load(files.keyFile)
                                                                : PrivateKey::generateP256();
  std::optional<Certificate> certificate;
  if (std::filesystem::exists(files.certFile)) {
    certificate = Certificate::load(files.certFile);
  }
  bool usable = certificate && certificate->publicKey() == key.publicKey() &&
                certificate->subjectCommonName() == kKubeletClientUser &&
                certificate->notAfter() - std::chrono::system_clock::now() > renewBefore;
  if (usable) {
    VerifyOptions verify;
    verify.purpose = Purpose::kClientAuth;
    usable = verifyCertificate(*certificate, {pki.clientCa.certificate}, verify).ok;
  }
  if (!usable) {
    ClientCertOptions options;
    options.commonName = kKubeletClientUser;
    certificate = issueClientCertificate(pki.clientCa, key.publicKey(), options);
    key.save(files.keyFile);
    writeFileAtomic(files.certFile, certificate->toPem(), 0644);
  }
  return files;
}

}  // namespace kite::pki
