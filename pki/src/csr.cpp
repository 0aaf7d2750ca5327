#include "kite/pki/csr.h"

#include <openssl/pem.h>

#include "kite/pki/error.h"
#include "ossl.h"

namespace kite::pki {
namespace {

std::vector<std::string> nameEntries(const X509_NAME* name, int nid) {
  std::vector<std::string> out;
  int index = -1;
  while ((index = X509_NAME_get_index_by_NID(name, nid, index)) >= 0) {
    unsigned char* utf8 = nullptr;
    const int length =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index)));
    if (length < 0) detail::throwOpenssl("decoding a CSR subject entry");
    out.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
    OPENSSL_free(utf8);
  }
  return out;
}

void checkSignable(const CertificateRequest& csr) {
  if (!csr.signatureValid()) {
    throw PkiError("refusing to sign CSR for CN=" + csr.commonName() +
                   ": its signature does not verify with its public key");
  }
  if (csr.commonName().empty()) throw PkiError("refusing to sign CSR: subject has no CN");
}

}  // namespace

CertificateRequest CertificateRequest::fromPem(std::string_view pem) {
  auto bio = detail::memoryBio(pem);
  X509_REQ* req = PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr);
  if (req == nullptr) detail::throwOpenssl("reading PEM certificate request");
  return CertificateRequest(std::shared_ptr<X509_REQ>(req, X509_REQ_free));
}

std::string CertificateRequest::toPem() const {
  auto bio = detail::newMemoryBio();
  if (PEM_write_bio_X509_REQ(bio.get(), req_.get()) != 1) {
    detail::throwOpenssl("writing PEM certificate request");
  }
  return detail::bioContents(bio.get());
}

std::string CertificateRequest::commonName() const {
  auto names = nameEntries(X509_REQ_get_subject_name(req_.get()), NID_commonName);
  return names.empty() ? std::string() : names.front();
}

std::vector<std::string> CertificateRequest::organizations() const {
  return nameEntries(X509_REQ_get_subject_name(req_.get()), NID_organizationName);
}

PublicKey CertificateRequest::publicKey() const {
  EVP_PKEY* key = X509_REQ_get_pubkey(req_.get());  // up-ref'ed
  if (key == nullptr) detail::throwOpenssl("reading CSR public key");
  return PublicKey(adoptKey(key));
}

bool CertificateRequest::signatureValid() const {
  EVP_PKEY* key = X509_REQ_get0_pubkey(req_.get());
  const bool ok = key != nullptr && X509_REQ_verify(req_.get(), key) == 1;
  detail::drainErrors();
  return ok;
}

CertificateRequest createCsr(const PrivateKey& key, const std::string& commonName,
                             const std::vector<std::string>& organizations) {
  if (commonName.empty()) throw PkiError("CSR subject CN must not be empty");
  detail::X509ReqPtr req(X509_REQ_new());
  if (!req) detail::throwOpenssl("X509_REQ_new");
  if (X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) {
    detail::throwOpenssl("X509_REQ_set_version");
  }
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  for (const auto& org : organizations) {
    if (X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(org.c_str()),
                                   static_cast<int>(org.size()), -1, 0) != 1) {
      detail::throwOpenssl("setting CSR subject O=" + org);
    }
  }
  if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(commonName.c_str()),
                                 static_cast<int>(commonName.size()), -1, 0) != 1) {
    detail::throwOpenssl("setting CSR subject CN=" + commonName);
  }
  if (X509_REQ_set_pubkey(req.get(), key.native()) != 1)
    detail::throwOpenssl("X509_REQ_set_pubkey");
  if (X509_REQ_sign(req.get(), key.native(), EVP_sha256()) <= 0) {
    detail::throwOpenssl("signing CSR for CN=" + commonName);
  }
  return CertificateRequest(std::shared_ptr<X509_REQ>(req.release(), X509_REQ_free));
}

CsrWithKey createCsr(const std::string& commonName, const std::vector<std::string>& organizations) {
  PrivateKey key = PrivateKey::generateP256();
  CertificateRequest request = createCsr(key, commonName, organizations);
  return {std::move(request), std::move(key)};
}

Certificate signClientCsr(const CertificateAuthority& ca, const CertificateRequest& csr,
                          std::chrono::seconds validity) {
  checkSignable(csr);
  return issueClientCertificate(ca, csr.publicKey(),
                                {csr.commonName(), csr.organizations(), validity});
}

Certificate signServingCsr(const CertificateAuthority& ca, const CertificateRequest& csr,
                           const std::vector<std::string>& dnsNames,
                           const std::vector<std::string>& ipAddresses,
                           std::chrono::seconds validity) {
  checkSignable(csr);
  return issueServingCertificate(ca, csr.publicKey(),
                                 {csr.commonName(), dnsNames, ipAddresses, validity});
}

}  // namespace kite::pki
