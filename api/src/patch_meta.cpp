// Lookups over the generated patch metadata tree (gen/kite/api/patch_meta.cpp).

#include "kite/api/patch_meta.h"

#include <algorithm>

namespace kite::api {

const PatchMeta* PatchMeta::field(std::string_view name) const {
  const auto it =
      std::lower_bound(fields.begin(), fields.end(), name,
                       [](const PatchField& f, std::string_view n) { return f.name < n; });
  if (it == fields.end() || it->name != name) return nullptr;
  return it->meta;
}

const PatchMeta* patchMetaFor(std::string_view apiVersion, std::string_view kind) {
  const auto kinds = detail::patchMetaKinds();
  const auto it = std::lower_bound(
      kinds.begin(), kinds.end(), std::pair{apiVersion, kind},
      [](const detail::PatchMetaKind& k, const std::pair<std::string_view, std::string_view>& key) {
        return std::pair{k.apiVersion, k.kind} < key;
      });
  if (it == kinds.end() || it->apiVersion != apiVersion || it->kind != kind) return nullptr;
  return it->meta;
}

const PatchMeta* patchMetaAt(const PatchMeta* root, std::string_view path) {
  const PatchMeta* node = root;
  while (node != nullptr && !path.empty()) {
    // Lists and maps are transparent: a path names fields only.
    while (node->type == PatchValueType::List || node->type == PatchValueType::Map) {
      node = node->items;
      if (node == nullptr) return nullptr;
    }
    const auto dot = path.find('.');
    node = node->field(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  }
  return node;
}

}  // namespace kite::api
