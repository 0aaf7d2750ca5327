#include "kite/pki/certificate.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <array>
#include <ctime>

#include "kite/pki/encoding.h"
#include "kite/pki/error.h"
#include "kite/pki/files.h"
#include "ossl.h"

namespace kite::pki {

std::shared_ptr<X509> adoptCertificate(X509* cert) {
  if (cert == nullptr) throw PkiError("adoptCertificate: null certificate");
  return {cert, X509_free};
}

namespace {

std::string asn1ToUtf8(const ASN1_STRING* value) {
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, value);
  if (length < 0) detail::throwOpenssl("decoding a certificate name entry");
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return out;
}

std::vector<std::string> nameEntries(const X509_NAME* name, int nid) {
  std::vector<std::string> out;
  int index = -1;
  while ((index = X509_NAME_get_index_by_NID(name, nid, index)) >= 0) {
    out.push_back(asn1ToUtf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index))));
  }
  return out;
}

TimePoint asn1ToTime(const ASN1_TIME* time) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) detail::throwOpenssl("decoding a certificate time");
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// Runs fn on each SAN entry of the given type.
template <typename Fn>
void forEachSan(X509* cert, int type, Fn fn) {
  detail::GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == type) fn(name);
  }
}

}  // namespace

Certificate Certificate::fromPem(std::string_view pem) {
  auto bio = detail::memoryBio(pem);
  X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (cert == nullptr) detail::throwOpenssl("reading PEM certificate");
  return Certificate(adoptCertificate(cert));
}

std::vector<Certificate> Certificate::bundleFromPem(std::string_view pem) {
  auto bio = detail::memoryBio(pem);
  std::vector<Certificate> out;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(adoptCertificate(cert));
  }
  // The loop ends with "no start line" at the end of the data; anything else is a bad block.
  const unsigned long last = ERR_peek_last_error();  // NOLINT(google-runtime-int): OpenSSL's type
  const bool cleanEnd =
      ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  if (!cleanEnd) {
    detail::throwOpenssl("reading PEM certificate bundle (certificate " +
                         std::to_string(out.size() + 1) + ")");
  }
  detail::drainErrors();
  if (out.empty()) throw PkiError("reading PEM certificate bundle: no certificate found");
  return out;
}

Certificate Certificate::load(const std::filesystem::path& path) {
  const std::string pem = readFile(path);
  try {
    return fromPem(pem);
  } catch (const PkiError& e) {
    throw PkiError(path.string() + ": " + e.what());
  }
}

std::string Certificate::toPem() const {
  auto bio = detail::newMemoryBio();
  if (PEM_write_bio_X509(bio.get(), cert_.get()) != 1) {
    detail::throwOpenssl("writing PEM certificate");
  }
  return detail::bioContents(bio.get());
}

std::string Certificate::toDer() const {
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert_.get(), &der);
  if (length <= 0) detail::throwOpenssl("encoding certificate as DER");
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

std::string Certificate::subjectCommonName() const {
  auto names = nameEntries(X509_get_subject_name(cert_.get()), NID_commonName);
  return names.empty() ? std::string() : names.front();
}

std::vector<std::string> Certificate::subjectOrganizations() const {
  return nameEntries(X509_get_subject_name(cert_.get()), NID_organizationName);
}

std::string Certificate::issuerCommonName() const {
  auto names = nameEntries(X509_get_issuer_name(cert_.get()), NID_commonName);
  return names.empty() ? std::string() : names.front();
}

std::vector<std::string> Certificate::dnsNames() const {
  std::vector<std::string> out;
  forEachSan(cert_.get(), GEN_DNS,
             [&](const GENERAL_NAME* name) { out.push_back(asn1ToUtf8(name->d.dNSName)); });
  return out;
}

std::vector<std::string> Certificate::ipAddresses() const {
  std::vector<std::string> out;
  forEachSan(cert_.get(), GEN_IPADD, [&](const GENERAL_NAME* name) {
    const ASN1_OCTET_STRING* ip = name->d.iPAddress;
    const int length = ASN1_STRING_length(ip);
    std::array<char, INET6_ADDRSTRLEN> text{};
    const int family = length == 4 ? AF_INET : length == 16 ? AF_INET6 : AF_UNSPEC;
    if (family != AF_UNSPEC &&
        inet_ntop(family, ASN1_STRING_get0_data(ip), text.data(), text.size()) != nullptr) {
      out.emplace_back(text.data());
    }
  });
  return out;
}

TimePoint Certificate::notBefore() const { return asn1ToTime(X509_get0_notBefore(cert_.get())); }

TimePoint Certificate::notAfter() const { return asn1ToTime(X509_get0_notAfter(cert_.get())); }

std::string Certificate::serialHex() const {
  detail::BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert_.get()), nullptr));
  if (!serial) detail::throwOpenssl("reading certificate serial number");
  char* hex = BN_bn2hex(serial.get());
  if (hex == nullptr) detail::throwOpenssl("formatting certificate serial number");
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

bool Certificate::isCa() const { return (X509_get_extension_flags(cert_.get()) & EXFLAG_CA) != 0; }

PublicKey Certificate::publicKey() const {
  EVP_PKEY* key = X509_get_pubkey(cert_.get());  // up-ref'ed copy
  if (key == nullptr) detail::throwOpenssl("reading certificate public key");
  return PublicKey(adoptKey(key));
}

bool Certificate::isSignedBy(const Certificate& issuer) const {
  EVP_PKEY* key = X509_get0_pubkey(issuer.native());
  if (key == nullptr) return false;
  const bool ok = X509_verify(cert_.get(), key) == 1;
  detail::drainErrors();
  return ok;
}

bool Certificate::operator==(const Certificate& other) const {
  return X509_cmp(cert_.get(), other.cert_.get()) == 0;
}

std::string bundleToPem(const std::vector<Certificate>& certificates) {
  std::string out;
  for (const auto& cert : certificates) out.append(cert.toPem());
  return out;
}

}  // namespace kite::pki
