// YAML to JSON with kubectl's rules (sigs.k8s.io/yaml over YAML 1.1 scalar resolution).

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "json_codec.h"
#include "kite/api/json.h"

namespace kite::api {
namespace {

constexpr int kMaxDepth = 1000;

struct Scalar {
  enum class Kind : uint8_t { Null, Bool, Int, Uint, Float, String } kind = Kind::String;
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
};

int digitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

// strconv.ParseUint(s, 0, 64) without sign: 0x, 0o, 0b prefixes and leading-0 octal.
std::optional<uint64_t> parseUnsigned(std::string_view s) {
  unsigned base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
    base = 8;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
    base = 2;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (const char c : s) {
    const auto d = static_cast<unsigned>(digitValue(c));
    if (d >= base) return std::nullopt;
    if (v > (std::numeric_limits<uint64_t>::max() - d) / base) return std::nullopt;
    v = v * base + d;
  }
  return v;
}

// ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool yamlStyleFloat(std::string_view s) {
  std::size_t i = 0;
  auto digitsFrom = [&](std::size_t& p) {
    const std::size_t start = p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') ++p;
    return p > start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digitsFrom(i)) return false;
  } else {
    if (!digitsFrom(i)) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digitsFrom(i);
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digitsFrom(i)) return false;
  }
  return i == s.size();
}

std::optional<double> parseFloat(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  double v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

// go-yaml v2's resolve() for an untagged plain scalar.
Scalar resolvePlain(std::string_view in) {
  Scalar out;
  static const std::set<std::string_view> kTrue = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                                   "True", "TRUE", "on",  "On",  "ON"};
  static const std::set<std::string_view> kFalse = {"n",     "N",     "no",  "No",  "NO", "false",
                                                    "False", "FALSE", "off", "Off", "OFF"};
  static const std::set<std::string_view> kNull = {"", "~", "null", "Null", "NULL"};
  static const std::set<std::string_view> kSpecialFloat = {".nan",  ".NaN",  ".NAN",  ".inf",
                                                           ".Inf",  ".INF",  "+.inf", "+.Inf",
                                                           "+.INF", "-.inf", "-.Inf", "-.INF"};
  if (kNull.count(in) != 0) {
    out.kind = Scalar::Kind::Null;
    return out;
  }
  if (kTrue.count(in) != 0 || kFalse.count(in) != 0) {
    out.kind = Scalar::Kind::Bool;
    out.b = kTrue.count(in) != 0;
    return out;
  }
  if (kSpecialFloat.count(in) != 0) {
    out.kind = Scalar::Kind::Float;
    out.f = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  const char hint = in[0];
  if (hint == '.') {
    if (auto f = parseFloat(in)) {
      out.kind = Scalar::Kind::Float;
      out.f = *f;
    }
    return out;
  }
  if (hint != '+' && hint != '-' && (hint < '0' || hint > '9')) return out;
  std::string plain;
  for (const char c : in) {
    if (c != '_') plain += c;
  }
  std::string_view body(plain);
  bool negative = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (auto u = parseUnsigned(body)) {
    if (!negative && *u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      out.kind = Scalar::Kind::Int;
      out.i = static_cast<int64_t>(*u);
      return out;
    }
    if (negative && *u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1) {
      out.kind = Scalar::Kind::Int;
      out.i = *u == static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1
                  ? std::numeric_limits<int64_t>::min()
                  : -static_cast<int64_t>(*u);
      return out;
    }
    if (!negative && plain[0] != '+') {
      out.kind = Scalar::Kind::Uint;
      out.u = *u;
      return out;
    }
  }
  if (yamlStyleFloat(plain)) {
    if (auto f = parseFloat(plain)) {
      out.kind = Scalar::Kind::Float;
      out.f = *f;
    }
  }
  return out;
}

bool isQuotedTag(const std::string& tag) {
  return tag == "!" || tag == "tag:yaml.org,2002:str" || tag == "tag:yaml.org,2002:binary";
}

// A YAML node, built from yaml-cpp's parser events. Aliases point at the anchored node, so
// the graph may share nodes and even contain cycles; the arena owns all nodes.
struct YNode {
  enum class Kind : uint8_t { Null, Scalar, Sequence, Map } kind = Kind::Null;
  YAML::Mark mark;
  std::string tag;
  std::string value;          // scalars
  std::vector<YNode*> items;  // sequences; maps as key, value, key, value...
};

// Builds the nodes of one document.
class Builder : public YAML::EventHandler {
 public:
  YNode* root() const { return root_; }
  const YAML::Mark& start() const { return start_; }

  void OnDocumentStart(const YAML::Mark& mark) override { start_ = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    add(make(YNode::Kind::Null, mark, "", anchor));
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto it = anchors_.find(anchor);
    add(it != anchors_.end() ? it->second : make(YNode::Kind::Null, mark, "", 0));
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    YNode* n = make(YNode::Kind::Scalar, mark, tag, anchor);
    n->value = value;
    add(n);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value /*style*/) override {
    open(make(YNode::Kind::Sequence, mark, tag, anchor));
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value /*style*/) override {
    open(make(YNode::Kind::Map, mark, tag, anchor));
  }
  void OnMapEnd() override { close(); }

 private:
  YNode* make(YNode::Kind kind, const YAML::Mark& mark, const std::string& tag,
              YAML::anchor_t anchor) {
    arena_.push_back(std::make_unique<YNode>());
    YNode* n = arena_.back().get();
    n->kind = kind;
    n->mark = mark;
    n->tag = tag;
    if (anchor != 0) anchors_[anchor] = n;
    return n;
  }
  void add(YNode* n) {
    if (stack_.empty()) {
      if (root_ == nullptr) root_ = n;
    } else {
      stack_.back()->items.push_back(n);
    }
  }
  void open(YNode* n) {
    add(n);
    stack_.push_back(n);
  }
  void close() {
    if (!stack_.empty()) stack_.pop_back();
  }

  std::vector<std::unique_ptr<YNode>> arena_;
  std::vector<YNode*> stack_;
  std::map<YAML::anchor_t, YNode*> anchors_;
  YNode* root_ = nullptr;
  YAML::Mark start_ = YAML::Mark::null_mark();
};

[[noreturn]] void failAt(const YAML::Mark& m, const std::string& what) {
  throw ParseError(what, m.is_null() ? 0 : static_cast<std::size_t>(m.line) + 1,
                   m.is_null() ? 0 : static_cast<std::size_t>(m.column) + 1);
}

class Converter {
 public:
  Converter(rapidjson::Writer<rapidjson::StringBuffer>& w, std::size_t budget)
      : w_(w), budget_(budget) {}

  void value(const YNode* n, int depth) {
    spend(n, depth);
    switch (n->kind) {
      case YNode::Kind::Null:
        w_.Null();
        return;
      case YNode::Kind::Scalar:
        scalar(n);
        return;
      case YNode::Kind::Sequence:
        w_.StartArray();
        for (const YNode* item : n->items) value(item, depth + 1);
        w_.EndArray();
        return;
      case YNode::Kind::Map:
        map(n, depth);
        return;
    }
  }

 private:
  void spend(const YNode* n, int depth) {
    if (depth > kMaxDepth) {
      failAt(n->mark, "YAML nesting is deeper than " + std::to_string(kMaxDepth));
    }
    if (budget_ == 0) {
      failAt(n->mark, "YAML document expands to too many nodes (excessive aliasing)");
    }
    --budget_;
  }

  void scalar(const YNode* n) {
    if (isQuotedTag(n->tag)) {
      string(n->value);
      return;
    }
    const Scalar s = resolvePlain(n->value);
    switch (s.kind) {
      case Scalar::Kind::Null:
        w_.Null();
        break;
      case Scalar::Kind::Bool:
        w_.Bool(s.b);
        break;
      case Scalar::Kind::Int:
        w_.Int64(s.i);
        break;
      case Scalar::Kind::Uint:
        w_.Uint64(s.u);
        break;
      case Scalar::Kind::Float: {
        if (!std::isfinite(s.f)) failAt(n->mark, "JSON cannot hold " + n->value);
        const std::string f = detail::formatGoFloat(s.f);
        w_.RawValue(f.data(), f.size(), rapidjson::kNumberType);
        break;
      }
      case Scalar::Kind::String:
        string(n->value);
        break;
    }
  }

  void string(const std::string& s) {
    w_.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  }

  static std::string keyString(const YNode* k) {
    if (k->kind == YNode::Kind::Null) return "null";
    if (k->kind != YNode::Kind::Scalar) {
      failAt(k->mark, "mapping keys must be scalars to convert to JSON");
    }
    if (isQuotedTag(k->tag)) return k->value;
    const Scalar s = resolvePlain(k->value);
    switch (s.kind) {
      case Scalar::Kind::Null:
        return "null";
      case Scalar::Kind::Bool:
        return s.b ? "true" : "false";
      case Scalar::Kind::Int:
        return std::to_string(s.i);
      case Scalar::Kind::Uint:
        return std::to_string(s.u);
      case Scalar::Kind::Float:
        if (!std::isfinite(s.f)) failAt(k->mark, "JSON cannot hold key " + k->value);
        return detail::formatGoFloat(s.f);
      case Scalar::Kind::String:
        break;
    }
    return k->value;
  }

  static bool isMergeKey(const YNode* k) {
    return k->kind == YNode::Kind::Scalar && k->value == "<<" &&
           (k->tag == "?" || k->tag == "tag:yaml.org,2002:merge");
  }

  // Entries of a map with << merge keys expanded; explicit keys win over merged ones and
  // earlier merge sources over later ones.
  void collect(const YNode* n, int depth, std::vector<std::pair<std::string, const YNode*>>& out,
               std::set<std::string>& seen) {
    std::vector<const YNode*> merges;
    for (std::size_t i = 0; i + 1 < n->items.size(); i += 2) {
      const YNode* k = n->items[i];
      const YNode* v = n->items[i + 1];
      if (isMergeKey(k)) {
        merges.push_back(v);
        continue;
      }
      std::string key = keyString(k);
      seen.insert(key);
      out.emplace_back(std::move(key), v);
    }
    for (const YNode* m : merges) {
      std::vector<const YNode*> sources;
      if (m->kind == YNode::Kind::Map) {
        sources.push_back(m);
      } else if (m->kind == YNode::Kind::Sequence) {
        sources.assign(m->items.begin(), m->items.end());
      } else {
        failAt(m->mark, "a << merge key needs a mapping or a sequence of mappings");
      }
      for (const YNode* src : sources) {
        spend(src, depth + 1);
        if (src->kind != YNode::Kind::Map) {
          failAt(src->mark, "a << merge key needs a mapping or a sequence of mappings");
        }
        std::vector<std::pair<std::string, const YNode*>> merged;
        std::set<std::string> mergedSeen;
        collect(src, depth + 1, merged, mergedSeen);
        for (auto& [key, value] : merged) {
          if (seen.insert(key).second) out.emplace_back(key, value);
        }
      }
    }
  }

  void map(const YNode* n, int depth) {
    std::vector<std::pair<std::string, const YNode*>> entries;
    std::set<std::string> seen;
    collect(n, depth, entries, seen);
    w_.StartObject();
    for (const auto& [key, item] : entries) {
      w_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
      value(item, depth + 1);
    }
    w_.EndObject();
  }

  rapidjson::Writer<rapidjson::StringBuffer>& w_;
  std::size_t budget_;
};

}  // namespace

std::vector<std::string> yamlToJsonDocuments(std::string_view yaml) {
  std::istringstream in{std::string(yaml)};
  std::vector<std::string> out;
  const std::size_t budget = 100000 + 20 * yaml.size();
  try {
    YAML::Parser parser(in);
    int lastStart = -1;
    while (true) {
      Builder doc;
      if (!parser.HandleNextDocument(doc)) break;
      // yaml-cpp 0.7 neither consumes nor rejects a stray closing bracket at the top level;
      // it would return the same empty document forever.
      if (!doc.start().is_null() && doc.start().pos <= lastStart) {
        failAt(doc.start(), "invalid YAML: unexpected token");
      }
      lastStart = doc.start().pos;
      const YNode* root = doc.root();
      if (root == nullptr || root->kind == YNode::Kind::Null) continue;
      if (root->kind == YNode::Kind::Scalar && !isQuotedTag(root->tag) &&
          resolvePlain(root->value).kind == Scalar::Kind::Null) {
        continue;
      }
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      Converter(w, budget).value(root, 1);
      out.emplace_back(buf.GetString(), buf.GetSize());
    }
  } catch (const YAML::Exception& e) {
    const bool known = !e.mark.is_null();
    throw ParseError("invalid YAML: " + e.msg,
                     known ? static_cast<std::size_t>(e.mark.line) + 1 : 0,
                     known ? static_cast<std::size_t>(e.mark.column) + 1 : 0);
  }
  return out;
}

}  // namespace kite::api
