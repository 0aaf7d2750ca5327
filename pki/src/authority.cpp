#include "kite/pki/authority.h"

#include <arpa/inet.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>

#include "issue.h"
#include "kite/pki/error.h"
#include "kite/pki/files.h"
#include "ossl.h"

namespace kite::pki {
namespace {

// Peers may run slightly behind; certificates start this far in the past.
constexpr std::chrono::minutes kBackdate{5};

void setSubject(X509_NAME* name, const detail::IssueRequest& request) {
  // O before CN, the order Kubernetes' own certificates use.
  for (const auto& org : request.organizations) {
    if (X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(org.c_str()),
                                   static_cast<int>(org.size()), -1, 0) != 1) {
      detail::throwOpenssl("setting subject O=" + org);
    }
  }
  if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(request.commonName.c_str()),
                                 static_cast<int>(request.commonName.size()), -1, 0) != 1) {
    detail::throwOpenssl("setting subject CN=" + request.commonName);
  }
}

void addExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  detail::X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    detail::throwOpenssl(std::string("adding certificate extension ") + OBJ_nid2sn(nid));
  }
}

}  // namespace

bool isValidDnsName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  // Letters, digits, '-', '.', and a leading "*." wildcard; no empty labels.
  std::string_view rest = name;
  if (rest.starts_with("*.")) rest.remove_prefix(2);
  if (rest.empty() || rest.front() == '.' || rest.back() == '.' ||
      rest.find("..") != std::string_view::npos) {
    return false;
  }
  return std::all_of(rest.begin(), rest.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  });
}

namespace {

void addSubjectAltNames(X509* cert, const std::vector<std::string>& dnsNames,
                        const std::vector<std::string>& ipAddresses) {
  if (dnsNames.empty() && ipAddresses.empty()) return;
  detail::GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) detail::throwOpenssl("sk_GENERAL_NAME_new_null");
  for (const auto& dns : dnsNames) {
    if (!isValidDnsName(dns))
      throw PkiError("invalid DNS name for a certificate SAN: \"" + dns + "\"");
    GENERAL_NAME* name = GENERAL_NAME_new();
    ASN1_IA5STRING* value = ASN1_IA5STRING_new();
    if (name == nullptr || value == nullptr ||
        ASN1_STRING_set(value, dns.data(), static_cast<int>(dns.size())) != 1) {
      GENERAL_NAME_free(name);
      ASN1_IA5STRING_free(value);
      detail::throwOpenssl("building DNS SAN " + dns);
    }
    GENERAL_NAME_set0_value(name, GEN_DNS, value);
    if (sk_GENERAL_NAME_push(names.get(), name) <= 0) {
      GENERAL_NAME_free(name);
      detail::throwOpenssl("sk_GENERAL_NAME_push");
    }
  }
  for (const auto& ip : ipAddresses) {
    ASN1_OCTET_STRING* value = a2i_IPADDRESS(ip.c_str());
    if (value == nullptr) {
      detail::drainErrors();
      throw PkiError("invalid IP address for a certificate SAN: \"" + ip + "\"");
    }
    GENERAL_NAME* name = GENERAL_NAME_new();
    if (name == nullptr) {
      ASN1_OCTET_STRING_free(value);
      detail::throwOpenssl("GENERAL_NAME_new");
    }
    GENERAL_NAME_set0_value(name, GEN_IPADD, value);
    if (sk_GENERAL_NAME_push(names.get(), name) <= 0) {
      GENERAL_NAME_free(name);
      detail::throwOpenssl("sk_GENERAL_NAME_push");
    }
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    detail::throwOpenssl("adding subjectAltName");
  }
}

void setRandomSerial(X509* cert) {
  detail::BignumPtr serial(BN_new());
  // 127 random bits: positive and well inside RFC 5280's 20-octet limit.
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    detail::throwOpenssl("generating a certificate serial number");
  }
}

}  // namespace

namespace detail {

Certificate issue(const Certificate* issuer, const PrivateKey& signer, const PublicKey& subjectKey,
                  const IssueRequest& request) {
  if (request.commonName.empty()) throw PkiError("certificate subject CN must not be empty");
  if (request.validity <= std::chrono::seconds::zero()) {
    throw PkiError("certificate validity must be positive (CN=" + request.commonName + ")");
  }
  X509Ptr cert(X509_new());
  if (!cert) throwOpenssl("X509_new");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) throwOpenssl("X509_set_version");
  setRandomSerial(cert.get());

  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  const std::time_t notBefore = now - std::chrono::seconds(kBackdate).count();
  const std::time_t notAfter = now + request.validity.count();
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), notBefore) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), notAfter) == nullptr) {
    throwOpenssl("setting certificate validity");
  }

  setSubject(X509_get_subject_name(cert.get()), request);
  const X509_NAME* issuerName = issuer != nullptr ? X509_get_subject_name(issuer->native())
                                                  : X509_get_subject_name(cert.get());
  if (X509_set_issuer_name(cert.get(), issuerName) != 1) throwOpenssl("X509_set_issuer_name");
  if (X509_set_pubkey(cert.get(), subjectKey.native()) != 1) throwOpenssl("X509_set_pubkey");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer->native() : cert.get(), cert.get(), nullptr,
                 nullptr, 0);
  addExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  switch (request.kind) {
    case CertKind::kCa:
      addExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
      addExtension(cert.get(), &ctx, NID_key_usage,
                   "critical,digitalSignature,keyCertSign,cRLSign");
      break;
    case CertKind::kServing:
      addExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
      addExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
      addExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
      break;
    case CertKind::kClient:
      addExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
      addExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
      addExtension(cert.get(), &ctx, NID_ext_key_usage, "clientAuth");
      break;
  }
  if (issuer != nullptr) {
    addExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid");
  }
  addSubjectAltNames(cert.get(), request.dnsNames, request.ipAddresses);

  if (X509_sign(cert.get(), signer.native(), EVP_sha256()) <= 0) {
    throwOpenssl("signing certificate CN=" + request.commonName);
  }
  return Certificate(adoptCertificate(cert.release()));
}

}  // namespace detail

CertificateAuthority CertificateAuthority::load(const std::filesystem::path& certFile,
                                                const std::filesystem::path& keyFile) {
  CertificateAuthority ca{Certificate::load(certFile), PrivateKey::load(keyFile)};
  if (!ca.certificate.isCa()) throw PkiError(certFile.string() + ": not a CA certificate");
  if (!(ca.certificate.publicKey() == ca.key.publicKey())) {
    throw PkiError(keyFile.string() + ": key does not match CA certificate " + certFile.string());
  }
  return ca;
}

void CertificateAuthority::save(const std::filesystem::path& certFile,
                                const std::filesystem::path& keyFile) const {
  // Key first: a certificate on disk always has its key next to it.
  key.save(keyFile);
  writeFileAtomic(certFile, certificate.toPem(), kPublicFileMode);
}

std::string caCommonName(std::string_view prefix, TimePoint now) {
  std::string name(prefix);
  name.append("@").append(std::to_string(std::chrono::system_clock::to_time_t(now)));
  return name;
}

CertificateAuthority createSelfSignedCa(const std::string& commonName,
                                        std::chrono::seconds validity) {
  PrivateKey key = PrivateKey::generateP256();
  detail::IssueRequest request;
  request.kind = detail::CertKind::kCa;
  request.commonName = commonName;
  request.validity = validity;
  Certificate cert = detail::issue(nullptr, key, key.publicKey(), request);
  return {std::move(cert), std::move(key)};
}

Certificate issueServingCertificate(const CertificateAuthority& ca, const PublicKey& subjectKey,
                                    const ServingCertOptions& options) {
  detail::IssueRequest request;
  request.kind = detail::CertKind::kServing;
  request.commonName = options.commonName;
  request.validity = options.validity;
  // DNS names given as IPs land with the IPs, so "127.0.0.1" never becomes a DNS SAN.
  splitSubjectAltNames(options.dnsNames, request.dnsNames, request.ipAddresses);
  for (const auto& ip : options.ipAddresses) {
    std::string canonical = canonicalIp(ip);  // throws naming a bad address
    if (std::find(request.ipAddresses.begin(), request.ipAddresses.end(), canonical) ==
        request.ipAddresses.end()) {
      request.ipAddresses.push_back(std::move(canonical));
    }
  }
  return detail::issue(&ca.certificate, ca.key, subjectKey, request);
}

Certificate issueClientCertificate(const CertificateAuthority& ca, const PublicKey& subjectKey,
                                   const ClientCertOptions& options) {
  detail::IssueRequest request;
  request.kind = detail::CertKind::kClient;
  request.commonName = options.commonName;
  request.organizations = options.organizations;
  request.validity = options.validity;
  return detail::issue(&ca.certificate, ca.key, subjectKey, request);
}

bool isIpAddress(std::string_view text) {
  const std::string s(text);
  std::array<unsigned char, 16> buffer{};
  return inet_pton(AF_INET, s.c_str(), buffer.data()) == 1 ||
         inet_pton(AF_INET6, s.c_str(), buffer.data()) == 1;
}

std::string canonicalIp(std::string_view text) {
  const std::string s(text);
  std::array<unsigned char, 16> buffer{};
  std::array<char, INET6_ADDRSTRLEN> out{};
  for (const int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, s.c_str(), buffer.data()) == 1 &&
        inet_ntop(family, buffer.data(), out.data(), out.size()) != nullptr) {
      return out.data();
    }
  }
  throw PkiError("not an IP address: \"" + s + "\"");
}

void splitSubjectAltNames(const std::vector<std::string>& names, std::vector<std::string>& dnsNames,
                          std::vector<std::string>& ipAddresses) {
  auto addUnique = [](std::vector<std::string>& list, std::string value) {
    if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(std::move(value));
  };
  for (const auto& name : names) {
    if (name.empty()) continue;
    if (isIpAddress(name)) {
      addUnique(ipAddresses, canonicalIp(name));
    } else {
      addUnique(dnsNames, name);
    }
  }
}

}  // namespace kite::pki
