#include "field_set.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stdexcept>

namespace kite::controlplane::apiserver {

namespace {

using rapidjson::Value;

void writeSet(rapidjson::Writer<rapidjson::StringBuffer>& w, bool member,
              const std::map<std::string, FieldSet>& children,
              const std::function<void(const FieldSet&,
                                       rapidjson::Writer<rapidjson::StringBuffer>&)>& writeChild) {
  w.StartObject();
  if (member && !children.empty()) {
    w.Key(".");
    w.StartObject();
    w.EndObject();
  }
  for (const auto& [element, child] : children) {
    w.Key(element.data(), static_cast<rapidjson::SizeType>(element.size()));
    writeChild(child, w);
  }
  w.EndObject();
}

// A JSON value as upstream's value.ToString prints it inside path strings: strings quoted,
// numbers and booleans bare.
std::string valueString(const Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace

void FieldSet::insert(const FieldPath& path) {
  FieldSet* node = this;
  for (const auto& element : path) node = &node->children_[element];
  node->member_ = true;
}

bool FieldSet::contains(const FieldPath& path) const {
  const FieldSet* node = this;
  for (const auto& element : path) {
    auto it = node->children_.find(element);
    if (it == node->children_.end()) return false;
    node = &it->second;
  }
  return node->member_;
}

FieldSet FieldSet::unionWith(const FieldSet& other) const {
  FieldSet out = *this;
  out.member_ = member_ || other.member_;
  for (const auto& [element, child] : other.children_) {
    auto it = out.children_.find(element);
    out.children_[element] = it == out.children_.end() ? child : it->second.unionWith(child);
  }
  return out;
}

FieldSet FieldSet::intersection(const FieldSet& other) const {
  FieldSet out;
  out.member_ = member_ && other.member_;
  for (const auto& [element, child] : children_) {
    auto it = other.children_.find(element);
    if (it == other.children_.end()) continue;
    FieldSet both = child.intersection(it->second);
    if (!both.empty()) out.children_.emplace(element, std::move(both));
  }
  return out;
}

FieldSet FieldSet::difference(const FieldSet& other) const {
  FieldSet out;
  out.member_ = member_ && !other.member_;
  for (const auto& [element, child] : children_) {
    auto it = other.children_.find(element);
    FieldSet rest = it == other.children_.end() ? child : child.difference(it->second);
    if (!rest.empty()) out.children_.emplace(element, std::move(rest));
  }
  return out;
}

void FieldSet::keepOnlyRootChild(const std::string& element) {
  member_ = false;
  for (auto it = children_.begin(); it != children_.end();) {
    it = it->first == element ? std::next(it) : children_.erase(it);
  }
}

void FieldSet::removeMembers(const std::vector<FieldPath>& paths) {
  for (const auto& path : paths) {
    FieldSet* node = this;
    for (const auto& element : path) {
      auto it = node->children_.find(element);
      if (it == node->children_.end()) {
        node = nullptr;
        break;
      }
      node = &it->second;
    }
    if (node != nullptr) node->member_ = false;
  }
  prune();
}

void FieldSet::prune() {
  for (auto it = children_.begin(); it != children_.end();) {
    it->second.prune();
    it = it->second.empty() ? children_.erase(it) : std::next(it);
  }
}

void FieldSet::forEach(const std::function<void(const FieldPath&)>& fn) const {
  FieldPath prefix;
  forEachFrom(prefix, fn);
}

void FieldSet::forEachFrom(FieldPath& prefix,
                           const std::function<void(const FieldPath&)>& fn) const {
  if (member_) fn(prefix);
  for (const auto& [element, child] : children_) {
    prefix.push_back(element);
    child.forEachFrom(prefix, fn);
    prefix.pop_back();
  }
}

std::string FieldSet::toFieldsV1() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  std::function<void(const FieldSet&, rapidjson::Writer<rapidjson::StringBuffer>&)> write =
      [&write](const FieldSet& s, rapidjson::Writer<rapidjson::StringBuffer>& out) {
        writeSet(out, s.member_, s.children_, write);
      };
  write(*this, w);
  return {buf.GetString(), buf.GetSize()};
}

FieldSet FieldSet::fromFieldsV1(std::string_view json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject()) {
    throw std::invalid_argument("fieldsV1 is not a JSON object");
  }
  std::function<void(const Value&, FieldSet&, int)> read = [&read](const Value& v, FieldSet& s,
                                                                   int depth) {
    if (depth > 100) throw std::invalid_argument("fieldsV1 nests too deeply");
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      const std::string element(it->name.GetString(), it->name.GetStringLength());
      if (!it->value.IsObject()) throw std::invalid_argument("fieldsV1 values must be objects");
      if (element == ".") {
        s.member_ = true;
        continue;
      }
      if (element.size() < 2 || element[1] != ':' ||
          std::string_view("fkvi").find(element[0]) == std::string_view::npos) {
        throw std::invalid_argument("fieldsV1 has an unknown path element \"" + element + "\"");
      }
      FieldSet& child = s.children_[element];
      if (it->value.MemberCount() == 0) child.member_ = true;
      read(it->value, child, depth + 1);
    }
  };
  FieldSet out;
  read(d, out, 0);
  out.member_ = false;
  return out;
}

std::string fieldPathString(const FieldPath& path) {
  std::string out;
  for (const auto& element : path) {
    const std::string_view body = std::string_view(element).substr(2);
    switch (element.empty() ? ' ' : element[0]) {
      case 'f':
        out.append(".").append(body);
        break;
      case 'i':
        out.append("[").append(body).append("]");
        break;
      case 'v':
        out.append("[=").append(body).append("]");
        break;
      case 'k': {
        rapidjson::Document key;
        key.Parse(body.data(), body.size());
        out.append("[");
        if (!key.HasParseError() && key.IsObject()) {
          bool first = true;
          for (auto it = key.MemberBegin(); it != key.MemberEnd(); ++it) {
            if (!first) out.append(",");
            first = false;
            out.append(it->name.GetString(), it->name.GetStringLength())
                .append("=")
                .append(valueString(it->value));
          }
        }
        out.append("]");
        break;
      }
      default:
        out.append(element);
    }
  }
  return out;
}

}  // namespace kite::controlplane::apiserver
