#include "go_json.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace kite::controlplane::controllers {
namespace {

void writeString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
      continue;
    }
    // U+2028 and U+2029 (E2 80 A8/A9 in UTF-8).
    if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8) {
      out += static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
      i += 2;
      continue;
    }
    out += static_cast<char>(c);
  }
  out += '"';
}

// Go decodes every number into a float64 and writes it back in the shortest form that reads
// back the same: fixed notation from 1e-6 up to 1e21, else an exponent ("1e+21", "1e-7").
void writeNumber(std::string& out, const rapidjson::Value& v) {
  if (v.IsInt64()) {
    out += std::to_string(v.GetInt64());
    return;
  }
  if (v.IsUint64()) {
    out += std::to_string(v.GetUint64());
    return;
  }
  const double d = v.GetDouble();
  const double a = std::fabs(d);
  std::array<char, 64> buf{};
  const bool exponent = a != 0 && (a < 1e-6 || a >= 1e21);
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), d,
                               exponent ? std::chars_format::scientific : std::chars_format::fixed);
  std::string text(buf.data(), r.ptr);
  // Go writes at least two exponent digits but then shortens "e-07" to "e-7".
  const auto n = text.size();
  if (exponent && n >= 4 && text.compare(n - 4, 3, "e-0") == 0) text.erase(n - 2, 1);
  out += text;
}

void write(std::string& out, const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      out += "null";
      return;
    case rapidjson::kFalseType:
      out += "false";
      return;
    case rapidjson::kTrueType:
      out += "true";
      return;
    case rapidjson::kNumberType:
      writeNumber(out, v);
      return;
    case rapidjson::kStringType:
      writeString(out, {v.GetString(), v.GetStringLength()});
      return;
    case rapidjson::kArrayType: {
      out += '[';
      bool first = true;
      for (const auto& item : v.GetArray()) {
        if (!first) out += ',';
        first = false;
        write(out, item);
      }
      out += ']';
      return;
    }
    case rapidjson::kObjectType: {
      std::vector<const rapidjson::Value::Member*> members;
      for (const auto& m : v.GetObject()) members.push_back(&m);
      std::stable_sort(members.begin(), members.end(), [](const auto* a, const auto* b) {
        return std::string_view(a->name.GetString(), a->name.GetStringLength()) <
               std::string_view(b->name.GetString(), b->name.GetStringLength());
      });
      out += '{';
      bool first = true;
      for (const auto* m : members) {
        if (!first) out += ',';
        first = false;
        writeString(out, {m->name.GetString(), m->name.GetStringLength()});
        out += ':';
        write(out, m->value);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string goCanonicalJson(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    throw std::invalid_argument(std::string("invalid JSON: ") +
                                rapidjson::GetParseError_En(doc.GetParseError()));
  }
  std::string out;
  out.reserve(json.size() + 16);
  write(out, doc);
  return out;
}

}  // namespace kite::controlplane::controllers
