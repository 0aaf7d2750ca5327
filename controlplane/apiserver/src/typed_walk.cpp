#include "typed_walk.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <map>

namespace kite::controlplane::apiserver {

namespace {

using api::PatchMeta;
using api::PatchValueType;
using rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

enum class Shape : std::uint8_t { Struct, Map, ListMap, ListSet, Atomic, Scalar };

// How a value is tracked. Unknown parts (nullptr schema: kinds or fields without metadata)
// are deduced from the JSON as upstream does: objects are maps, lists are atomic.
Shape shapeOf(const PatchMeta* m, const Value& v) {
  if (m == nullptr) {
    if (v.IsObject()) return Shape::Map;
    return v.IsArray() ? Shape::Atomic : Shape::Scalar;
  }
  switch (m->type) {
    case PatchValueType::Object:
      if (!v.IsObject()) return Shape::Scalar;
      return m->atomic ? Shape::Atomic : Shape::Struct;
    case PatchValueType::Map:
      if (!v.IsObject()) return Shape::Scalar;
      return m->atomic ? Shape::Atomic : Shape::Map;
    case PatchValueType::List: {
      if (!v.IsArray()) return Shape::Scalar;
      const bool merged = m->listType == api::ListType::None && m->mergesList();
      if (m->listType == api::ListType::Map || (merged && !m->mergeKey.empty())) {
        return Shape::ListMap;
      }
      if (m->listType == api::ListType::Set || merged) return Shape::ListSet;
      return Shape::Atomic;
    }
    case PatchValueType::Raw:
      return Shape::Atomic;
    default:
      return Shape::Scalar;
  }
}

bool isObjectShape(Shape s) { return s == Shape::Struct || s == Shape::Map; }
bool isListShape(Shape s) { return s == Shape::ListMap || s == Shape::ListSet; }

const PatchMeta* memberMeta(const PatchMeta* m, std::string_view name) {
  if (m == nullptr) return nullptr;
  if (m->type == PatchValueType::Object) return m->field(name);
  if (m->type == PatchValueType::Map) return m->items;
  return nullptr;
}

const PatchMeta* itemMeta(const PatchMeta* m) { return m == nullptr ? nullptr : m->items; }

std::string serialize(const Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

std::string_view nameOf(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

std::string fieldElement(std::string_view name) {
  std::string e = "f:";
  e.append(name);
  return e;
}

// The path element of a list item: k:{keys} for list maps (key fields sorted by name; a
// missing protocol is TCP, the schema default upstream fills in), v:<json> for sets.
std::string itemElement(const PatchMeta* m, Shape s, const Value& item, std::size_t index) {
  if (s == Shape::ListSet) return "v:" + serialize(item);
  if (!item.IsObject() || m == nullptr) return "i:" + std::to_string(index);
  std::vector<std::string_view> keys(m->listMapKeys.begin(), m->listMapKeys.end());
  if (keys.empty()) keys.push_back(m->mergeKey);
  std::sort(keys.begin(), keys.end());
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  for (const auto key : keys) {
    const Value name(rapidjson::StringRef(key.data(), key.size()));
    auto it = item.FindMember(name);
    if (it != item.MemberEnd()) {
      w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
      it->value.Accept(w);
    } else if (key == "protocol") {
      w.Key("protocol");
      w.String("TCP");
    }
  }
  w.EndObject();
  return "k:" + std::string(buf.GetString(), buf.GetSize());
}

void collect(const Value& v, const PatchMeta* m, FieldPath& path, FieldSet& out) {
  const Shape s = shapeOf(m, v);
  if (s == Shape::Scalar || s == Shape::Atomic) {
    if (!path.empty()) out.insert(path);
    return;
  }
  if (isObjectShape(s)) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      const std::string_view name = nameOf(it->name);
      const PatchMeta* child = memberMeta(m, name);
      path.push_back(fieldElement(name));
      if (!it->value.IsNull()) collect(it->value, child, path, out);
      const bool emptyObject = it->value.IsObject() && it->value.MemberCount() == 0;
      if (s == Shape::Map || child == nullptr || it->value.IsNull() || emptyObject) {
        out.insert(path);
      }
      path.pop_back();
    }
    return;
  }
  std::size_t index = 0;
  for (const auto& item : v.GetArray()) {
    path.push_back(itemElement(m, s, item, index++));
    collect(item, itemMeta(m), path, out);
    out.insert(path);
    path.pop_back();
  }
}

class Comparer {
 public:
  explicit Comparer(FieldComparison& out) : out_(out) {}

  void compare(const Value* before, const Value* after, const PatchMeta* m, FieldPath& path) {
    if (before != nullptr && after != nullptr) {
      const Shape s = shapeOf(m, *after);
      if (s != shapeOf(m, *before) || s == Shape::Scalar || s == Shape::Atomic) {
        if (!(*before == *after)) out_.modified.insert(path);
        return;
      }
      descend(before, after, m, s, path);
      return;
    }
    const Value& present = after != nullptr ? *after : *before;
    if (!path.empty()) (after != nullptr ? out_.added : out_.removed).insert(path);
    const Shape s = shapeOf(m, present);
    if (s != Shape::Scalar && s != Shape::Atomic) descend(before, after, m, s, path);
  }

 private:
  void descend(const Value* before, const Value* after, const PatchMeta* m, Shape s,
               FieldPath& path) {
    if (isObjectShape(s)) {
      if (after != nullptr) {
        for (auto it = after->MemberBegin(); it != after->MemberEnd(); ++it) {
          const Value* old = nullptr;
          if (before != nullptr) {
            auto o = before->FindMember(it->name);
            if (o != before->MemberEnd()) old = &o->value;
          }
          path.push_back(fieldElement(nameOf(it->name)));
          compare(old, &it->value, memberMeta(m, nameOf(it->name)), path);
          path.pop_back();
        }
      }
      if (before != nullptr) {
        for (auto it = before->MemberBegin(); it != before->MemberEnd(); ++it) {
          if (after != nullptr && after->HasMember(it->name)) continue;
          path.push_back(fieldElement(nameOf(it->name)));
          compare(&it->value, nullptr, memberMeta(m, nameOf(it->name)), path);
          path.pop_back();
        }
      }
      return;
    }
    std::map<std::string, const Value*> olds;
    std::size_t index = 0;
    if (before != nullptr) {
      for (const auto& item : before->GetArray())
        olds.emplace(itemElement(m, s, item, index++), &item);
    }
    index = 0;
    if (after != nullptr) {
      for (const auto& item : after->GetArray()) {
        std::string element = itemElement(m, s, item, index++);
        const Value* old = nullptr;
        if (auto o = olds.find(element); o != olds.end()) {
          old = o->second;
          olds.erase(o);
        }
        path.push_back(std::move(element));
        compare(old, &item, itemMeta(m), path);
        path.pop_back();
      }
    }
    for (const auto& [element, old] : olds) {
      path.push_back(element);
      compare(old, nullptr, itemMeta(m), path);
      path.pop_back();
    }
  }

  FieldComparison& out_;
};

Value* findItem(Value& list, const PatchMeta* m, Shape s, const std::string& element) {
  std::size_t index = 0;
  for (auto& item : list.GetArray()) {
    if (itemElement(m, s, item, index++) == element) return &item;
  }
  return nullptr;
}

}  // namespace

FieldSet fieldSetOf(const Value& object, const PatchMeta* schema) {
  FieldSet out;
  FieldPath path;
  collect(object, schema, path, out);
  return out;
}

FieldComparison compareFields(const Value& before, const Value& after, const PatchMeta* schema) {
  FieldComparison out;
  FieldPath path;
  Comparer(out).compare(&before, &after, schema, path);
  return out;
}

void mergeApplied(Value& live, const Value& config, const PatchMeta* schema, Allocator& allocator) {
  const Shape s = shapeOf(schema, config);
  if (isObjectShape(s) && live.IsObject()) {
    for (auto it = config.MemberBegin(); it != config.MemberEnd(); ++it) {
      auto have = live.FindMember(it->name);
      if (it->value.IsNull()) {
        if (have != live.MemberEnd()) live.EraseMember(have);
        continue;
      }
      if (have != live.MemberEnd()) {
        mergeApplied(have->value, it->value, memberMeta(schema, nameOf(it->name)), allocator);
      } else {
        live.AddMember(Value(it->name, allocator), Value(it->value, allocator), allocator);
      }
    }
    return;
  }
  if (isListShape(s) && live.IsArray()) {
    std::size_t index = 0;
    for (const auto& item : config.GetArray()) {
      const std::string element = itemElement(schema, s, item, index++);
      Value* have = findItem(live, schema, s, element);
      if (have == nullptr) {
        live.PushBack(Value(item, allocator), allocator);
      } else if (s == Shape::ListMap) {
        mergeApplied(*have, item, itemMeta(schema), allocator);
      }
    }
    return;
  }
  live.CopyFrom(config, allocator);
}

void removeFieldPath(Value& object, const FieldPath& path, const PatchMeta* schema) {
  Value* node = &object;
  const PatchMeta* m = schema;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const std::string& element = path[i];
    const bool last = i + 1 == path.size();
    const Shape s = shapeOf(m, *node);
    if (element.rfind("f:", 0) == 0) {
      if (!node->IsObject()) return;
      const std::string_view name = std::string_view(element).substr(2);
      auto it = node->FindMember(Value(rapidjson::StringRef(name.data(), name.size())));
      if (it == node->MemberEnd()) return;
      if (last) {
        node->EraseMember(it);
        return;
      }
      node = &it->value;
      m = memberMeta(m, name);
      continue;
    }
    if (!node->IsArray()) return;
    Value* item = findItem(*node, m, s, element);
    if (item == nullptr) return;
    if (last) {
      node->Erase(item);
      return;
    }
    node = item;
    m = itemMeta(m);
  }
}

}  // namespace kite::controlplane::apiserver
