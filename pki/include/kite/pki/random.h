#pragma once
// Secrets from OpenSSL's CSPRNG (RAND_bytes); throws PkiError if it cannot deliver.

#include <cstddef>
#include <string>

namespace kite::pki {

std::string randomBytes(std::size_t count);
// count random bytes as 2*count lower-case hex characters.
std::string randomHex(std::size_t count);

}  // namespace kite::pki
