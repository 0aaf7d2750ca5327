#pragma once
// A certificate authority and the certificates it issues. Every certificate kite issues has
// a random 127-bit serial, is signed with SHA-256, and starts five minutes in the past so a
// peer whose clock lags slightly still accepts it. Key usages follow RFC 5280 for ECDSA:
//   CA:       basicConstraints CA:TRUE (critical); keyUsage keyCertSign, cRLSign,
//             digitalSignature (critical)
//   serving:  CA:FALSE; keyUsage digitalSignature; extKeyUsage serverAuth; SANs
//   client:   CA:FALSE; keyUsage digitalSignature; extKeyUsage clientAuth; subject CN and O
// Issuers throw PkiError naming the bad input (an invalid DNS name, an empty CN).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <ratio>
#include <string>
#include <string_view>
#include <vector>

#include "kite/pki/certificate.h"
#include "kite/pki/key.h"

namespace kite::pki {

using Days = std::chrono::duration<std::int64_t, std::ratio<86400>>;
inline constexpr Days kCaValidity{3650};          // ten years, as k3s
inline constexpr Days kDefaultCertValidity{365};  // one year

struct CertificateAuthority {
  Certificate certificate;
  PrivateKey key;

  // Loads a CA from a PEM certificate and key; throws PkiError when the key does not belong
  // to the certificate or the certificate is not a CA.
  static CertificateAuthority load(const std::filesystem::path& certFile,
                                   const std::filesystem::path& keyFile);
  // Writes the certificate (0644) and the key (0600), each atomically.
  void save(const std::filesystem::path& certFile, const std::filesystem::path& keyFile) const;
};

// "<prefix>@<unix seconds>", the way k3s names its CAs ("kite-server-ca@1700000000").
std::string caCommonName(std::string_view prefix, TimePoint now = std::chrono::system_clock::now());

// A new self-signed CA with a new P-256 key.
CertificateAuthority createSelfSignedCa(const std::string& commonName,
                                        std::chrono::seconds validity = kCaValidity);

struct ServingCertOptions {
  std::string commonName;
  std::vector<std::string> dnsNames;
  std::vector<std::string> ipAddresses;  // IPv4 or IPv6 text
  std::chrono::seconds validity = kDefaultCertValidity;
};

struct ClientCertOptions {
  std::string commonName;                  // the user name
  std::vector<std::string> organizations;  // the groups
  std::chrono::seconds validity = kDefaultCertValidity;
};

Certificate issueServingCertificate(const CertificateAuthority& ca, const PublicKey& subjectKey,
                                    const ServingCertOptions& options);
Certificate issueClientCertificate(const CertificateAuthority& ca, const PublicKey& subjectKey,
                                   const ClientCertOptions& options);

// SAN helpers: whether text is an IPv4/IPv6 address, its canonical form ("0:0::1" -> "::1"),
// and a split of mixed names (as given to --tls-san) into DNS names and IP addresses,
// without duplicates, in first-seen order.
bool isIpAddress(std::string_view text);
// Letters, digits, '-' and '.', no empty labels, an optional leading "*." wildcard.
bool isValidDnsName(std::string_view name);
std::string canonicalIp(std::string_view text);
void splitSubjectAltNames(const std::vector<std::string>& names, std::vector<std::string>& dnsNames,
                          std::vector<std::string>& ipAddresses);

}  // namespace kite::pki
