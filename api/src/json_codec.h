#pragma once
// Internal: the pieces the generated codecs (build/api/gen/kite/api/*/*/codec.cpp) are made
// of. Not installed; include only from api/src and generated code.
//
// A codec tag C describes how one C++ type maps to JSON:
//   using T = ...;                         the C++ type
//   static void dec(const JsonIn&, T&);   read (null leaves the value alone, as Go does)
//   static void enc(JsonOut&, const T&);  write
//   static bool empty(const T&);          omitted under omitempty

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kite/api/field_errors.h"
#include "kite/api/int_or_string.h"
#include "kite/api/json.h"
#include "kite/api/quantity.h"
#include "kite/api/raw_json.h"
#include "kite/api/time.h"

namespace kite::api::detail {

using JsonValue = rapidjson::Value;

// A double as Go's encoding/json writes it: shortest round-trip digits, plain notation for
// 1e-6 <= |v| < 1e21 (so 1e9 is "1000000000"), otherwise like "1e+21" or "1e-7".
std::string formatGoFloat(double v);

struct DecodeState {
  bool strict = false;
  std::vector<std::string>* warnings = nullptr;
  std::vector<FieldError> errors;
};

// A JSON value being decoded, with the path that leads to it (built only for messages).
class JsonIn {
 public:
  enum class Seg : uint8_t { Root, Field, Index, Key };

  JsonIn(const JsonValue& value, DecodeState& state) : value_(value), state_(state) {}
  JsonIn(const JsonValue& value, const JsonIn& parent, Seg seg, std::string_view name,
         std::size_t index)
      : value_(value),
        state_(parent.state_),
        parent_(&parent),
        seg_(seg),
        name_(name),
        index_(index) {}

  const JsonValue& value() const { return value_; }
  DecodeState& state() const { return state_; }
  bool isRoot() const { return parent_ == nullptr; }

  // "spec.containers[0].ports[1].containerPort", "metadata.labels[app]".
  std::string path() const;
  // path() + "." + child (or just child at the root).
  std::string childPath(std::string_view child) const;

  // `<path>: Invalid value: "string": expected int32`.
  void typeError(std::string_view expected) const;
  // `<path>: Invalid value: <value>: <detail>` (value printed as given).
  void invalid(std::string value, std::string detail) const;
  void addError(FieldError error) const;
  // An unknown or duplicate field: an error when strict, otherwise a warning.
  void strictProblem(FieldError error) const;

 private:
  const JsonValue& value_;
  DecodeState& state_;
  const JsonIn* parent_ = nullptr;
  Seg seg_ = Seg::Root;
  std::string_view name_;
  std::size_t index_ = 0;
};

// Walks the members of a JSON object for a generated struct decoder, tracking which fields
// were seen (by index within the struct, inline bases included) to catch duplicates.
class Members {
 public:
  explicit Members(const JsonIn& in);

  bool next();
  std::string_view key() const { return key_; }

  // Decodes the current member into out with codec C; field is the member's index.
  template <class C>
  bool get(unsigned field, typename C::T& out) {
    seen(field);
    const JsonIn child(it_->value, in_, JsonIn::Seg::Field, key_, 0);
    C::dec(child, out);
    return true;
  }
  // The current member matched no field.
  void unknown();

 private:
  void seen(unsigned field);

  const JsonIn& in_;
  JsonValue::ConstMemberIterator it_;
  JsonValue::ConstMemberIterator end_;
  bool started_ = false;
  std::string_view key_;
  uint64_t seen_[4] = {0, 0, 0, 0};
};

// For top-level kinds decoded at the root: apiVersion/kind, when given, must match.
void checkKind(const JsonIn& in, const std::string& apiVersion, const std::string& kind,
               std::string_view wantApiVersion, std::string_view wantKind);

class JsonOut {
 public:
  JsonOut() : writer_(buffer_) {}

  void startObject() {
    ++depth_;
    writer_.StartObject();
  }
  void endObject() {
    --depth_;
    writer_.EndObject();
  }
  void startArray() { writer_.StartArray(); }
  void endArray() { writer_.EndArray(); }
  void key(std::string_view k) {
    writer_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
  }
  void string(std::string_view s);
  void int64(int64_t v) { writer_.Int64(v); }
  void boolean(bool v) { writer_.Bool(v); }
  void number(double v);
  void null() { writer_.Null(); }
  void raw(std::string_view json, rapidjson::Type type);

  // apiVersion and kind of a top-level kind; at the root, empty values take the defaults.
  void typeMeta(const std::string& apiVersion, const std::string& kind,
                std::string_view defaultApiVersion, std::string_view defaultKind);

  template <class C>
  void field(std::string_view name, const typename C::T& value, bool always) {
    if (!always && C::empty(value)) return;
    key(name);
    C::enc(*this, value);
  }

  std::string take() { return {buffer_.GetString(), buffer_.GetSize()}; }

 private:
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
  int depth_ = 0;
};

// ---- codec tags --------------------------------------------------------------------------

struct StringC {
  using T = std::string;
  static void dec(const JsonIn& in, T& out);
  static void enc(JsonOut& w, const T& v) { w.string(v); }
  static bool empty(const T& v) { return v.empty(); }
};

struct BoolC {
  using T = bool;
  static void dec(const JsonIn& in, T& out);
  static void enc(JsonOut& w, const T& v) { w.boolean(v); }
  static bool empty(const T& v) { return !v; }
};

struct Int32C {
  using T = int32_t;
  static void dec(const JsonIn& in, T& out);
  static void enc(JsonOut& w, const T& v) { w.int64(v); }
  static bool empty(const T& v) { return v == 0; }
};

struct Int64C {
  using T = int64_t;
  static void dec(const JsonIn& in, T& out);
  static void enc(JsonOut& w, const T& v) { w.int64(v); }
  static bool empty(const T& v) { return v == 0; }
};

struct DoubleC {
  using T = double;
  static void dec(const JsonIn& in, T& out);
  static void enc(JsonOut& w, const T& v) { w.number(v); }
  static bool empty(const T& v) { return v == 0; }
};

struct QuantityC {
  using T = Quantity;
  static void dec(const JsonIn& in, T& out);
  static void enc(JsonOut& w, const T& v) { w.string(v.toString()); }
  static bool empty(const T& v) { return v.isZero(); }
};

struct IntOrStringC {
  using T = IntOrString;
  static void dec(const JsonIn& in, T& out);
  static void enc(JsonOut& w, const T& v);
  static bool empty(const T& v) { return v.isInt() && v.intValue() == 0; }
};

struct TimeC {
  using T = Time;
  static void dec(const JsonIn& in, T& out);
  static void enc(JsonOut& w, const T& v);
  static bool empty(const T& v) { return v.isZero(); }
};

struct MicroTimeC {
  using T = Time;
  static void dec(const JsonIn& in, T& out) { TimeC::dec(in, out); }
  static void enc(JsonOut& w, const T& v);
  static bool empty(const T& v) { return v.isZero(); }
};

struct RawJsonC {
  using T = RawJson;
  static void dec(const JsonIn& in, T& out);
  static void enc(JsonOut& w, const T& v);
  static bool empty(const T& v) { return v.empty(); }
};

// []byte: base64 (standard alphabet, padded) on the wire, raw bytes in memory.
struct BytesC {
  using T = std::string;
  static void dec(const JsonIn& in, T& out);
  static void enc(JsonOut& w, const T& v);
  static bool empty(const T& v) { return v.empty(); }
};

// A generated struct; fromJson/toJson are found by argument-dependent lookup.
template <class S>
struct StructC {
  using T = S;
  static void dec(const JsonIn& in, T& out) { fromJson(in, out); }
  static void enc(JsonOut& w, const T& v) { toJson(w, v); }
  static bool empty(const T& /*v*/) { return false; }
};

bool expectArray(const JsonIn& in);
bool expectObject(const JsonIn& in);

template <class C>
struct ListC {
  using T = std::vector<typename C::T>;
  static void dec(const JsonIn& in, T& out) {
    out.clear();
    if (!expectArray(in)) return;
    const auto& arr = in.value().GetArray();
    out.resize(arr.Size());
    std::size_t i = 0;
    for (const auto& item : arr) {
      const JsonIn child(item, in, JsonIn::Seg::Index, {}, i);
      C::dec(child, out[i]);
      ++i;
    }
  }
  static void enc(JsonOut& w, const T& v) {
    w.startArray();
    for (const auto& item : v) C::enc(w, item);
    w.endArray();
  }
  static bool empty(const T& v) { return v.empty(); }
};

template <class C>
struct MapC {
  using T = std::map<std::string, typename C::T>;
  static void dec(const JsonIn& in, T& out) {
    out.clear();
    if (!expectObject(in)) return;
    for (const auto& m : in.value().GetObject()) {
      const std::string_view key(m.name.GetString(), m.name.GetStringLength());
      const JsonIn child(m.value, in, JsonIn::Seg::Key, key, 0);
      auto [it, inserted] = out.try_emplace(std::string(key));
      if (!inserted) {
        child.strictProblem(FieldError::duplicateField(child.path()));
        it->second = typename C::T{};
      }
      C::dec(child, it->second);
    }
  }
  static void enc(JsonOut& w, const T& v) {
    w.startObject();
    for (const auto& [k, item] : v) {
      w.key(k);
      C::enc(w, item);
    }
    w.endObject();
  }
  static bool empty(const T& v) { return v.empty(); }
};

// A Go pointer: null resets it, absence leaves it unset.
template <class C>
struct OptC {
  using T = std::optional<typename C::T>;
  static void dec(const JsonIn& in, T& out) {
    if (in.value().IsNull()) {
      out.reset();
      return;
    }
    C::dec(in, out.emplace());
  }
  static void enc(JsonOut& w, const T& v) {
    if (v) {
      C::enc(w, *v);
    } else {
      w.null();
    }
  }
  static bool empty(const T& v) { return !v.has_value(); }
};

}  // namespace kite::api::detail
