#pragma once
// The exception every pki function throws for a failure that is not an expected outcome:
// an unreadable file, a malformed PEM block, an OpenSSL call that failed. what() names the
// file or object and, for OpenSSL failures, carries OpenSSL's own reason. Expected outcomes
// (a certificate that does not verify, a bad bearer token, a CA that does not match a join
// token) are results, not exceptions.

#include <stdexcept>
#include <string>

namespace kite::pki {

class PkiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace kite::pki
