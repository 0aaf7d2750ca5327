#pragma once
// Certificate signing requests (PKCS#10). The agent makes a key and a CSR for its identity;
// the server checks the CSR's signature (proof the requester holds the key) and signs it
// with its client CA. Only the CSR's subject and public key are used: requested extensions
// are ignored, the signer decides usages and validity.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "kite/pki/authority.h"
#include "kite/pki/certificate.h"
#include "kite/pki/key.h"

namespace kite::pki {

class CertificateRequest {
 public:
  // Throws PkiError for a malformed "CERTIFICATE REQUEST" PEM block.
  static CertificateRequest fromPem(std::string_view pem);
  std::string toPem() const;

  std::string commonName() const;
  std::vector<std::string> organizations() const;
  PublicKey publicKey() const;
  // True when the CSR is signed by the key it carries.
  bool signatureValid() const;

  X509_REQ* native() const { return req_.get(); }
  explicit CertificateRequest(std::shared_ptr<X509_REQ> req) : req_(std::move(req)) {}

 private:
  std::shared_ptr<X509_REQ> req_;
};

// A CSR for subject CN/O signed with key.
CertificateRequest createCsr(const PrivateKey& key, const std::string& commonName,
                             const std::vector<std::string>& organizations);

struct CsrWithKey {
  CertificateRequest request;
  PrivateKey key;
};
// A new P-256 key and a CSR for it.
CsrWithKey createCsr(const std::string& commonName, const std::vector<std::string>& organizations);

// A client certificate for the CSR's subject CN and O. Throws PkiError when the CSR's
// signature does not verify or it has no CN.
Certificate signClientCsr(const CertificateAuthority& ca, const CertificateRequest& csr,
                          std::chrono::seconds validity = kDefaultCertValidity);

// A serving certificate for the CSR's key with the SANs the signer chose (e.g. a kubelet's
// node name and addresses). Same refusals as signClientCsr.
Certificate signServingCsr(const CertificateAuthority& ca, const CertificateRequest& csr,
                           const std::vector<std::string>& dnsNames,
                           const std::vector<std::string>& ipAddresses,
                           std::chrono::seconds validity = kDefaultCertValidity);

}  // namespace kite::pki
