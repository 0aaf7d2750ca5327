#include "kite/api/protobuf.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "json_codec.h"
#include "kite/api/json.h"
#include "kite/api/raw_json.h"
#include "protobuf_tables.h"

namespace kite::api {
namespace {

namespace pb = detail::pb;

constexpr std::string_view kMagic{"k8s\0", 4};
constexpr unsigned kMaxDepth = 100;
constexpr uint64_t kMaxFieldNumber = (uint64_t{1} << 29) - 1;

enum Wire : uint8_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// One field occurrence in a message body.
struct Occurrence {
  uint32_t field = 0;  // index into the message's fields
  uint8_t wire = 0;
  uint64_t number = 0;     // varint and fixed values
  std::string_view bytes;  // length-delimited values
};

// A step of the JSON path reported in errors: "spec", "containers[0]", "labels[app]".
struct PathStep {
  std::string_view name;
  std::optional<std::size_t> index;
  std::optional<std::string_view> key;
};

// Go's time.Time JSON range: years 0001 through 9999.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;

// Civil date of a day count since 1970-01-01 (proleptic Gregorian).
void civilFromDays(int64_t days, int64_t& year, unsigned& month, unsigned& day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
}

std::string formatTime(int64_t seconds, int32_t nanos, bool micro) {
  int64_t days = seconds / 86400;
  int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  int64_t year = 0;
  unsigned month = 0;
  unsigned day = 0;
  civilFromDays(days, year, month, day);
  std::array<char, 48> buf{};
  const int hour = static_cast<int>(rest / 3600);
  const int minute = static_cast<int>(rest / 60 % 60);
  const int second = static_cast<int>(rest % 60);
  int n = 0;
  if (micro) {
    n = std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ",
                      static_cast<int>(year), month, day, hour, minute, second, nanos / 1000);
  } else {
    n = std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02dZ",
                      static_cast<int>(year), month, day, hour, minute, second);
  }
  return {buf.data(), static_cast<std::size_t>(n)};
}

void appendBase64(std::string& out, std::string_view data) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(data[i]) << 16U) |
                       (static_cast<uint8_t>(data[i + 1]) << 8U) |
                       static_cast<uint8_t>(data[i + 2]);
    out.push_back(kAlphabet[(v >> 18U) & 63U]);
    out.push_back(kAlphabet[(v >> 12U) & 63U]);
    out.push_back(kAlphabet[(v >> 6U) & 63U]);
    out.push_back(kAlphabet[v & 63U]);
  }
  const std::size_t rest = data.size() - i;
  if (rest == 0) return;
  uint32_t v = static_cast<uint8_t>(data[i]) << 16U;
  if (rest == 2) v |= static_cast<uint8_t>(data[i + 1]) << 8U;
  out.push_back(kAlphabet[(v >> 18U) & 63U]);
  out.push_back(kAlphabet[(v >> 12U) & 63U]);
  out.push_back(rest == 2 ? kAlphabet[(v >> 6U) & 63U] : '=');
  out.push_back('=');
}

// Length of the valid UTF-8 sequence at s[i], or 0 when it is invalid.
std::size_t utf8Length(std::string_view s, std::size_t i) {
  const auto c = static_cast<uint8_t>(s[i]);
  std::size_t len = 0;
  uint32_t cp = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0U) == 0xC0) {
    len = 2;
    cp = c & 0x1FU;
  } else if ((c & 0xF0U) == 0xE0) {
    len = 3;
    cp = c & 0x0FU;
  } else if ((c & 0xF8U) == 0xF0) {
    len = 4;
    cp = c & 0x07U;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<uint8_t>(s[i + k]);
    if ((cc & 0xC0U) != 0x80) return 0;
    cp = (cp << 6U) | (cc & 0x3FU);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    return 0;
  }
  return len;
}

// A JSON string; invalid UTF-8 becomes U+FFFD, as Go's encoding/json does.
void appendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20) {
      std::array<char, 8> buf{};
      std::snprintf(buf.data(), buf.size(), "\\u%04x", static_cast<unsigned>(c));
      out.append(buf.data(), 6);
      ++i;
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else {
      const std::size_t len = utf8Length(s, i);
      if (len == 0) {
        out.append("\xEF\xBF\xBD");
        ++i;
      } else {
        out.append(s.substr(i, len));
        i += len;
      }
    }
  }
  out.push_back('"');
}

class Transcoder {
 public:
  std::string out;

  // The whole body: magic, runtime.Unknown envelope, the object.
  void body(std::string_view data) {
    if (!hasProtobufMagic(data)) fail("the body does not start with the protobuf magic \"k8s\\0\"");
    data.remove_prefix(kMagic.size());
    std::vector<std::string_view> typeMeta;
    std::string_view raw;
    std::string_view contentEncoding;
    std::string_view contentType;
    Reader r(*this, data);
    while (!r.done()) {
      const auto [number, wire] = r.key();
      if (number >= 1 && number <= 4) {
        if (wire != kLengthDelimited) fail("runtime.Unknown: wrong wire type");
        const std::string_view v = r.bytes();
        if (number == 1) typeMeta.push_back(v);
        if (number == 2) raw = v;
        if (number == 3) contentEncoding = v;
        if (number == 4) contentType = v;
      } else {
        r.skip(wire);
      }
    }
    std::string_view apiVersion;
    std::string_view kind;
    for (const auto span : typeMeta) {
      Reader t(*this, span);
      while (!t.done()) {
        const auto [number, wire] = t.key();
        if (number == 1 || number == 2) {
          if (wire != kLengthDelimited) fail("runtime.TypeMeta: wrong wire type");
          (number == 1 ? apiVersion : kind) = t.bytes();
        } else {
          t.skip(wire);
        }
      }
    }
    if (!contentEncoding.empty()) {
      fail("content encoding \"" + std::string(contentEncoding) + "\" is not supported");
    }
    if (kind.empty()) fail("the envelope has no kind");
    if (contentType == "application/json") {
      out.append(validJson(raw));
      return;
    }
    if (!contentType.empty() && contentType != kProtobufContentType) {
      fail("content type \"" + std::string(contentType) + "\" is not supported");
    }
    const pb::Root& target = root(apiVersion, kind);
    const pb::Message& m = pb::message(target.message);
    enter();
    bool first = true;
    out.push_back('{');
    if (target.typeMeta) {
      writeKey("apiVersion", first);
      appendJsonString(out, apiVersion);
      writeKey("kind", first);
      appendJsonString(out, kind);
    }
    const std::array<std::string_view, 1> spans{raw};
    members(m, spans, first);
    out.push_back('}');
    leave();
  }

  [[noreturn]] void fail(const std::string& what) const {
    std::string msg = "protobuf: ";
    const std::string p = path();
    if (!p.empty()) msg.append(p).append(": ");
    msg.append(what);
    throw ParseError(msg, 0, 0);
  }

 private:
  class Reader {
   public:
    Reader(const Transcoder& t, std::string_view data) : t_(t), data_(data) {}
    bool done() const { return pos_ >= data_.size(); }

    uint64_t varint() {
      uint64_t v = 0;
      for (unsigned shift = 0; shift < 70; shift += 7) {
        if (pos_ >= data_.size()) t_.fail("truncated varint");
        const auto b = static_cast<uint8_t>(data_[pos_++]);
        if (shift == 63 && b > 1) t_.fail("varint longer than 64 bits");
        v |= static_cast<uint64_t>(b & 0x7FU) << shift;
        if ((b & 0x80U) == 0) return v;
      }
      t_.fail("varint longer than 10 bytes");
    }

    std::pair<uint32_t, uint8_t> key() {
      const uint64_t k = varint();
      const uint64_t number = k >> 3U;
      if (number == 0 || number > kMaxFieldNumber) {
        t_.fail("invalid field number " + std::to_string(number));
      }
      return {static_cast<uint32_t>(number), static_cast<uint8_t>(k & 7U)};
    }

    std::string_view bytes() {
      const uint64_t len = varint();
      if (len > data_.size() - pos_) t_.fail("length past the end of the message");
      const std::string_view v = data_.substr(pos_, len);
      pos_ += len;
      return v;
    }

    uint64_t fixed(std::size_t size) {
      if (size > data_.size() - pos_) t_.fail("truncated fixed-size value");
      uint64_t v = 0;
      for (std::size_t i = 0; i < size; ++i) {
        v |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
      }
      pos_ += size;
      return v;
    }

    // Reads a value of the given wire type (an unknown field is read the same way).
    void value(uint8_t wire, Occurrence& o) {
      o.wire = wire;
      switch (wire) {
        case kVarint:
          o.number = varint();
          return;
        case kFixed64:
          o.number = fixed(8);
          return;
        case kLengthDelimited:
          o.bytes = bytes();
          return;
        case kFixed32:
          o.number = fixed(4);
          return;
        default:
          t_.fail("unsupported wire type " + std::to_string(wire));
      }
    }

    void skip(uint8_t wire) {
      Occurrence ignored;
      value(wire, ignored);
    }

   private:
    const Transcoder& t_;
    std::string_view data_;
    std::size_t pos_ = 0;
  };

  std::vector<PathStep> path_;
  unsigned depth_ = 0;

  std::string path() const {
    std::string p;
    for (const auto& s : path_) {
      if (!s.name.empty()) {
        if (!p.empty()) p.push_back('.');
        p.append(s.name);
      }
      if (s.index) p.append("[").append(std::to_string(*s.index)).append("]");
      if (s.key) p.append("[").append(*s.key).append("]");
    }
    return p;
  }

  void enter() {
    if (++depth_ > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth));
  }
  void leave() { --depth_; }

  const pb::Root& root(std::string_view apiVersion, std::string_view kind) const {
    const auto roots = pb::roots();
    const auto lower =
        std::lower_bound(roots.begin(), roots.end(), kind,
                         [](const pb::Root& r, std::string_view k) { return r.kind < k; });
    for (auto it = lower; it != roots.end() && it->kind == kind; ++it) {
      if (it->apiVersion == apiVersion) return *it;
    }
    for (auto it = lower; it != roots.end() && it->kind == kind; ++it) {
      if (it->anyApiVersion) return *it;
    }
    fail("unknown kind \"" + std::string(kind) + "\" in apiVersion \"" + std::string(apiVersion) +
         "\"");
  }

  std::string_view validJson(std::string_view raw) const {
    try {
      (void)RawJson::parse(raw);
    } catch (const ParseError& e) {
      fail("embedded JSON: " + e.detail());
    }
    return raw;
  }

  // Occurrences of the known fields of m in spans (parsed one after another, which is how
  // protobuf merges repeated occurrences of a message), grouped by field in wire order.
  std::vector<Occurrence> collect(const pb::Message& m, std::span<const std::string_view> spans) {
    const auto fs = pb::fields(m);
    std::vector<Occurrence> occ;
    for (const auto span : spans) {
      Reader r(*this, span);
      while (!r.done()) {
        const auto [number, wire] = r.key();
        const auto it =
            std::lower_bound(fs.begin(), fs.end(), number,
                             [](const pb::Field& f, uint32_t n) { return f.number < n; });
        Occurrence o;
        r.value(wire, o);
        if (it == fs.end() || it->number != number) continue;  // unknown: skipped
        o.field = static_cast<uint32_t>(it - fs.begin());
        occ.push_back(o);
      }
    }
    std::stable_sort(occ.begin(), occ.end(),
                     [](const Occurrence& a, const Occurrence& b) { return a.field < b.field; });
    return occ;
  }

  void object(const pb::Message& m, std::span<const std::string_view> spans) {
    enter();
    out.push_back('{');
    bool first = true;
    members(m, spans, first);
    out.push_back('}');
    leave();
  }

  void writeKey(std::string_view name, bool& first) {
    if (!first) out.push_back(',');
    first = false;
    appendJsonString(out, name);
    out.push_back(':');
  }

  static std::vector<std::string_view> spansOf(std::span<const Occurrence> occ) {
    std::vector<std::string_view> spans;
    spans.reserve(occ.size());
    for (const auto& o : occ) spans.push_back(o.bytes);
    return spans;
  }

  void members(const pb::Message& m, std::span<const std::string_view> spans, bool& first) {
    const auto fs = pb::fields(m);
    const std::vector<Occurrence> occ = collect(m, spans);
    for (std::size_t i = 0; i < occ.size();) {
      std::size_t j = i;
      while (j < occ.size() && occ[j].field == occ[i].field) ++j;
      const pb::Field& f = fs[occ[i].field];
      const std::span<const Occurrence> group(occ.data() + i, j - i);
      path_.push_back({f.json, std::nullopt, std::nullopt});
      field(f, group, first);
      path_.pop_back();
      i = j;
    }
  }

  void expectWire(const Occurrence& o, uint8_t wire) const {
    if (o.wire != wire) {
      fail("wrong wire type " + std::to_string(o.wire) + ", expected " + std::to_string(wire));
    }
  }

  static bool isMessageType(pb::Type t) {
    switch (t) {
      case pb::Type::Quantity:
      case pb::Type::IntOrString:
      case pb::Type::Time:
      case pb::Type::MicroTime:
      case pb::Type::RawJson:
      case pb::Type::Unsupported:
      case pb::Type::Message:
        return true;
      default:
        return false;
    }
  }

  void field(const pb::Field& f, std::span<const Occurrence> occ, bool& first) {
    switch (f.shape) {
      case pb::Shape::Inline: {
        for (const auto& o : occ) expectWire(o, kLengthDelimited);
        const auto spans = spansOf(occ);
        enter();
        members(pb::message(f.message), spans, first);
        leave();
        return;
      }
      case pb::Shape::Single: {
        if (isMessageType(f.type)) {
          for (const auto& o : occ) expectWire(o, kLengthDelimited);
          const auto spans = spansOf(occ);
          if (f.type == pb::Type::Message) {
            writeKey(f.json, first);
            object(pb::message(f.message), spans);
            return;
          }
          std::string v;
          if (smallMessage(f, spans, v)) {
            writeKey(f.json, first);
            out.append(v);
          }
          return;
        }
        writeKey(f.json, first);
        scalar(f.type, occ.back());
        return;
      }
      case pb::Shape::Repeated:
        writeKey(f.json, first);
        list(f, occ);
        return;
      case pb::Shape::WrappedList: {
        for (const auto& o : occ) expectWire(o, kLengthDelimited);
        writeKey(f.json, first);
        wrappedList(f, spansOf(occ));
        return;
      }
      case pb::Shape::Map:
      case pb::Shape::MapOfLists:
        writeKey(f.json, first);
        map(f, occ);
        return;
    }
  }

  // Elements of a repeated field: one per occurrence, or several in a packed occurrence.
  void list(const pb::Field& f, std::span<const Occurrence> occ) {
    out.push_back('[');
    bool firstItem = true;
    std::size_t index = 0;
    auto item = [&]() -> void {
      if (!firstItem) out.push_back(',');
      firstItem = false;
    };
    for (const auto& o : occ) {
      const bool packable = f.type == pb::Type::Int32 || f.type == pb::Type::Int64 ||
                            f.type == pb::Type::Bool || f.type == pb::Type::Double;
      if (packable && o.wire == kLengthDelimited) {
        path_.back().index = index;
        Reader r(*this, o.bytes);
        while (!r.done()) {
          Occurrence e;
          r.value(f.type == pb::Type::Double ? kFixed64 : kVarint, e);
          item();
          scalar(f.type, e);
          path_.back().index = ++index;
        }
        continue;
      }
      path_.back().index = index++;
      item();
      element(f, o);
    }
    path_.back().index.reset();
    out.push_back(']');
  }

  // One value of a list or map: a message occurrence stands alone.
  void element(const pb::Field& f, const Occurrence& o) {
    if (!isMessageType(f.type)) {
      scalar(f.type, o);
      return;
    }
    expectWire(o, kLengthDelimited);
    const std::array<std::string_view, 1> spans{o.bytes};
    if (f.type == pb::Type::Message) {
      object(pb::message(f.message), spans);
      return;
    }
    std::string v;
    out.append(smallMessage(f, spans, v) ? std::string_view(v) : std::string_view("null"));
  }

  // A wrapper message {repeated items = 1} written as a JSON array.
  void wrappedList(const pb::Field& f, std::span<const std::string_view> spans) {
    enter();
    std::vector<Occurrence> items;
    for (const auto span : spans) {
      Reader r(*this, span);
      while (!r.done()) {
        const auto [number, wire] = r.key();
        Occurrence o;
        r.value(wire, o);
        if (number == 1) items.push_back(o);
      }
    }
    list(f, items);
    leave();
  }

  void map(const pb::Field& f, std::span<const Occurrence> occ) {
    enter();
    // The last entry of a key wins; JSON objects are written in key order, as Go does.
    std::map<std::string_view, std::vector<Occurrence>> entries;
    for (const auto& o : occ) {
      expectWire(o, kLengthDelimited);
      std::string_view key;
      std::vector<Occurrence> values;
      Reader r(*this, o.bytes);
      while (!r.done()) {
        const auto [number, wire] = r.key();
        Occurrence v;
        r.value(wire, v);
        if (number == 1) {
          expectWire(v, kLengthDelimited);
          key = v.bytes;
        } else if (number == 2) {
          values.push_back(v);
        }
      }
      entries[key] = std::move(values);
    }
    out.push_back('{');
    bool first = true;
    for (const auto& [key, values] : entries) {
      path_.back().key = key;
      writeKey(key, first);
      mapValue(f, values);
    }
    path_.back().key.reset();
    out.push_back('}');
    leave();
  }

  void mapValue(const pb::Field& f, const std::vector<Occurrence>& values) {
    if (f.shape == pb::Shape::MapOfLists) {
      for (const auto& v : values) expectWire(v, kLengthDelimited);
      wrappedList(f, spansOf(values));
      return;
    }
    if (isMessageType(f.type)) {
      for (const auto& v : values) expectWire(v, kLengthDelimited);
      const auto spans = spansOf(values);
      if (f.type == pb::Type::Message) {
        object(pb::message(f.message), spans);
        return;
      }
      std::string v;
      out.append(smallMessage(f, spans, v) ? std::string_view(v) : std::string_view("null"));
      return;
    }
    if (values.empty()) {
      // An entry without a value holds the zero value.
      Occurrence zero;
      zero.wire = f.type == pb::Type::String || f.type == pb::Type::Bytes ? kLengthDelimited
                  : f.type == pb::Type::Double                            ? kFixed64
                                                                          : kVarint;
      scalar(f.type, zero);
      return;
    }
    scalar(f.type, values.back());
  }

  void scalar(pb::Type type, const Occurrence& o) {
    switch (type) {
      case pb::Type::String:
        expectWire(o, kLengthDelimited);
        appendJsonString(out, o.bytes);
        return;
      case pb::Type::Bytes:
        expectWire(o, kLengthDelimited);
        out.push_back('"');
        appendBase64(out, o.bytes);
        out.push_back('"');
        return;
      case pb::Type::Int32:
        expectWire(o, kVarint);
        out.append(std::to_string(static_cast<int32_t>(static_cast<uint32_t>(o.number))));
        return;
      case pb::Type::Int64:
        expectWire(o, kVarint);
        out.append(std::to_string(static_cast<int64_t>(o.number)));
        return;
      case pb::Type::Bool:
        expectWire(o, kVarint);
        out.append(o.number != 0 ? "true" : "false");
        return;
      case pb::Type::Double: {
        expectWire(o, kFixed64);
        double d = 0;
        static_assert(sizeof d == sizeof o.number);
        std::memcpy(&d, &o.number, sizeof d);
        if (!std::isfinite(d)) fail("a double that is not finite has no JSON form");
        out.append(detail::formatGoFloat(d));
        return;
      }
      default:
        fail("internal: not a scalar type");
    }
  }

  // Quantity, IntOrString, Time, MicroTime and RawExtension: their JSON text in v, false
  // when unset (an empty Time or Quantity, RawExtension without bytes).
  bool smallMessage(const pb::Field& f, std::span<const std::string_view> spans, std::string& v) {
    if (f.type == pb::Type::Unsupported) {
      fail("protobuf message " + std::string(f.protoType) +
           " is not supported by kite; send this object as JSON");
    }
    enter();
    std::array<std::optional<Occurrence>, 4> last{};  // fields 1..3, last occurrence wins
    for (const auto span : spans) {
      Reader r(*this, span);
      while (!r.done()) {
        const auto [number, wire] = r.key();
        Occurrence o;
        r.value(wire, o);
        if (number <= 3) last.at(number) = o;
      }
    }
    leave();
    auto number = [&](std::size_t i, uint8_t wire) -> uint64_t {
      if (!last.at(i)) return 0;
      expectWire(*last.at(i), wire);
      return last.at(i)->number;
    };
    auto bytes = [&](std::size_t i) -> std::string_view {
      if (!last.at(i)) return {};
      expectWire(*last.at(i), kLengthDelimited);
      return last.at(i)->bytes;
    };
    switch (f.type) {
      case pb::Type::Quantity: {
        const std::string_view s = bytes(1);
        if (s.empty()) return false;
        appendJsonString(v, s);
        return true;
      }
      case pb::Type::IntOrString:
        if (number(1, kVarint) == 1) {
          appendJsonString(v, bytes(3));
        } else {
          v.append(std::to_string(static_cast<int32_t>(static_cast<uint32_t>(number(2, kVarint)))));
        }
        return true;
      case pb::Type::Time:
      case pb::Type::MicroTime: {
        if (!last[1] && !last[2]) return false;  // the zero time is an empty message
        const auto seconds = static_cast<int64_t>(number(1, kVarint));
        const auto nanos = static_cast<int32_t>(static_cast<uint32_t>(number(2, kVarint)));
        if (seconds < kMinSeconds || seconds > kMaxSeconds) {
          fail("time " + std::to_string(seconds) + "s is out of range");
        }
        if (nanos < 0 || nanos > 999999999)
          fail("time nanos " + std::to_string(nanos) + " out of range");
        appendJsonString(v, formatTime(seconds, nanos, f.type == pb::Type::MicroTime));
        return true;
      }
      case pb::Type::RawJson: {
        const std::string_view raw = bytes(1);
        if (raw.empty()) return false;
        if (hasProtobufMagic(raw)) {
          // An embedded object in protobuf: its own envelope.
          enter();
          std::swap(out, v);
          body(raw);
          std::swap(out, v);
          leave();
          return true;
        }
        v.append(validJson(raw));
        return true;
      }
      default:
        fail("internal: not a small message type");
    }
  }
};

}  // namespace

bool hasProtobufMagic(std::string_view body) { return body.starts_with(kMagic); }

std::string protobufToJson(std::string_view body) {
  Transcoder t;
  t.body(body);
  return std::move(t.out);
}

}  // namespace kite::api
