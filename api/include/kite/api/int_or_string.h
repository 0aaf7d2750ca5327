#pragma once
// intstr.IntOrString: a port number or name ("8080" / "http"), a count or a percentage
// ("1" / "25%"). On the wire it is a JSON number or a JSON string.

#include <cstdint>
#include <string>
#include <utility>

namespace kite::api {

class IntOrString {
 public:
  IntOrString() = default;                     // the integer 0
  IntOrString(int32_t value) : int_(value) {}  // NOLINT(google-explicit-constructor)
  IntOrString(std::string value)               // NOLINT(google-explicit-constructor)
      : isString_(true), str_(std::move(value)) {}
  IntOrString(const char* value) : IntOrString(std::string(value)) {}  // NOLINT

  bool isInt() const { return !isString_; }
  bool isString() const { return isString_; }
  int32_t intValue() const { return int_; }
  const std::string& strValue() const { return str_; }
  // "8080" or "http".
  std::string toString() const { return isString_ ? str_ : std::to_string(int_); }

  bool operator==(const IntOrString&) const = default;

 private:
  bool isString_ = false;
  int32_t int_ = 0;
  std::string str_;
};

}  // namespace kite::api
