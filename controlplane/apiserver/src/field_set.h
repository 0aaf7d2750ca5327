#pragma once
// A set of field paths, as server-side apply tracks ownership (upstream's fieldpath.Set),
// kept as a trie whose edges are the FieldsV1 path elements:
//   "f:<field>"              a field of a struct or a key of a map,
//   "k:{"name":"c"}"         an item of a list map, by its key fields (sorted by name),
//   "v:<json>"               an item of a set list, by value,
//   "i:<index>"              an item of an atomic-free list without keys.
// A node is a member when its path itself is in the set; inner nodes may be only prefixes.
// FieldsV1 JSON writes a member that has children as a ".": {} entry beside them.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kite::controlplane::apiserver {

using FieldPath = std::vector<std::string>;

class FieldSet {
 public:
  void insert(const FieldPath& path);
  [[nodiscard]] bool contains(const FieldPath& path) const;
  [[nodiscard]] bool empty() const { return !member_ && children_.empty(); }

  // Set algebra over members (a node's presence as a prefix is not membership).
  [[nodiscard]] FieldSet unionWith(const FieldSet& other) const;
  [[nodiscard]] FieldSet intersection(const FieldSet& other) const;
  [[nodiscard]] FieldSet difference(const FieldSet& other) const;
  // Removes the child at the root with this element and everything below it.
  void eraseRootChild(const std::string& element) { children_.erase(element); }
  // Keeps only the root child with this element (and everything below it).
  void keepOnlyRootChild(const std::string& element);
  // Removes these root-level paths from membership (not their children), as upstream strips
  // the server-owned metadata fields from every manager's set.
  void removeMembers(const std::vector<FieldPath>& paths);

  // Every member path, in element order.
  void forEach(const std::function<void(const FieldPath&)>& fn) const;

  // {"f:metadata":{"f:labels":{".":{},"f:app":{}}}}
  [[nodiscard]] std::string toFieldsV1() const;
  // Parses FieldsV1 JSON; throws std::invalid_argument when it is not a FieldsV1 trie.
  static FieldSet fromFieldsV1(std::string_view json);

  bool operator==(const FieldSet&) const = default;

 private:
  void forEachFrom(FieldPath& prefix, const std::function<void(const FieldPath&)>& fn) const;
  void prune();

  bool member_ = false;
  std::map<std::string, FieldSet> children_;
};

// Upstream's rendering of a path in conflict messages:
// .spec.template.spec.containers[name="c"].image, .spec.ports[port=80,protocol="TCP"],
// .metadata.finalizers[="a"], .items[0].
std::string fieldPathString(const FieldPath& path);

}  // namespace kite::controlplane::apiserver
