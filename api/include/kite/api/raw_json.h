#pragma once
// A JSON value kept as text: runtime.RawExtension, metav1.FieldsV1, watch event objects and
// the fields kite does not model. The decoder stores the value compactly re-serialized
// (same structure, keys and order; insignificant whitespace removed). Empty means unset.

#include <string>
#include <string_view>
#include <utility>

namespace kite::api {

class RawJson {
 public:
  RawJson() = default;

  // Checks that text is one well-formed JSON value (throws kite::api::ParseError) and keeps it
  // as given.
  static RawJson parse(std::string_view text);
  // Keeps text without checking it; the caller guarantees it is valid JSON.
  static RawJson fromTrustedText(std::string text) {
    RawJson r;
    r.text_ = std::move(text);
    return r;
  }

  const std::string& text() const { return text_; }
  bool empty() const { return text_.empty(); }

  bool operator==(const RawJson&) const = default;

 private:
  std::string text_;
};

}  // namespace kite::api
