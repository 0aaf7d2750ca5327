#include "workload_rollout.h"

#include <cmath>
#include <stdexcept>

#include "kite/api/json.h"

namespace kite::controlplane::controllers {

int32_t scaledValue(const api::IntOrString& value, int32_t total, bool roundUp,
                    std::string_view field) {
  if (value.isInt()) return value.intValue();
  const std::string& s = value.strValue();
  const auto bad = [&] {
    return std::invalid_argument(std::string(field) + ": Invalid value: \"" + s +
                                 "\": must be an integer or percentage (e.g '5%')");
  };
  if (s.size() < 2 || s.back() != '%') throw bad();
  int64_t percent = 0;
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9' || percent > 1'000'000) throw bad();
    percent = percent * 10 + (s[i] - '0');
  }
  const int64_t product = percent * total;
  return static_cast<int32_t>(roundUp ? (product + 99) / 100 : product / 100);
}

Fenceposts resolveFenceposts(const std::optional<api::IntOrString>& maxSurge,
                             const std::optional<api::IntOrString>& maxUnavailable,
                             int32_t desired) {
  Fenceposts f;
  f.maxSurge = scaledValue(maxSurge.value_or(api::IntOrString(0)), desired, true,
                           "spec.strategy.rollingUpdate.maxSurge");
  f.maxUnavailable = scaledValue(maxUnavailable.value_or(api::IntOrString(0)), desired, false,
                                 "spec.strategy.rollingUpdate.maxUnavailable");
  if (f.maxSurge == 0 && f.maxUnavailable == 0) f.maxUnavailable = 1;
  return f;
}

namespace {

uint32_t fnv1a(std::string_view data, uint32_t h = 2166136261U) {
  for (const unsigned char c : data) {
    h ^= c;
    h *= 16777619U;
  }
  return h;
}

// Upstream's SafeEncodeString alphabet: no vowels (no words) and no look-alike characters.
std::string safeEncode(std::string_view s) {
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  out.reserve(s.size());
  for (const unsigned char c : s) out.push_back(kAlphabet[c % kAlphabet.size()]);
  return out;
}

api::core::v1::PodTemplateSpec withoutHash(api::core::v1::PodTemplateSpec t) {
  t.metadata.labels.erase(std::string(kPodTemplateHashLabel));
  return t;
}

}  // namespace

std::string shortHash(std::string_view text, std::optional<int32_t> collisionCount) {
  uint32_t h = fnv1a(text);
  if (collisionCount) {
    const std::string c = std::to_string(*collisionCount);
    h = fnv1a(c, h);
  }
  return safeEncode(std::to_string(h));
}

std::string podTemplateHash(const api::core::v1::PodTemplateSpec& tmpl,
                            std::optional<int32_t> collisionCount) {
  return shortHash(api::encodeJson(withoutHash(tmpl)), collisionCount);
}

bool equalIgnoringHash(const api::core::v1::PodTemplateSpec& a,
                       const api::core::v1::PodTemplateSpec& b) {
  return api::encodeJson(withoutHash(a)) == api::encodeJson(withoutHash(b));
}

}  // namespace kite::controlplane::controllers
