#pragma once
// Kubernetes resource quantities ("500m", "2Gi", "1e3"): exact fixed-point numbers with
// the upstream grammar, canonical form, rounding and comparison rules.

#include <compare>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kite::api {

namespace detail {
__extension__ using Int128 = __int128;
}  // namespace detail

// Thrown by Quantity::parse; what() is the upstream message.
class QuantityError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class Quantity {
 public:
  // How the quantity is printed: 12e6, 12Mi (12 * 2^20), 12M (12 * 10^6).
  enum class Format : uint8_t { DecimalSI, BinarySI, DecimalExponent };

  // Zero ("0").
  Quantity() = default;

  // Parses the upstream grammar: <sign><number><suffix> with suffixes n u m "" k M G T P E,
  // Ki Mi Gi Ti Pi Ei, or e/E<exponent>. Values more precise than 1n are rounded up to 1n.
  static Quantity parse(std::string_view text);
  static std::optional<Quantity> tryParse(std::string_view text, std::string* error = nullptr);

  static Quantity fromInt(int64_t value, Format format = Format::DecimalSI);
  static Quantity fromMilli(int64_t milli, Format format = Format::DecimalSI);
  // value * 10^scale.
  static Quantity fromScaled(int64_t value, int32_t scale, Format format = Format::DecimalSI);

  // The canonical string, as the API server prints it ("2Gi", "500m", "1", "0").
  std::string toString() const;

  // ceil(q), ceil(q * 1000) and ceil(q / 10^scale), rounded away from zero and saturated to
  // the int64 range.
  int64_t value() const;
  int64_t milliValue() const;
  int64_t scaledValue(int32_t scale) const;
  double approximateDouble() const;

  bool isZero() const { return mantissa_ == 0; }
  int sign() const { return mantissa_ > 0 ? 1 : (mantissa_ < 0 ? -1 : 0); }
  Format format() const { return format_; }

  // -1, 0, 1 by numeric value; the format does not matter.
  int compare(const Quantity& other) const;
  bool operator==(const Quantity& other) const { return compare(other) == 0; }
  std::strong_ordering operator<=>(const Quantity& other) const { return compare(other) <=> 0; }

  // Exact arithmetic; a zero left-hand side takes the right-hand side's format.
  // Throws std::overflow_error when the result has more than 37 significant digits.
  Quantity& operator+=(const Quantity& other);
  Quantity& operator-=(const Quantity& other);
  Quantity operator-() const;
  friend Quantity operator+(Quantity a, const Quantity& b) { return a += b; }
  friend Quantity operator-(Quantity a, const Quantity& b) { return a -= b; }

 private:
  Quantity(detail::Int128 mantissa, int32_t scale, Format format)
      : mantissa_(mantissa), scale_(scale), format_(format) {}

  detail::Int128 mantissa_ = 0;  // value = mantissa_ * 10^scale_
  int32_t scale_ = 0;
  Format format_ = Format::DecimalSI;
  std::string text_;  // the input, when upstream would print it back unchanged
};

}  // namespace kite::api
