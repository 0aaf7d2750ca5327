#include "kite/pki/service_account_token.h"

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>

#include "kite/pki/encoding.h"
#include "kite/pki/error.h"
#include "kite/pki/random.h"
#include "ossl.h"

namespace kite::pki {
namespace {

constexpr std::size_t kCoordinateBytes = 32;  // P-256: r and s are 32 bytes each in JWS
constexpr std::string_view kSubjectPrefix = "system:serviceaccount:";
constexpr const char* kKubernetesClaim = "kubernetes.io";

std::int64_t unixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

TimePoint fromUnixSeconds(std::int64_t seconds) { return TimePoint(std::chrono::seconds(seconds)); }

std::string uuid4() {
  std::string bytes = randomBytes(16);
  bytes[6] = static_cast<char>((static_cast<unsigned char>(bytes[6]) & 0x0FU) | 0x40U);
  bytes[8] = static_cast<char>((static_cast<unsigned char>(bytes[8]) & 0x3FU) | 0x80U);
  const std::string hex = hexEncode(bytes);
  std::string out;
  out.append(hex, 0, 8).append("-").append(hex, 8, 4).append("-").append(hex, 12, 4);
  out.append("-").append(hex, 16, 4).append("-").append(hex, 20, 12);
  return out;
}

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void writeString(Writer& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void writeNameUid(Writer& w, const char* key, const std::string& name, const std::string& uid) {
  w.Key(key);
  w.StartObject();
  writeString(w, "name", name);
  writeString(w, "uid", uid);
  w.EndObject();
}

std::string headerJson(const PublicKey& key) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  writeString(w, "alg", "ES256");
  writeString(w, "kid", keyId(key));
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string payloadJson(const ServiceAccountClaims& claims, const std::string& id) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("aud");
  w.StartArray();
  for (const auto& aud : claims.audiences)
    w.String(aud.data(), static_cast<rapidjson::SizeType>(aud.size()));
  w.EndArray();
  w.Key("exp");
  w.Int64(unixSeconds(claims.expiresAt));
  w.Key("iat");
  w.Int64(unixSeconds(claims.issuedAt));
  writeString(w, "iss", claims.issuer);
  writeString(w, "jti", id);
  w.Key(kKubernetesClaim);
  w.StartObject();
  writeString(w, "namespace", claims.namespaceName);
  if (!claims.podName.empty()) writeNameUid(w, "pod", claims.podName, claims.podUid);
  writeNameUid(w, "serviceaccount", claims.serviceAccountName, claims.serviceAccountUid);
  w.EndObject();
  w.Key("nbf");
  w.Int64(unixSeconds(claims.notBefore));
  writeString(w, "sub", claims.subject());
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

// ECDSA signature over data as JWS wants it: r || s, each zero-padded to 32 bytes.
std::string signEs256(const PrivateKey& key, std::string_view data) {
  detail::MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t length = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.native()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, bytes, data.size()) != 1) {
    detail::throwOpenssl("signing service-account token");
  }
  std::string der(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &length, bytes,
                     data.size()) != 1) {
    detail::throwOpenssl("signing service-account token");
  }
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  detail::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(length)));  // NOLINT
  if (!sig) detail::throwOpenssl("decoding ECDSA signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * kCoordinateBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kCoordinateBytes) < 0 ||
      BN_bn2binpad(s, out + kCoordinateBytes, kCoordinateBytes) < 0) {
    detail::throwOpenssl("encoding ECDSA signature");
  }
  return raw;
}

bool verifyEs256(const PublicKey& key, std::string_view data, std::string_view raw) {
  if (raw.size() != 2 * kCoordinateBytes || !key.isP256()) return false;
  const auto* in = reinterpret_cast<const unsigned char*>(raw.data());
  detail::BignumPtr r(BN_bin2bn(in, kCoordinateBytes, nullptr));
  detail::BignumPtr s(BN_bin2bn(in + kCoordinateBytes, kCoordinateBytes, nullptr));
  detail::EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    detail::throwOpenssl("building ECDSA signature");
  }
  (void)r.release();  // owned by sig now
  (void)s.release();
  unsigned char* der = nullptr;
  const int derLength = i2d_ECDSA_SIG(sig.get(), &der);
  if (derLength <= 0) detail::throwOpenssl("encoding ECDSA signature");
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> derOwner(
      der, [](unsigned char* p) { OPENSSL_free(p); });
  detail::MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.native()) != 1) {
    detail::throwOpenssl("verifying service-account token");
  }
  const int ok = EVP_DigestVerify(ctx.get(), der, static_cast<std::size_t>(derLength),
                                  reinterpret_cast<const unsigned char*>(data.data()), data.size());
  detail::drainErrors();
  return ok == 1;
}

TokenVerification fail(TokenFailure failure, std::string error) {
  TokenVerification result;
  result.failure = failure;
  result.error = std::move(error);
  return result;
}

std::optional<std::string> stringMember(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

// A NumericDate (RFC 7519 section 2): integer or fractional seconds.
std::optional<std::int64_t> timeMember(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd()) return std::nullopt;
  if (it->value.IsInt64()) return it->value.GetInt64();
  if (it->value.IsNumber()) return static_cast<std::int64_t>(it->value.GetDouble());
  return std::nullopt;
}

bool parseJson(const std::string& text, rapidjson::Document& doc) {
  doc.Parse(text.data(), text.size());
  return !doc.HasParseError() && doc.IsObject();
}

}  // namespace

std::string ServiceAccountClaims::subject() const {
  std::string out(kSubjectPrefix);
  out.append(namespaceName).append(":").append(serviceAccountName);
  return out;
}

ServiceAccountClaims newServiceAccountClaims(std::string issuer, std::vector<std::string> audiences,
                                             std::string namespaceName, std::string name,
                                             std::string uid, std::chrono::seconds lifetime,
                                             TimePoint now) {
  ServiceAccountClaims claims;
  claims.issuer = std::move(issuer);
  claims.audiences = std::move(audiences);
  claims.namespaceName = std::move(namespaceName);
  claims.serviceAccountName = std::move(name);
  claims.serviceAccountUid = std::move(uid);
  const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(now);
  claims.issuedAt = seconds;
  claims.notBefore = seconds;
  claims.expiresAt = seconds + lifetime;
  return claims;
}

std::string keyId(const PublicKey& key) { return base64UrlEncode(sha256(key.toDer())); }

std::string signServiceAccountToken(const PrivateKey& key, const ServiceAccountClaims& claims) {
  if (!key.isP256()) throw PkiError("service-account signing key must be an ECDSA P-256 key");
  if (claims.namespaceName.empty() || claims.serviceAccountName.empty()) {
    throw PkiError("service-account token needs a namespace and a service account name");
  }
  const std::string id = claims.id.empty() ? uuid4() : claims.id;
  std::string token = base64UrlEncode(headerJson(key.publicKey()));
  token.append(".").append(base64UrlEncode(payloadJson(claims, id)));
  const std::string signature = signEs256(key, token);
  token.append(".").append(base64UrlEncode(signature));
  return token;
}

const char* tokenFailureName(TokenFailure failure) {
  switch (failure) {
    case TokenFailure::kNone:
      return "None";
    case TokenFailure::kMalformed:
      return "Malformed";
    case TokenFailure::kUnsupportedAlgorithm:
      return "UnsupportedAlgorithm";
    case TokenFailure::kBadSignature:
      return "BadSignature";
    case TokenFailure::kExpired:
      return "Expired";
    case TokenFailure::kNotYetValid:
      return "NotYetValid";
    case TokenFailure::kWrongIssuer:
      return "WrongIssuer";
    case TokenFailure::kWrongAudience:
      return "WrongAudience";
    case TokenFailure::kInvalidClaims:
      return "InvalidClaims";
  }
  return "Unknown";
}

TokenVerification verifyServiceAccountToken(std::string_view token,
                                            const std::vector<PublicKey>& keys,
                                            const TokenVerifyOptions& options) {
  if (options.issuers.empty()) throw PkiError("token verification needs accepted issuers");
  if (options.audiences.empty()) throw PkiError("token verification needs accepted audiences");

  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return fail(TokenFailure::kMalformed, "token is not a JWS in compact form (three parts)");
  }
  const auto headerText = base64UrlDecode(token.substr(0, dot1));
  const auto payloadText = base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  const auto signature = base64UrlDecode(token.substr(dot2 + 1));
  if (!headerText || !payloadText || !signature) {
    return fail(TokenFailure::kMalformed, "token part is not unpadded base64url");
  }
  rapidjson::Document header;
  if (!parseJson(*headerText, header)) {
    return fail(TokenFailure::kMalformed, "token header is not a JSON object");
  }
  const auto alg = stringMember(header, "alg");
  if (!alg || *alg != "ES256") {
    return fail(TokenFailure::kUnsupportedAlgorithm,
                "token algorithm \"" + alg.value_or("") + "\" is not accepted (only ES256)");
  }
  if (header.HasMember("crit")) {
    return fail(TokenFailure::kMalformed,
                "token header has critical extensions kite does not know");
  }

  // Signature first: nothing in the payload is trusted before it verifies.
  const std::string_view signingInput = token.substr(0, dot2);
  const auto kid = stringMember(header, "kid");
  std::vector<const PublicKey*> order;
  for (const auto& key : keys) {
    if (kid && keyId(key) == *kid)
      order.insert(order.begin(), &key);
    else
      order.push_back(&key);
  }
  const bool verified = std::any_of(order.begin(), order.end(), [&](const PublicKey* key) {
    return verifyEs256(*key, signingInput, *signature);
  });
  if (!verified) {
    return fail(TokenFailure::kBadSignature,
                "token signature does not verify with any service-account key");
  }

  rapidjson::Document payload;
  if (!parseJson(*payloadText, payload)) {
    return fail(TokenFailure::kMalformed, "token payload is not a JSON object");
  }
  const TimePoint now = options.now.value_or(std::chrono::system_clock::now());
  const std::int64_t nowSeconds = unixSeconds(now);
  const auto exp = timeMember(payload, "exp");
  if (!exp) return fail(TokenFailure::kInvalidClaims, "token has no exp claim");
  if (nowSeconds >= *exp + options.leeway.count()) {
    return fail(TokenFailure::kExpired, "token expired at " + std::to_string(*exp) + " (now " +
                                            std::to_string(nowSeconds) + ")");
  }
  const auto nbf = timeMember(payload, "nbf");
  if (nbf && nowSeconds + options.leeway.count() < *nbf) {
    return fail(TokenFailure::kNotYetValid, "token not valid before " + std::to_string(*nbf) +
                                                " (now " + std::to_string(nowSeconds) + ")");
  }
  const auto iss = stringMember(payload, "iss");
  if (!iss ||
      std::find(options.issuers.begin(), options.issuers.end(), *iss) == options.issuers.end()) {
    return fail(TokenFailure::kWrongIssuer,
                "token issuer \"" + iss.value_or("") + "\" is not accepted");
  }

  ServiceAccountClaims claims;
  claims.issuer = *iss;
  if (const auto aud = payload.FindMember("aud"); aud != payload.MemberEnd()) {
    if (aud->value.IsString()) {
      claims.audiences.emplace_back(aud->value.GetString(), aud->value.GetStringLength());
    } else if (aud->value.IsArray()) {
      for (const auto& item : aud->value.GetArray()) {
        if (item.IsString())
          claims.audiences.emplace_back(item.GetString(), item.GetStringLength());
      }
    }
  }
  const bool audienceOk =
      std::any_of(claims.audiences.begin(), claims.audiences.end(), [&](const std::string& a) {
        return std::find(options.audiences.begin(), options.audiences.end(), a) !=
               options.audiences.end();
      });
  if (!audienceOk) {
    std::string list;
    for (const auto& a : claims.audiences) list.append(list.empty() ? "" : ",").append(a);
    return fail(TokenFailure::kWrongAudience,
                "token audiences [" + list + "] include none of the accepted audiences");
  }

  const auto k8s = payload.FindMember(kKubernetesClaim);
  if (k8s == payload.MemberEnd() || !k8s->value.IsObject()) {
    return fail(TokenFailure::kInvalidClaims, "token has no kubernetes.io claim");
  }
  const rapidjson::Value& ns = k8s->value;
  claims.namespaceName = stringMember(ns, "namespace").value_or("");
  if (const auto sa = ns.FindMember("serviceaccount");
      sa != ns.MemberEnd() && sa->value.IsObject()) {
    claims.serviceAccountName = stringMember(sa->value, "name").value_or("");
    claims.serviceAccountUid = stringMember(sa->value, "uid").value_or("");
  }
  if (const auto pod = ns.FindMember("pod"); pod != ns.MemberEnd() && pod->value.IsObject()) {
    claims.podName = stringMember(pod->value, "name").value_or("");
    claims.podUid = stringMember(pod->value, "uid").value_or("");
  }
  if (claims.namespaceName.empty() || claims.serviceAccountName.empty()) {
    return fail(TokenFailure::kInvalidClaims,
                "token's kubernetes.io claim lacks the namespace or the service account name");
  }
  const auto sub = stringMember(payload, "sub");
  if (!sub || *sub != claims.subject()) {
    return fail(TokenFailure::kInvalidClaims, "token subject \"" + sub.value_or("") +
                                                  "\" does not match its kubernetes.io claim");
  }
  claims.expiresAt = fromUnixSeconds(*exp);
  claims.notBefore = fromUnixSeconds(nbf.value_or(0));
  claims.issuedAt = fromUnixSeconds(timeMember(payload, "iat").value_or(0));
  claims.id = stringMember(payload, "jti").value_or("");

  TokenVerification result;
  result.claims = std::move(claims);
  return result;
}

}  // namespace kite::pki
