#include "kite/pki/verify.h"

#include <openssl/x509_vfy.h>

#include "kite/pki/authority.h"
#include "kite/pki/error.h"
#include "ossl.h"

namespace kite::pki {
namespace {

// sk_X509_free is a macro; the stack does not own the certificates pushed onto it.
void freeCertStack(STACK_OF(X509) * stack) { sk_X509_free(stack); }
using CertStackPtr =
    std::unique_ptr<STACK_OF(X509), detail::Deleter<STACK_OF(X509), freeCertStack>>;

}  // namespace

VerifyResult verifyCertificate(const Certificate& leaf, const std::vector<Certificate>& roots,
                               const VerifyOptions& options) {
  if (roots.empty()) return {false, "no trusted CA certificate given"};
  detail::X509StorePtr store(X509_STORE_new());
  if (!store) detail::throwOpenssl("X509_STORE_new");
  for (const auto& root : roots) {
    if (X509_STORE_add_cert(store.get(), root.native()) != 1) {
      detail::throwOpenssl("adding a CA certificate to the trust store");
    }
  }
  CertStackPtr untrusted(sk_X509_new_null());
  if (!untrusted) detail::throwOpenssl("sk_X509_new_null");
  for (const auto& cert : options.intermediates) {
    if (sk_X509_push(untrusted.get(), cert.native()) <= 0) detail::throwOpenssl("sk_X509_push");
  }
  detail::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx) detail::throwOpenssl("X509_STORE_CTX_new");
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.native(), untrusted.get()) != 1) {
    detail::throwOpenssl("X509_STORE_CTX_init");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (options.at) {
    X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(*options.at));
  }
  if (options.purpose != Purpose::kAny) {
    const int purpose =
        options.purpose == Purpose::kServerAuth ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT;
    if (X509_STORE_CTX_set_purpose(ctx.get(), purpose) != 1) {
      detail::throwOpenssl("X509_STORE_CTX_set_purpose");
    }
  }
  if (!options.host.empty()) {
    const int set = isIpAddress(options.host)
                        ? X509_VERIFY_PARAM_set1_ip_asc(param, options.host.c_str())
                        : X509_VERIFY_PARAM_set1_host(param, options.host.c_str(), 0);
    if (set != 1) {
      detail::drainErrors();
      return {false, "invalid host to verify: " + options.host};
    }
  }
  const int verified = X509_verify_cert(ctx.get());
  if (verified == 1) {
    detail::drainErrors();
    return {true, {}};
  }
  const int code = X509_STORE_CTX_get_error(ctx.get());
  std::string error = X509_verify_cert_error_string(code);
  if (X509* failing = X509_STORE_CTX_get_current_cert(ctx.get())) {
    X509_up_ref(failing);
    const std::string cn = Certificate(adoptCertificate(failing)).subjectCommonName();
    if (!cn.empty()) error.append(" (certificate CN=").append(cn).append(")");
  }
  detail::drainErrors();
  return {false, error};
}

}  // namespace kite::pki
