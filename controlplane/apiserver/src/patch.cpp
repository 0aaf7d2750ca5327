#include "patch.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "api_error.h"
#include "kite/api/patch_meta.h"

namespace kite::controlplane::apiserver {

namespace {

using rapidjson::Document;
using rapidjson::Value;
using Allocator = Document::AllocatorType;

constexpr unsigned kParseFlags =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;

Document parse(std::string_view text, const char* what) {
  Document d;
  d.Parse<kParseFlags>(text.data(), text.size());
  if (d.HasParseError()) {
    std::string msg = what;
    msg.append(" is not valid JSON: ");
    msg.append(rapidjson::GetParseError_En(d.GetParseError()));
    throw ApiError::badRequest(std::move(msg));
  }
  return d;
}

std::string serialize(const Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

void mergePatchInto(Value& target, const Value& patch, Allocator& a) {
  if (!patch.IsObject()) {
    target.CopyFrom(patch, a);
    return;
  }
  if (!target.IsObject()) target.SetObject();
  for (auto it = patch.MemberBegin(); it != patch.MemberEnd(); ++it) {
    const std::string_view name(it->name.GetString(), it->name.GetStringLength());
    auto existing = target.FindMember(it->name);
    if (it->value.IsNull()) {
      if (existing != target.MemberEnd()) target.RemoveMember(existing);
      continue;
    }
    if (existing == target.MemberEnd()) {
      Value key(it->name, a);
      Value v;
      mergePatchInto(v, it->value, a);
      target.AddMember(key, v, a);
    } else {
      mergePatchInto(existing->value, it->value, a);
    }
    (void)name;
  }
}

// --- JSON patch (RFC 6902) ---

std::vector<std::string> pointerTokens(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer.front() != '/') throw ApiError::badRequest("JSON pointer must start with '/'");
  std::size_t i = 1;
  while (i <= pointer.size()) {
    std::size_t j = pointer.find('/', i);
    if (j == std::string_view::npos) j = pointer.size();
    std::string tok;
    for (std::size_t k = i; k < j; ++k) {
      if (pointer[k] == '~' && k + 1 < j && pointer[k + 1] == '0') {
        tok.push_back('~');
        ++k;
      } else if (pointer[k] == '~' && k + 1 < j && pointer[k + 1] == '1') {
        tok.push_back('/');
        ++k;
      } else {
        tok.push_back(pointer[k]);
      }
    }
    tokens.push_back(std::move(tok));
    i = j + 1;
  }
  return tokens;
}

[[noreturn]] void patchFailure(const std::string& message) {
  throw ApiError::failure(422, "Invalid", message);
}

bool arrayIndex(const std::string& tok, std::size_t size, bool allowEnd, std::size_t& out) {
  if (allowEnd && tok == "-") {
    out = size;
    return true;
  }
  if (tok.empty() || tok.size() > 9 || (tok.size() > 1 && tok[0] == '0')) return false;
  std::size_t v = 0;
  for (char c : tok) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  if (v > size || (!allowEnd && v == size)) return false;
  out = v;
  return true;
}

// The parent container of the pointer's last token.
Value* resolveParent(Value& root, const std::vector<std::string>& tokens, const std::string& path) {
  Value* cur = &root;
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
    const auto& t = tokens[i];
    if (cur->IsObject()) {
      auto it = cur->FindMember(Value(rapidjson::StringRef(t.data(), t.size())));
      if (it == cur->MemberEnd()) patchFailure("doc is missing path: \"" + path + "\"");
      cur = &it->value;
    } else if (cur->IsArray()) {
      std::size_t idx = 0;
      if (!arrayIndex(t, cur->Size(), false, idx))
        patchFailure("doc is missing path: \"" + path + "\"");
      cur = &(*cur)[static_cast<rapidjson::SizeType>(idx)];
    } else {
      patchFailure("doc is missing path: \"" + path + "\"");
    }
  }
  return cur;
}

Value take(Value& root, const std::vector<std::string>& tokens, const std::string& path,
           Allocator& a, bool remove) {
  if (tokens.empty()) {
    Value copy(root, a);
    return copy;
  }
  Value* parent = resolveParent(root, tokens, path);
  const auto& last = tokens.back();
  if (parent->IsObject()) {
    auto it = parent->FindMember(Value(rapidjson::StringRef(last.data(), last.size())));
    if (it == parent->MemberEnd()) patchFailure("doc is missing path: \"" + path + "\"");
    Value out(it->value, a);
    if (remove) parent->RemoveMember(it);
    return out;
  }
  if (parent->IsArray()) {
    std::size_t idx = 0;
    if (!arrayIndex(last, parent->Size(), false, idx)) {
      patchFailure("doc is missing path: \"" + path + "\"");
    }
    Value out((*parent)[static_cast<rapidjson::SizeType>(idx)], a);
    if (remove) parent->Erase(parent->Begin() + idx);
    return out;
  }
  patchFailure("doc is missing path: \"" + path + "\"");
}

void put(Value& root, const std::vector<std::string>& tokens, const std::string& path, Value value,
         Allocator& a, bool replace) {
  if (tokens.empty()) {
    root = std::move(value);
    return;
  }
  Value* parent = resolveParent(root, tokens, path);
  const auto& last = tokens.back();
  if (parent->IsObject()) {
    auto it = parent->FindMember(Value(rapidjson::StringRef(last.data(), last.size())));
    if (it != parent->MemberEnd()) {
      it->value = std::move(value);
    } else {
      if (replace) patchFailure("doc is missing key: \"" + path + "\"");
      parent->AddMember(Value(last.c_str(), a), value, a);
    }
    return;
  }
  if (parent->IsArray()) {
    std::size_t idx = 0;
    if (!arrayIndex(last, parent->Size(), !replace, idx)) {
      patchFailure("doc is missing path: \"" + path + "\"");
    }
    if (replace) {
      (*parent)[static_cast<rapidjson::SizeType>(idx)] = std::move(value);
    } else if (idx == parent->Size()) {
      parent->PushBack(value, a);
    } else {
      parent->PushBack(Value(), a);
      for (std::size_t k = parent->Size() - 1; k > idx; --k) {
        (*parent)[static_cast<rapidjson::SizeType>(k)] =
            std::move((*parent)[static_cast<rapidjson::SizeType>(k - 1)]);
      }
      (*parent)[static_cast<rapidjson::SizeType>(idx)] = std::move(value);
    }
    return;
  }
  patchFailure("doc is missing path: \"" + path + "\"");
}

std::string memberString(const Value& op, const char* name, bool required) {
  auto it = op.FindMember(name);
  if (it == op.MemberEnd() || !it->value.IsString()) {
    if (required)
      throw ApiError::badRequest(std::string("JSON patch operation is missing \"") + name + "\"");
    return {};
  }
  return {it->value.GetString(), it->value.GetStringLength()};
}

// --- strategic merge patch ---

constexpr std::string_view kPatchDirective = "$patch";
constexpr std::string_view kRetainKeys = "$retainKeys";
constexpr std::string_view kSetElementOrder = "$setElementOrder/";
constexpr std::string_view kDeleteFromPrimitive = "$deleteFromPrimitiveList/";

std::string_view nameOf(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

bool sameKey(const Value& a, const Value& b) { return a == b; }

void strategicInto(Value& target, const Value& patch, std::vector<std::string>& path,
                   const ListMergeRules& rules, Allocator& a);

void mergeList(Value& target, const Value& patch, std::vector<std::string>& path,
               const ListMergeRules& rules, Allocator& a) {
  const ListMergeRule rule = rules(path);
  if (!rule.merge || !target.IsArray()) {
    // Replace, after dropping directive-only items.
    Value out(rapidjson::kArrayType);
    for (const auto& item : patch.GetArray()) {
      if (item.IsObject() && item.HasMember("$patch")) continue;
      out.PushBack(Value(item, a), a);
    }
    target = std::move(out);
    return;
  }
  if (rule.mergeKey.empty()) {
    for (const auto& item : patch.GetArray()) {
      bool present = false;
      for (const auto& have : target.GetArray()) present = present || have == item;
      if (!present) target.PushBack(Value(item, a), a);
    }
    return;
  }
  const Value key(rule.mergeKey.c_str(), a);
  // `$patch: replace` inside the list replaces the whole list with the other items.
  for (const auto& item : patch.GetArray()) {
    if (item.IsObject()) {
      auto d = item.FindMember("$patch");
      if (d != item.MemberEnd() && d->value.IsString() && nameOf(d->value) == "replace") {
        Value out(rapidjson::kArrayType);
        for (const auto& other : patch.GetArray()) {
          if (other.IsObject() && other.HasMember("$patch")) continue;
          out.PushBack(Value(other, a), a);
        }
        target = std::move(out);
        return;
      }
    }
  }
  for (const auto& item : patch.GetArray()) {
    if (!item.IsObject()) {
      throw ApiError::badRequest(
          "strategic merge patch: list items must be objects with the "
          "merge key \"" +
          rule.mergeKey + "\"");
    }
    auto k = item.FindMember(key);
    if (k == item.MemberEnd()) {
      throw ApiError::badRequest("map: " + serialize(item) +
                                 " does not contain declared merge key: " + rule.mergeKey);
    }
    auto d = item.FindMember("$patch");
    const bool del = d != item.MemberEnd() && d->value.IsString() && nameOf(d->value) == "delete";
    Value* found = nullptr;
    rapidjson::SizeType foundAt = 0;
    for (rapidjson::SizeType i = 0; i < target.Size(); ++i) {
      auto& have = target[i];
      if (!have.IsObject()) continue;
      auto hk = have.FindMember(key);
      if (hk != have.MemberEnd() && sameKey(hk->value, k->value)) {
        found = &have;
        foundAt = i;
        break;
      }
    }
    if (del) {
      if (found != nullptr) target.Erase(target.Begin() + foundAt);
      continue;
    }
    if (found != nullptr) {
      strategicInto(*found, item, path, rules, a);
    } else {
      Value fresh(rapidjson::kObjectType);
      strategicInto(fresh, item, path, rules, a);
      target.PushBack(fresh, a);
    }
  }
}

void strategicInto(Value& target, const Value& patch, std::vector<std::string>& path,
                   const ListMergeRules& rules, Allocator& a) {
  if (!patch.IsObject()) {
    target.CopyFrom(patch, a);
    return;
  }
  if (auto d = patch.FindMember("$patch"); d != patch.MemberEnd() && d->value.IsString()) {
    const auto directive = nameOf(d->value);
    if (directive == "replace") {
      Value out(rapidjson::kObjectType);
      for (auto it = patch.MemberBegin(); it != patch.MemberEnd(); ++it) {
        if (nameOf(it->name) == kPatchDirective) continue;
        out.AddMember(Value(it->name, a), Value(it->value, a), a);
      }
      target = std::move(out);
      return;
    }
    if (directive == "delete") {
      target.SetNull();
      return;
    }
    if (directive != "merge") {
      throw ApiError::badRequest("unknown patch type: " + std::string(directive));
    }
  }
  if (!target.IsObject()) target.SetObject();
  // $retainKeys: drop every key of the target not listed.
  if (auto rk = patch.FindMember("$retainKeys"); rk != patch.MemberEnd() && rk->value.IsArray()) {
    for (auto it = target.MemberBegin(); it != target.MemberEnd();) {
      bool keep = false;
      for (const auto& k : rk->value.GetArray()) keep = keep || (k.IsString() && k == it->name);
      it = keep ? it + 1 : target.RemoveMember(it);
    }
  }
  for (auto it = patch.MemberBegin(); it != patch.MemberEnd(); ++it) {
    const std::string_view name = nameOf(it->name);
    if (name == kPatchDirective || name == kRetainKeys) continue;
    if (name.rfind(kSetElementOrder, 0) == 0) continue;  // ordering hint only
    if (name.rfind(kDeleteFromPrimitive, 0) == 0) {
      const std::string field(name.substr(kDeleteFromPrimitive.size()));
      auto list = target.FindMember(field.c_str());
      if (list != target.MemberEnd() && list->value.IsArray() && it->value.IsArray()) {
        auto& arr = list->value;
        for (rapidjson::SizeType i = 0; i < arr.Size();) {
          bool drop = false;
          for (const auto& v : it->value.GetArray()) drop = drop || v == arr[i];
          if (drop) {
            arr.Erase(arr.Begin() + i);
          } else {
            ++i;
          }
        }
      }
      continue;
    }
    auto existing = target.FindMember(it->name);
    if (it->value.IsNull()) {
      if (existing != target.MemberEnd()) target.RemoveMember(existing);
      continue;
    }
    path.emplace_back(name);
    if (existing == target.MemberEnd()) {
      Value v;
      if (it->value.IsArray()) {
        v.SetArray();
        mergeList(v, it->value, path, rules, a);
      } else {
        strategicInto(v, it->value, path, rules, a);
      }
      if (!v.IsNull()) target.AddMember(Value(it->name, a), v, a);
    } else if (it->value.IsArray() && existing->value.IsArray()) {
      mergeList(existing->value, it->value, path, rules, a);
    } else {
      strategicInto(existing->value, it->value, path, rules, a);
      if (existing->value.IsNull() && it->value.IsObject()) target.RemoveMember(existing);
    }
    path.pop_back();
  }
}

}  // namespace

std::string applyMergePatch(std::string_view original, std::string_view patch) {
  Document target = parse(original, "the object");
  Document p = parse(patch, "the patch");
  mergePatchInto(target, p, target.GetAllocator());
  return serialize(target);
}

std::string applyJsonPatch(std::string_view original, std::string_view patch) {
  Document target = parse(original, "the object");
  Document ops = parse(patch, "the patch");
  if (!ops.IsArray()) throw ApiError::badRequest("a JSON patch must be an array of operations");
  auto& a = target.GetAllocator();
  for (const auto& op : ops.GetArray()) {
    if (!op.IsObject()) throw ApiError::badRequest("a JSON patch operation must be an object");
    const std::string kind = memberString(op, "op", true);
    const std::string path = memberString(op, "path", true);
    const auto tokens = pointerTokens(path);
    auto valueOf = [&]() {
      auto v = op.FindMember("value");
      if (v == op.MemberEnd())
        throw ApiError::badRequest("JSON patch \"" + kind + "\" needs a value");
      return Value(v->value, a);
    };
    if (kind == "add") {
      put(target, tokens, path, valueOf(), a, false);
    } else if (kind == "remove") {
      take(target, tokens, path, a, true);
    } else if (kind == "replace") {
      put(target, tokens, path, valueOf(), a, true);
    } else if (kind == "move" || kind == "copy") {
      const std::string from = memberString(op, "from", true);
      Value v = take(target, pointerTokens(from), from, a, kind == "move");
      put(target, tokens, path, std::move(v), a, false);
    } else if (kind == "test") {
      Value have = take(target, tokens, path, a, false);
      if (!(have == valueOf())) patchFailure("testing value " + path + " failed");
    } else {
      throw ApiError::badRequest("unexpected JSON patch operation \"" + kind + "\"");
    }
  }
  return serialize(target);
}

ListMergeRules listMergeRulesFor(std::string_view apiVersion, std::string_view kind) {
  const api::PatchMeta* root = api::patchMetaFor(apiVersion, kind);
  return [root](const std::vector<std::string>& path) -> ListMergeRule {
    const api::PatchMeta* node = root;
    for (const auto& name : path) {
      if (node == nullptr) return {};
      // Step through list items and map values to the object holding the field.
      while (node != nullptr && node->type != api::PatchValueType::Object && node->items) {
        node = node->items;
      }
      node = node == nullptr ? nullptr : node->field(name);
    }
    if (node == nullptr || !node->mergesList()) return {};
    return ListMergeRule{true, std::string(node->mergeKey)};
  };
}

std::string applyStrategicMergePatch(std::string_view original, std::string_view patch,
                                     const ListMergeRules& rules) {
  Document target = parse(original, "the object");
  Document p = parse(patch, "the patch");
  if (!p.IsObject()) throw ApiError::badRequest("a strategic merge patch must be a JSON object");
  std::vector<std::string> path;
  strategicInto(target, p, path, rules, target.GetAllocator());
  return serialize(target);
}

}  // namespace kite::controlplane::apiserver
