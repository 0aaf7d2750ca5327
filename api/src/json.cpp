// The hand-written half of the JSON codec: parsing with limits, paths, errors, scalar codecs.

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "json_codec.h"

namespace kite::api {

ParseError::ParseError(const std::string& detail, std::size_t line, std::size_t column)
    : std::runtime_error(line == 0 ? detail
                                   : "line " + std::to_string(line) + ", column " +
                                         std::to_string(column) + ": " + detail),
      detail_(detail),
      line_(line),
      column_(column) {}

namespace detail {
namespace {

// UTF-8 is checked up front (much faster than rapidjson's per-character validation).
constexpr auto kParseFlags = rapidjson::kParseFullPrecisionFlag | rapidjson::kParseIterativeFlag;
constexpr std::size_t kMaxErrors = 1000;

// Forwards SAX events to a document while refusing nesting deeper than a limit.
class DepthLimiter {
 public:
  DepthLimiter(rapidjson::Document& doc, unsigned maxDepth) : doc_(doc), maxDepth_(maxDepth) {}

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned i) { return doc_.Uint(i); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t i) { return doc_.Uint64(i); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return doc_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return doc_.String(s, n, copy); }
  bool StartObject() { return enter() && doc_.StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return doc_.Key(s, n, copy); }
  bool EndObject(rapidjson::SizeType n) {
    --depth_;
    return doc_.EndObject(n);
  }
  bool StartArray() { return enter() && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) {
    --depth_;
    return doc_.EndArray(n);
  }
  bool tooDeep() const { return tooDeep_; }

 private:
  bool enter() {
    if (++depth_ > maxDepth_) {
      tooDeep_ = true;
      return false;
    }
    return true;
  }

  rapidjson::Document& doc_;
  unsigned maxDepth_;
  unsigned depth_ = 0;
  bool tooDeep_ = false;
};

std::size_t firstInvalidUtf8(std::string_view s);

void position(std::string_view text, std::size_t offset, std::size_t& line, std::size_t& col) {
  line = 1;
  col = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
}

// Parses json into doc, in place in buffer (doc's strings point into it, so buffer must
// outlive doc).
void parseDocument(std::string_view json, unsigned maxDepth, std::string& buffer,
                   rapidjson::Document& doc) {
  auto fail = [&](const std::string& what, std::size_t offset) {
    std::size_t line = 0;
    std::size_t col = 0;
    position(json, offset, line, col);
    throw ParseError(what, line, col);
  };
  if (const std::size_t bad = firstInvalidUtf8(json); bad != std::string_view::npos) {
    fail("invalid JSON: Invalid encoding in string.", bad);
  }
  // The in-place stream ends at a NUL byte, which JSON never allows anyway.
  if (const std::size_t nul = json.find('\0'); nul != std::string_view::npos) {
    fail("invalid JSON: unexpected NUL byte.", nul);
  }
  buffer.assign(json);
  rapidjson::Reader reader;
  bool tooDeep = false;
  auto generator = [&](rapidjson::Document& handler) {
    rapidjson::InsituStringStream ss(buffer.data());
    DepthLimiter limiter(handler, maxDepth);
    reader.Parse<kParseFlags | rapidjson::kParseInsituFlag>(ss, limiter);
    tooDeep = limiter.tooDeep();
    return !reader.HasParseError();
  };
  doc.Populate(generator);
  if (reader.HasParseError()) {
    if (tooDeep) {
      fail("JSON nesting exceeds the maximum depth of " + std::to_string(maxDepth),
           reader.GetErrorOffset());
    }
    fail(std::string("invalid JSON: ") + rapidjson::GetParseError_En(reader.GetParseErrorCode()),
         reader.GetErrorOffset());
  }
}

std::string_view jsonTypeName(const JsonValue& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "bool";
    case rapidjson::kObjectType:
      return "object";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return "number";
  }
  return "value";
}

std::string numberText(const JsonValue& v) {
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  return formatGoFloat(v.GetDouble());
}

// A raw value rewritten without whitespace, with strings escaped as Go's encoding/json escapes
// them (<, >, & and U+2028/U+2029 as \uXXXX), so a RawExtension a Go client sent comes back
// byte for byte: kubectl compares ControllerRevision data with its own encoding that way.
// Outside strings compact JSON has none of these characters, so the whole text is rewritten.
std::string compact(const JsonValue& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  const std::string_view text(buf.GetString(), buf.GetSize());
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && text.substr(i, 3) == "\u2028") {
      out += "\\u2028";
      i += 2;
    } else if (c == '\xE2' && text.substr(i, 3) == "\u2029") {
      out += "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0.
std::size_t utf8Length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 1;
    cp = c & 0x1FU;
  } else if ((c & 0xF0) == 0xE0) {
    n = 2;
    cp = c & 0x0FU;
  } else if ((c & 0xF8) == 0xF0) {
    n = 3;
    cp = c & 0x07U;
  } else {
    return 0;
  }
  if (i + n >= s.size()) return 0;
  for (std::size_t k = 1; k <= n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3FU);
  }
  if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n + 1;
}

// Offset of the first byte that is not valid UTF-8, or npos.
std::size_t firstInvalidUtf8(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    while (i + 8 <= n) {  // ASCII runs, eight bytes at a time
      uint64_t word = 0;
      std::memcpy(&word, s.data() + i, sizeof word);
      if ((word & 0x8080808080808080ULL) != 0) break;
      i += 8;
    }
    if (i >= n) break;
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t len = utf8Length(s, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

bool validUtf8(std::string_view s) { return firstInvalidUtf8(s) == std::string_view::npos; }

// Invalid UTF-8 bytes become U+FFFD, as Go's encoder does.
std::string sanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8Length(s, i);
    if (n == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n = (static_cast<uint8_t>(in[i]) << 16) |
                       (static_cast<uint8_t>(in[i + 1]) << 8) | static_cast<uint8_t>(in[i + 2]);
    out += kBase64[(n >> 18) & 63];
    out += kBase64[(n >> 12) & 63];
    out += kBase64[(n >> 6) & 63];
    out += kBase64[n & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    out += kBase64[(n >> 18) & 63];
    out += kBase64[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t n = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += kBase64[(n >> 18) & 63];
    out += kBase64[(n >> 12) & 63];
    out += kBase64[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// Go's base64.StdEncoding.DecodeString: padding required, \r and \n ignored.
// Returns the offset of the first bad byte, or -1.
int64_t base64Decode(std::string_view in, std::string& out) {
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  std::size_t pad = 0;
  std::size_t count = 0;  // significant characters, padding included
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\r' || c == '\n') continue;
    if (c == '=') {
      ++pad;
      ++count;
      continue;
    }
    const auto pos = kBase64.find(c);
    if (pos == std::string_view::npos || pad > 0) return static_cast<int64_t>(i);
    acc = (acc << 6) | static_cast<uint32_t>(pos);
    bits += 6;
    ++count;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (count % 4 != 0 || pad > 2) return static_cast<int64_t>(in.size());
  return -1;
}

}  // namespace

std::string formatGoFloat(double v) {
  std::array<char, 64> buf{};
  const double a = std::fabs(v);
  const bool exp = a != 0 && (a < 1e-6 || a >= 1e21);
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v,
                               exp ? std::chars_format::scientific : std::chars_format::fixed);
  std::string s(buf.data(), r.ptr);
  const std::size_t n = s.size();
  if (exp && n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') {
    s.erase(n - 2, 1);  // e-07 -> e-7
  }
  return s;
}

// ---- JsonIn ------------------------------------------------------------------------------

std::string JsonIn::path() const {
  std::vector<const JsonIn*> chain;
  for (const JsonIn* p = this; p != nullptr && p->seg_ != Seg::Root; p = p->parent_) {
    chain.push_back(p);
  }
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const JsonIn* p = *it;
    switch (p->seg_) {
      case Seg::Field:
        if (!out.empty()) out += '.';
        out.append(p->name_);
        break;
      case Seg::Index:
        out += '[' + std::to_string(p->index_) + ']';
        break;
      case Seg::Key:
        out += '[';
        out.append(p->name_);
        out += ']';
        break;
      case Seg::Root:
        break;
    }
  }
  return out;
}

std::string JsonIn::childPath(std::string_view child) const {
  std::string p = path();
  if (!p.empty()) p += '.';
  p.append(child);
  return p;
}

void JsonIn::addError(FieldError error) const {
  if (state_.errors.size() < kMaxErrors) state_.errors.push_back(std::move(error));
}

void JsonIn::typeError(std::string_view expected) const {
  FieldError e;
  e.type = ErrorType::TypeInvalid;
  e.field = path();
  e.value = quoteValue(jsonTypeName(value_));
  e.detail = "expected " + std::string(expected);
  addError(std::move(e));
}

void JsonIn::invalid(std::string value, std::string detail) const {
  FieldError e;
  e.type = ErrorType::Invalid;
  e.field = path();
  e.value = std::move(value);
  e.detail = std::move(detail);
  addError(std::move(e));
}

void JsonIn::strictProblem(FieldError error) const {
  if (state_.strict) {
    addError(std::move(error));
  } else if (state_.warnings != nullptr) {
    state_.warnings->push_back(error.message());
  }
}

bool expectArray(const JsonIn& in) {
  if (in.value().IsArray()) return true;
  if (!in.value().IsNull()) in.typeError("array");
  return false;
}

bool expectObject(const JsonIn& in) {
  if (in.value().IsObject()) return true;
  if (!in.value().IsNull()) in.typeError("object");
  return false;
}

// ---- Members -----------------------------------------------------------------------------

Members::Members(const JsonIn& in) : in_(in) {
  if (expectObject(in)) {
    it_ = in.value().MemberBegin();
    end_ = in.value().MemberEnd();
  } else {
    it_ = end_ = JsonValue::ConstMemberIterator();
  }
}

bool Members::next() {
  if (started_) {
    ++it_;
  }
  started_ = true;
  if (it_ == end_) return false;
  key_ = std::string_view(it_->name.GetString(), it_->name.GetStringLength());
  return true;
}

void Members::seen(unsigned field) {
  const unsigned word = field / 64;
  const uint64_t bit = uint64_t{1} << (field % 64);
  if (word >= 4) return;
  if ((seen_[word] & bit) != 0) {
    in_.strictProblem(FieldError::duplicateField(in_.childPath(key_)));
  }
  seen_[word] |= bit;
}

void Members::unknown() { in_.strictProblem(FieldError::unknownField(in_.childPath(key_))); }

void checkKind(const JsonIn& in, const std::string& apiVersion, const std::string& kind,
               std::string_view wantApiVersion, std::string_view wantKind) {
  if (!in.isRoot() || !in.value().IsObject()) return;
  if (!kind.empty() && kind != wantKind) {
    in.addError(FieldError::invalid("kind", kind, "expected " + quoteValue(wantKind)));
  }
  if (!apiVersion.empty() && !wantApiVersion.empty() && apiVersion != wantApiVersion) {
    in.addError(
        FieldError::invalid("apiVersion", apiVersion, "expected " + quoteValue(wantApiVersion)));
  }
}

// ---- JsonOut -----------------------------------------------------------------------------

void JsonOut::string(std::string_view s) {
  if (validUtf8(s)) {
    writer_.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  } else {
    const std::string fixed = sanitizeUtf8(s);
    writer_.String(fixed.data(), static_cast<rapidjson::SizeType>(fixed.size()));
  }
}

void JsonOut::number(double v) {
  if (!std::isfinite(v)) {
    writer_.Null();
    return;
  }
  writer_.Double(v);
}

void JsonOut::raw(std::string_view json, rapidjson::Type type) {
  writer_.RawValue(json.data(), json.size(), type);
}

void JsonOut::typeMeta(const std::string& apiVersion, const std::string& kind,
                       std::string_view defaultApiVersion, std::string_view defaultKind) {
  const bool root = depth_ == 1;
  const std::string_view av = apiVersion.empty() && root ? defaultApiVersion : apiVersion;
  const std::string_view k = kind.empty() && root ? defaultKind : kind;
  if (!av.empty()) {
    key("apiVersion");
    string(av);
  }
  if (!k.empty()) {
    key("kind");
    string(k);
  }
}

// ---- scalar codecs -----------------------------------------------------------------------

void StringC::dec(const JsonIn& in, T& out) {
  const auto& v = in.value();
  if (v.IsString()) {
    out.assign(v.GetString(), v.GetStringLength());
  } else if (!v.IsNull()) {
    in.typeError("string");
  }
}

void BoolC::dec(const JsonIn& in, T& out) {
  const auto& v = in.value();
  if (v.IsBool()) {
    out = v.GetBool();
  } else if (!v.IsNull()) {
    in.typeError("bool");
  }
}

void Int32C::dec(const JsonIn& in, T& out) {
  const auto& v = in.value();
  if (v.IsInt()) {
    out = v.GetInt();
  } else if (v.IsNumber()) {
    in.invalid(numberText(v), "expected int32");
  } else if (!v.IsNull()) {
    in.typeError("int32");
  }
}

void Int64C::dec(const JsonIn& in, T& out) {
  const auto& v = in.value();
  if (v.IsInt64()) {
    out = v.GetInt64();
  } else if (v.IsNumber()) {
    in.invalid(numberText(v), "expected int64");
  } else if (!v.IsNull()) {
    in.typeError("int64");
  }
}

void DoubleC::dec(const JsonIn& in, T& out) {
  const auto& v = in.value();
  if (v.IsNumber()) {
    out = v.GetDouble();
  } else if (!v.IsNull()) {
    in.typeError("number");
  }
}

void QuantityC::dec(const JsonIn& in, T& out) {
  const auto& v = in.value();
  std::string text;
  if (v.IsString()) {
    text.assign(v.GetString(), v.GetStringLength());
    // Upstream trims surrounding whitespace.
    const auto first = text.find_first_not_of(" \t\r\n\v\f");
    const auto last = text.find_last_not_of(" \t\r\n\v\f");
    text = first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
  } else if (v.IsNumber()) {
    text = numberText(v);
  } else if (v.IsNull()) {
    out = Quantity();
    return;
  } else {
    in.typeError("quantity (string or number)");
    return;
  }
  std::string error;
  if (auto q = Quantity::tryParse(text, &error)) {
    out = std::move(*q);
  } else {
    in.invalid(v.IsString() ? quoteValue(text) : text, error);
  }
}

void IntOrStringC::dec(const JsonIn& in, T& out) {
  const auto& v = in.value();
  if (v.IsString()) {
    out = IntOrString(std::string(v.GetString(), v.GetStringLength()));
  } else if (v.IsInt()) {
    out = IntOrString(static_cast<int32_t>(v.GetInt()));
  } else if (v.IsNumber()) {
    in.invalid(numberText(v), "expected int32 or string");
  } else if (!v.IsNull()) {
    in.typeError("int32 or string");
  }
}

void IntOrStringC::enc(JsonOut& w, const T& v) {
  if (v.isString()) {
    w.string(v.strValue());
  } else {
    w.int64(v.intValue());
  }
}

void TimeC::dec(const JsonIn& in, T& out) {
  const auto& v = in.value();
  if (v.IsNull()) {
    out = Time();
    return;
  }
  if (!v.IsString()) {
    in.typeError("RFC 3339 time string");
    return;
  }
  const std::string_view text(v.GetString(), v.GetStringLength());
  std::string error;
  if (auto t = Time::tryParse(text, &error)) {
    out = *t;
  } else {
    in.invalid(quoteValue(text), error);
  }
}

void TimeC::enc(JsonOut& w, const T& v) {
  if (v.isZero()) {
    w.null();
  } else {
    w.string(v.rfc3339());
  }
}

void MicroTimeC::enc(JsonOut& w, const T& v) {
  if (v.isZero()) {
    w.null();
  } else {
    w.string(v.rfc3339Micro());
  }
}

void RawJsonC::dec(const JsonIn& in, T& out) {
  if (in.value().IsNull()) {
    out = RawJson();
    return;
  }
  out = RawJson::fromTrustedText(compact(in.value()));
}

void RawJsonC::enc(JsonOut& w, const T& v) {
  if (v.empty()) {
    w.null();
    return;
  }
  const char c = v.text().front();
  const rapidjson::Type type = c == '{'   ? rapidjson::kObjectType
                               : c == '[' ? rapidjson::kArrayType
                               : c == '"' ? rapidjson::kStringType
                                          : rapidjson::kNumberType;
  w.raw(v.text(), type);
}

void BytesC::dec(const JsonIn& in, T& out) {
  const auto& v = in.value();
  if (v.IsNull()) {
    out.clear();
    return;
  }
  if (!v.IsString()) {
    in.typeError("base64 string");
    return;
  }
  const int64_t bad = base64Decode(std::string_view(v.GetString(), v.GetStringLength()), out);
  if (bad >= 0) {
    FieldError e;
    e.type = ErrorType::Invalid;
    e.field = in.path();
    e.value = "<base64 data>";
    e.detail = "illegal base64 data at input byte " + std::to_string(bad);
    in.addError(std::move(e));
    out.clear();
  }
}

void BytesC::enc(JsonOut& w, const T& v) { w.string(base64Encode(v)); }

// ---- entry points ------------------------------------------------------------------------

void decodeRoot(std::string_view json, const DecodeOptions& options, DecodeFn fn, void* out) {
  std::string buffer;  // declared before doc, which points into it
  rapidjson::Document doc;
  parseDocument(json, options.maxDepth, buffer, doc);
  DecodeState state;
  state.strict = options.strict;
  state.warnings = options.warnings;
  const JsonIn root(doc, state);
  fn(root, out);
  if (!state.errors.empty()) throw FieldErrors(std::move(state.errors));
}

std::string encodeRoot(EncodeFn fn, const void* value) {
  JsonOut w;
  fn(w, value);
  return w.take();
}

}  // namespace detail

RawJson RawJson::parse(std::string_view text) {
  std::string buffer;
  rapidjson::Document doc;
  detail::parseDocument(text, 100, buffer, doc);
  return fromTrustedText(std::string(text));
}

}  // namespace kite::api
