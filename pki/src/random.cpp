#include "kite/pki/random.h"

#include <openssl/rand.h>

#include <climits>

#include "kite/pki/encoding.h"
#include "kite/pki/error.h"
#include "ossl.h"

namespace kite::pki {

std::string randomBytes(std::size_t count) {
  std::string out(count, '\0');
  if (count > static_cast<std::size_t>(INT_MAX)) throw PkiError("randomBytes: count too large");
  if (count > 0 &&
      RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
    detail::throwOpenssl("RAND_bytes");
  }
  return out;
}

std::string randomHex(std::size_t count) { return hexEncode(randomBytes(count)); }

}  // namespace kite::pki
