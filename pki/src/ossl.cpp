#include "ossl.h"

#include <openssl/err.h>

#include <array>
#include <climits>

#include "kite/pki/error.h"

namespace kite::pki::detail {

std::string drainErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {  // NOLINT(google-runtime-int): OpenSSL's type
    std::array<char, 256> buffer{};
    ERR_error_string_n(code, buffer.data(), buffer.size());
    if (!out.empty()) out.append("; ");
    out.append(buffer.data());
  }
  return out;
}

void throwOpenssl(std::string_view what) {
  std::string message(what);
  const std::string reasons = drainErrors();
  if (!reasons.empty()) message.append(": ").append(reasons);
  throw PkiError(message);
}

BioPtr memoryBio(std::string_view data) {
  if (data.size() > static_cast<std::size_t>(INT_MAX)) throw PkiError("PEM data too large");
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) throwOpenssl("BIO_new_mem_buf");
  return bio;
}

BioPtr newMemoryBio() {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) throwOpenssl("BIO_new");
  return bio;
}

std::string bioContents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);  // NOLINT(google-runtime-int)
  if (size <= 0 || data == nullptr) return {};
  return {data, static_cast<std::size_t>(size)};
}

}  // namespace kite::pki::detail
