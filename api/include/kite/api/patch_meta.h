// Strategic merge patch metadata of the built-in kinds, generated from the patch tags of
// api/schema/*.yaml (upstream's patchStrategy/patchMergeKey and +listType/+listMapKey).
//
// A PatchMeta describes one value at a field path: its JSON type, and for a field the tags
// that decide how a strategic merge patch combines it. The patch code walks the tree:
//
//   const PatchMeta* pod = patchMetaFor("v1", "Pod");
//   const PatchMeta* containers = pod->field("spec")->field("containers");
//   containers->strategy == PatchStrategy::Merge, containers->mergeKey == "name",
//   containers->items->field("ports")->mergeKey == "containerPort"
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace kite::api {

enum class PatchValueType : std::uint8_t {
  Object,  // a struct: fields
  List,    // JSON array: items
  Map,     // JSON object with arbitrary keys: items is the value schema
  String,
  Integer,
  Number,
  Boolean,
  IntOrString,  // integer or string
  Quantity,     // string (or number) quantity
  Time,         // RFC 3339 string
  Bytes,        // base64 string
  Raw,          // any JSON, not interpreted (replaced as a whole)
};

// The patchStrategy tag of a field. None means the default: lists are replaced, maps and
// objects are merged key by key.
enum class PatchStrategy : std::uint8_t { None, Merge, Replace };

// +listType of a list field (used by server-side apply and as a hint).
enum class ListType : std::uint8_t { None, Atomic, Set, Map };

struct PatchMeta;

struct PatchField {
  std::string_view name;
  const PatchMeta* meta;
};

struct PatchMeta {
  PatchValueType type = PatchValueType::Object;
  PatchStrategy strategy = PatchStrategy::None;
  bool retainKeys = false;  // patchStrategy includes retainKeys (clear fields absent in patch)
  ListType listType = ListType::None;
  bool atomic = false;        // structType/mapType atomic: replaced as a whole by apply
  std::string_view mergeKey;  // patchMergeKey of a merged list of objects
  std::span<const std::string_view> listMapKeys;
  std::span<const PatchField> fields;  // Object: members sorted by name (inline bases expanded)
  const PatchMeta* items = nullptr;    // List: element; Map: value

  // Member of an Object, or nullptr.
  [[nodiscard]] const PatchMeta* field(std::string_view name) const;
  // A merged list: lists of objects merged by mergeKey, lists of scalars merged as sets.
  [[nodiscard]] bool mergesList() const {
    return type == PatchValueType::List && strategy == PatchStrategy::Merge;
  }
};

// The root (an Object) of a built-in kind, e.g. ("apps/v1", "Deployment"); nullptr when
// unknown.
const PatchMeta* patchMetaFor(std::string_view apiVersion, std::string_view kind);

// Follows a dotted field path from a node, stepping through list items and map values
// transparently: "spec.containers.ports" from a Pod. nullptr when a member does not exist.
const PatchMeta* patchMetaAt(const PatchMeta* root, std::string_view path);

namespace detail {
struct PatchMetaKind {
  std::string_view apiVersion;
  std::string_view kind;
  const PatchMeta* meta;
};
// Sorted by (apiVersion, kind).
std::span<const PatchMetaKind> patchMetaKinds();
}  // namespace detail

}  // namespace kite::api
