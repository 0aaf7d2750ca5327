#include "resource_type.h"

#include <stdexcept>

#include "kite/api/labels.h"
#include "names.h"

namespace kite::controlplane::apiserver {

using api::FieldError;

ResourceInfo builtinInfo(std::string_view group, std::string_view version,
                         std::string_view resource) {
  const api::ResourceInfo* b = api::findBuiltinResource(group, version, resource);
  if (b == nullptr) {
    throw std::logic_error("no built-in resource " + std::string(resource) + " in " +
                           std::string(group) + "/" + std::string(version));
  }
  ResourceInfo info;
  info.group = std::string(b->group);
  info.version = std::string(b->version);
  info.kind = std::string(b->kind);
  info.resource = std::string(b->resource);
  info.singular = std::string(b->singular);
  info.namespaced = b->namespaced;
  for (auto n : b->shortNames) info.shortNames.emplace_back(n);
  for (auto c : b->categories) info.categories.emplace_back(c);
  for (const auto& sub : b->subresources) info.subresources.emplace_back(sub.name);
  info.createOnly = b->listKind.empty();
  info.builtin = b;
  return info;
}

TableColumn nameColumn() {
  return {"Name", "string", "name",
          "Name must be unique within a namespace. Is required when creating resources.", 0};
}

TableColumn ageColumn() {
  return {"Age", "string", "",
          "CreationTimestamp is a timestamp representing the server time when this object was "
          "created.",
          0};
}

std::string humanDuration(std::chrono::seconds d) {
  const auto seconds = d.count();
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return std::to_string(seconds) + "s";
  const auto minutes = seconds / 60;
  if (minutes < 10) {
    const auto s = seconds % 60;
    return s == 0 ? std::to_string(minutes) + "m"
                  : std::to_string(minutes) + "m" + std::to_string(s) + "s";
  }
  if (minutes < 180) return std::to_string(minutes) + "m";
  const auto hours = minutes / 60;
  if (hours < 8) {
    const auto m = minutes % 60;
    return m == 0 ? std::to_string(hours) + "h"
                  : std::to_string(hours) + "h" + std::to_string(m) + "m";
  }
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < std::int64_t{24} * 8) {
    const auto h = hours % 24;
    return h == 0 ? std::to_string(hours / 24) + "d"
                  : std::to_string(hours / 24) + "d" + std::to_string(h) + "h";
  }
  if (hours < std::int64_t{24} * 365 * 2) return std::to_string(hours / 24) + "d";
  if (hours < std::int64_t{24} * 365 * 8) {
    const auto days = (hours / 24) % 365;
    return days == 0 ? std::to_string(hours / 24 / 365) + "y"
                     : std::to_string(hours / 24 / 365) + "y" + std::to_string(days) + "d";
  }
  return std::to_string(hours / 24 / 365) + "y";
}

std::string humanAge(const std::optional<std::chrono::system_clock::time_point>& since,
                     TimePoint now) {
  if (!since) return "<unknown>";
  return humanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *since));
}

std::optional<TimePoint> creationTime(const api::meta::v1::ObjectMeta& m) {
  return m.creationTimestamp.value();
}

void validateObjectMeta(std::vector<FieldError>& errors, const api::meta::v1::ObjectMeta& m,
                        bool namespaced, NameRule names) {
  if (m.name.empty()) {
    errors.push_back(FieldError::required("metadata.name", "name or generateName is required"));
  } else {
    const std::string problem = names == NameRule::kDnsLabel      ? checkDnsLabel(m.name)
                                : names == NameRule::kPathSegment ? checkPathSegment(m.name)
                                                                  : checkDnsSubdomain(m.name);
    if (!problem.empty()) errors.push_back(FieldError::invalid("metadata.name", m.name, problem));
  }
  if (namespaced) {
    if (m.namespace_.empty()) {
      errors.push_back(FieldError::required("metadata.namespace", ""));
    } else if (const std::string p = checkDnsLabel(m.namespace_); !p.empty()) {
      errors.push_back(FieldError::invalid("metadata.namespace", m.namespace_, p));
    }
  } else if (!m.namespace_.empty()) {
    errors.push_back(FieldError::forbidden("metadata.namespace", "not allowed on this type"));
  }
  for (const auto& [key, value] : m.labels) {
    if (const std::string p = api::labels::validateKey(key); !p.empty()) {
      errors.push_back(FieldError::invalid("metadata.labels", key, p));
    }
    if (const std::string p = api::labels::validateValue(value); !p.empty()) {
      errors.push_back(FieldError::invalid("metadata.labels", value, p));
    }
  }
  std::size_t annotationBytes = 0;
  for (const auto& [key, value] : m.annotations) {
    annotationBytes += key.size() + value.size();
    if (const std::string p = api::labels::validateKey(key); !p.empty()) {
      errors.push_back(FieldError::invalid("metadata.annotations", key, p));
    }
  }
  constexpr std::size_t kMaxAnnotationBytes = std::size_t{256} * 1024;
  if (annotationBytes > kMaxAnnotationBytes) {
    errors.push_back(FieldError::tooLong("metadata.annotations", kMaxAnnotationBytes));
  }
}

void validateObjectMetaUpdate(std::vector<FieldError>& errors, const api::meta::v1::ObjectMeta& m,
                              const api::meta::v1::ObjectMeta& old) {
  if (m.name != old.name) {
    errors.push_back(FieldError::invalid("metadata.name", m.name, "field is immutable"));
  }
  if (m.namespace_ != old.namespace_) {
    errors.push_back(FieldError::invalid("metadata.namespace", m.namespace_, "field is immutable"));
  }
}

}  // namespace kite::controlplane::apiserver
