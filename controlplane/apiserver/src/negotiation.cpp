#include "negotiation.h"

#include <vector>

#include "api_error.h"

namespace kite::controlplane::apiserver {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t j = s.find(sep, i);
    if (j == std::string_view::npos) j = s.size();
    out.push_back(trim(s.substr(i, j - i)));
    i = j + 1;
  }
  return out;
}

struct MediaType {
  std::string_view type;
  std::string_view as, g, v;
};

MediaType parseMediaType(std::string_view text) {
  auto parts = split(text, ';');
  MediaType m;
  m.type = parts.empty() ? std::string_view{} : parts[0];
  for (std::size_t i = 1; i < parts.size(); ++i) {
    auto eq = parts[i].find('=');
    if (eq == std::string_view::npos) continue;
    auto k = trim(parts[i].substr(0, eq));
    auto v = trim(parts[i].substr(eq + 1));
    if (k == "as") m.as = v;
    if (k == "g") m.g = v;
    if (k == "v") m.v = v;
  }
  return m;
}

bool isJsonLike(std::string_view type) {
  return type == "application/json" || type == "*/*" || type == "application/*" || type.empty() ||
         type == "application/yaml";
}

}  // namespace

Representation negotiate(std::string_view accept) {
  if (trim(accept).empty()) return Representation::kObject;
  for (auto item : split(accept, ',')) {
    const MediaType m = parseMediaType(item);
    if (!isJsonLike(m.type)) continue;
    if (m.as.empty()) return Representation::kObject;
    if (m.as == "Table" && m.g == "meta.k8s.io" && (m.v == "v1" || m.v == "v1beta1")) {
      return Representation::kTable;
    }
    if ((m.as == "PartialObjectMetadata" || m.as == "PartialObjectMetadataList") &&
        m.g == "meta.k8s.io") {
      return Representation::kPartialMetadata;
    }
  }
  throw ApiError::notAcceptable(
      "only the following media types are accepted: application/json, application/yaml, "
      "application/json;as=Table;v=v1;g=meta.k8s.io");
}

BodyFormat bodyFormat(std::string_view contentType, bool isPatch) {
  const auto type = parseMediaType(contentType).type;
  if (isPatch) {
    if (type == "application/json-patch+json") return BodyFormat::kJsonPatch;
    if (type == "application/merge-patch+json") return BodyFormat::kMergePatch;
    if (type == "application/strategic-merge-patch+json") return BodyFormat::kStrategicMergePatch;
    if (type == "application/apply-patch+yaml") return BodyFormat::kApplyYaml;
    throw ApiError(ApiError::unsupportedMediaType(contentType).status());
  }
  if (type.empty() || type == "application/json") return BodyFormat::kJson;
  if (type == "application/yaml") return BodyFormat::kYaml;
  if (type == "application/vnd.kubernetes.protobuf") return BodyFormat::kProtobuf;
  throw ApiError::unsupportedMediaType(contentType);
}

}  // namespace kite::controlplane::apiserver
