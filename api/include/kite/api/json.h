#pragma once
// JSON and YAML reading and writing of the generated API types (kite/api/<group>/<version>/
// types.h). Every generated type T has fromJson/toJson overloads found by argument-dependent
// lookup; these templates are the entry points:
//
//   auto pod = kite::api::decodeJson<core::v1::Pod>(body, {.strict = true});
//   std::string json = kite::api::encodeJson(pod);
//   for (const auto& doc : kite::api::yamlToJsonDocuments(fileText)) { ... }
//
// Decoding throws ParseError for malformed input and FieldErrors (kite/api/field_errors.h)
// for well-formed input that does not fit the type.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kite::api {

// Malformed input: JSON or YAML syntax, invalid UTF-8, nesting deeper than allowed.
class ParseError : public std::runtime_error {
 public:
  ParseError(const std::string& detail, std::size_t line, std::size_t column);

  // 1-based position of the problem; 0 when unknown.
  std::size_t line() const { return line_; }
  std::size_t column() const { return column_; }
  // The message without the position.
  const std::string& detail() const { return detail_; }

 private:
  std::string detail_;
  std::size_t line_;
  std::size_t column_;
};

struct DecodeOptions {
  // Unknown and duplicate fields are errors, as with the API server's fieldValidation=Strict.
  // Otherwise they are dropped (the last duplicate wins) and described in *warnings when set,
  // as with fieldValidation=Warn, e.g. `unknown field "spec.containers[0].imagePolicy"`.
  bool strict = false;
  std::vector<std::string>* warnings = nullptr;
  // Deepest nesting of JSON objects and arrays accepted.
  unsigned maxDepth = 100;
};

namespace detail {
class JsonIn;
class JsonOut;
using DecodeFn = void (*)(const JsonIn&, void*);
using EncodeFn = void (*)(JsonOut&, const void*);
void decodeRoot(std::string_view json, const DecodeOptions& options, DecodeFn fn, void* out);
std::string encodeRoot(EncodeFn fn, const void* value);
}  // namespace detail

template <class T>
T decodeJson(std::string_view json, const DecodeOptions& options = {}) {
  T out{};
  detail::decodeRoot(
      json, options, [](const detail::JsonIn& in, void* p) { fromJson(in, *static_cast<T*>(p)); },
      &out);
  return out;
}

// Canonical Kubernetes JSON, compact. Top-level kinds get apiVersion and kind filled in when
// empty.
template <class T>
std::string encodeJson(const T& value) {
  return detail::encodeRoot(
      [](detail::JsonOut& w, const void* p) { toJson(w, *static_cast<const T*>(p)); }, &value);
}

// Splits a YAML stream into one JSON text per non-empty document ("---" separated), with
// the scalar rules kubectl applies (YAML 1.1): unquoted yes/no/on/off/true/false are
// booleans, unquoted numbers (also 0644 octal, 0x1F hex) are numbers, ~ and null are null,
// quoted scalars are always strings. Anchors, aliases and << merge keys are expanded.
// Throws ParseError with the line and column of the problem.
std::vector<std::string> yamlToJsonDocuments(std::string_view yaml);

// decodeJson of a YAML text holding exactly one document.
template <class T>
T decodeYaml(std::string_view yaml, const DecodeOptions& options = {}) {
  const auto docs = yamlToJsonDocuments(yaml);
  if (docs.size() != 1) {
    throw ParseError("expected exactly one YAML document, found " + std::to_string(docs.size()), 0,
                     0);
  }
  return decodeJson<T>(docs.front(), options);
}

}  // namespace kite::api
