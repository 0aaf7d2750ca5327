#pragma once
// Chain verification against trusted CAs. A certificate that does not verify is an expected
// outcome, so the answer is a result naming the reason, not an exception.

#include <optional>
#include <string>
#include <vector>

#include "kite/pki/certificate.h"

namespace kite::pki {

enum class Purpose {
  kAny,         // only the chain and the validity period
  kServerAuth,  // extended key usage serverAuth (a serving certificate)
  kClientAuth,  // extended key usage clientAuth (a client certificate)
};

struct VerifyOptions {
  std::vector<Certificate> intermediates;  // untrusted certificates that may complete the chain
  std::optional<TimePoint> at;             // verification time; now when unset
  Purpose purpose = Purpose::kAny;
  // When set, the leaf must name this DNS name or IP address in its SANs.
  std::string host;
};

struct VerifyResult {
  bool ok = false;
  std::string error;  // OpenSSL's reason and the failing certificate's subject, when !ok
  explicit operator bool() const { return ok; }
};

VerifyResult verifyCertificate(const Certificate& leaf, const std::vector<Certificate>& roots,
                               const VerifyOptions& options = {});

}  // namespace kite::pki
