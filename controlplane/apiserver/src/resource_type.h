#pragma once
// One served resource (pods, deployments.apps, ...): its discovery facts and its behaviour —
// decoding, defaulting, validation, field selectors and table columns. The generic REST code
// talks only to this interface; TypedResource<T> implements it for a generated type with
// the kind-specific hooks from kinds/*.cpp.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "api_object.h"
#include "kite/api/field_errors.h"
#include "kite/api/json.h"
#include "kite/api/registry_info.h"

namespace kite::controlplane::apiserver {

struct ResourceInfo {
  std::string group;     // "" for core
  std::string version;   // "v1"
  std::string kind;      // "Pod"
  std::string resource;  // "pods"
  std::string singular;  // "pod"
  bool namespaced = true;
  std::vector<std::string> shortNames;
  std::vector<std::string> categories;
  std::vector<std::string> subresources;  // "status", "scale", ...
  // Reviews and requests (SelfSubjectAccessReview, TokenReview, ...): answered, never stored.
  bool createOnly = false;
  // The generated table entry (verbs, subresource kinds), when the resource is built in.
  const api::ResourceInfo* builtin = nullptr;

  std::string groupVersion() const { return group.empty() ? version : group + "/" + version; }
};

struct TableColumn {
  std::string name;
  std::string type;    // string, integer, date, number, boolean
  std::string format;  // "name" for the name column
  std::string description;
  int priority = 0;  // 1: only with -o wide
};

// A cell as upstream's printers fill it: text, a number, or a boolean (Global-Default).
using TableCell = std::variant<std::string, std::int64_t, bool>;
// The values of every field selector a kind supports, e.g. {"spec.nodeName", "n1"}.
using FieldValues = std::vector<std::pair<std::string, std::string>>;
using TimePoint = std::chrono::system_clock::time_point;

class ResourceType {
 public:
  explicit ResourceType(ResourceInfo info) : info_(std::move(info)) {}
  virtual ~ResourceType() = default;

  const ResourceInfo& info() const { return info_; }

  // Throws api::ParseError / api::FieldErrors as the decoder does.
  virtual std::unique_ptr<ApiObject> decode(std::string_view json,
                                            const api::DecodeOptions& options) const = 0;
  // Upstream converts a request's object to its internal version, and a few conversions fail
  // (a DaemonSet's non-integer template generation annotation): the error, which the server
  // answers as it does a body it cannot decode. Not applied to stored objects.
  virtual std::optional<std::string> conversionError(const ApiObject& /*object*/) const {
    return std::nullopt;
  }
  // Upstream's defaulting (e.g. a container's terminationMessagePath, a Service's
  // sessionAffinity); runs on every write.
  virtual void applyDefaults(ApiObject& object) const = 0;
  // Create-only preparation: status reset as upstream's PrepareForCreate does.
  virtual void prepareForCreate(ApiObject& object) const = 0;
  // Update-only preparation against the stored object, as upstream's PrepareForUpdate: fields
  // the server keeps for itself (e.g. a DaemonSet's template generation). Runs after
  // defaulting and before validation, for updates and patches of the object and its status.
  virtual void prepareForUpdate(ApiObject& next, const ApiObject& old) const = 0;
  // Validation of a new object, or of an update against the stored one.
  virtual std::vector<api::FieldError> validate(const ApiObject& object,
                                                const ApiObject* old) const = 0;
  // Upstream's WarningsOnCreate/WarningsOnUpdate (old set): accepted values the client is
  // told about in Warning headers, e.g. a negative terminationGracePeriodSeconds.
  virtual std::vector<std::string> warnings(const ApiObject& /*object*/,
                                            const ApiObject* /*old*/) const {
    return {};
  }
  // Field selector support: the value of a field label ("spec.nodeName"), or nullopt when
  // the field is not supported for this kind.
  virtual std::optional<std::string> fieldValue(const ApiObject& object,
                                                std::string_view field) const = 0;
  // All of them at once (the watch cache keeps these instead of the decoded object). The
  // default covers metadata.name and metadata.namespace.
  virtual FieldValues fieldValues(const ApiObject& object) const {
    return {{"metadata.name", object.meta().name},
            {"metadata.namespace", object.meta().namespace_}};
  }
  virtual const std::vector<TableColumn>& tableColumns() const = 0;
  virtual std::vector<TableCell> tableRow(const ApiObject& object, TimePoint now) const = 0;

 private:
  ResourceInfo info_;
};

// Which names a kind accepts in metadata.name.
enum class NameRule {
  kDnsSubdomain,  // most kinds
  kDnsLabel,      // namespaces, services
  kPathSegment,   // RBAC kinds: "system:node"
};

// Kind-specific behaviour for TypedResource<T>; unset hooks do nothing.
template <class T>
struct KindHooks {
  std::function<void(T&)> defaults;
  std::function<void(T&)> prepareForCreate;
  std::function<void(T&, const T&)> prepareForUpdate;
  std::function<void(std::vector<api::FieldError>&, const T&)> validate;
  std::function<void(std::vector<api::FieldError>&, const T&, const T&)> validateUpdate;
  // An error of upstream's conversion of a request's object (see ResourceType).
  std::function<std::optional<std::string>(const T&)> conversionError;
  // Warnings for a create (old null) or an update.
  std::function<std::vector<std::string>(const T&, const T*)> warnings;
  // Extra field selectors beyond metadata.name and metadata.namespace.
  std::vector<std::pair<std::string, std::function<std::string(const T&)>>> fields;
  // Columns after Name (added first, always); Age is not added: list it where upstream has it.
  std::vector<TableColumn> columns;
  std::function<std::vector<TableCell>(const T&, TimePoint)> row;
};

// The discovery facts of a built-in resource from the generated table
// (kite/api/registry_info.h); throws std::logic_error for one the table does not have.
ResourceInfo builtinInfo(std::string_view group, std::string_view version,
                         std::string_view resource);

// Shared table pieces.
TableColumn nameColumn();
TableColumn ageColumn();
// "5m", "3d4h", "<unknown>" as kubectl's HumanDuration prints the age of a timestamp.
std::string humanAge(const std::optional<std::chrono::system_clock::time_point>& since,
                     TimePoint now);
std::string humanDuration(std::chrono::seconds d);
// Validation every object gets: metadata name/namespace/labels/annotations.
void validateObjectMeta(std::vector<api::FieldError>& errors, const api::meta::v1::ObjectMeta& m,
                        bool namespaced, NameRule names);
void validateObjectMetaUpdate(std::vector<api::FieldError>& errors,
                              const api::meta::v1::ObjectMeta& m,
                              const api::meta::v1::ObjectMeta& old);
std::optional<TimePoint> creationTime(const api::meta::v1::ObjectMeta& m);

template <class T>
class TypedResource final : public ResourceType {
 public:
  TypedResource(ResourceInfo info, KindHooks<T> hooks, NameRule names = NameRule::kDnsSubdomain)
      : ResourceType(std::move(info)), hooks_(std::move(hooks)), names_(names) {
    columns_.push_back(nameColumn());
    for (const auto& c : hooks_.columns) columns_.push_back(c);
    if (hooks_.columns.empty()) columns_.push_back(ageColumn());
  }

  std::unique_ptr<ApiObject> decode(std::string_view json,
                                    const api::DecodeOptions& options) const override {
    return std::make_unique<TypedObject<T>>(api::decodeJson<T>(json, options));
  }
  std::optional<std::string> conversionError(const ApiObject& object) const override {
    if (!hooks_.conversionError) return std::nullopt;
    return hooks_.conversionError(as<T>(object));
  }
  void applyDefaults(ApiObject& object) const override {
    if (hooks_.defaults) hooks_.defaults(as<T>(object));
  }
  void prepareForCreate(ApiObject& object) const override {
    if (hooks_.prepareForCreate) hooks_.prepareForCreate(as<T>(object));
  }
  void prepareForUpdate(ApiObject& next, const ApiObject& old) const override {
    if (hooks_.prepareForUpdate) hooks_.prepareForUpdate(as<T>(next), as<T>(old));
  }
  std::vector<api::FieldError> validate(const ApiObject& object,
                                        const ApiObject* old) const override {
    std::vector<api::FieldError> errors;
    const T& value = as<T>(object);
    validateObjectMeta(errors, value.metadata, info().namespaced, names_);
    if (old != nullptr) validateObjectMetaUpdate(errors, value.metadata, as<T>(*old).metadata);
    if (hooks_.validate) hooks_.validate(errors, value);
    if (old != nullptr && hooks_.validateUpdate) hooks_.validateUpdate(errors, value, as<T>(*old));
    return errors;
  }
  std::vector<std::string> warnings(const ApiObject& object, const ApiObject* old) const override {
    if (!hooks_.warnings) return {};
    return hooks_.warnings(as<T>(object), old == nullptr ? nullptr : &as<T>(*old));
  }
  std::optional<std::string> fieldValue(const ApiObject& object,
                                        std::string_view field) const override {
    const T& value = as<T>(object);
    if (field == "metadata.name") return value.metadata.name;
    if (field == "metadata.namespace") return value.metadata.namespace_;
    for (const auto& [name, get] : hooks_.fields) {
      if (name == field) return get(value);
    }
    return std::nullopt;
  }
  FieldValues fieldValues(const ApiObject& object) const override {
    const T& value = as<T>(object);
    FieldValues out;
    out.reserve(hooks_.fields.size() + 2);
    out.emplace_back("metadata.name", value.metadata.name);
    out.emplace_back("metadata.namespace", value.metadata.namespace_);
    for (const auto& [name, get] : hooks_.fields) out.emplace_back(name, get(value));
    return out;
  }
  const std::vector<TableColumn>& tableColumns() const override { return columns_; }
  std::vector<TableCell> tableRow(const ApiObject& object, TimePoint now) const override {
    const T& value = as<T>(object);
    std::vector<TableCell> cells{value.metadata.name};
    if (hooks_.row) {
      auto rest = hooks_.row(value, now);
      cells.insert(cells.end(), rest.begin(), rest.end());
    } else {
      cells.emplace_back(humanAge(creationTime(value.metadata), now));
    }
    return cells;
  }

 private:
  KindHooks<T> hooks_;
  std::vector<TableColumn> columns_;
  NameRule names_;
};

}  // namespace kite::controlplane::apiserver
