#include "kite/api/quantity.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

// Mirrors k8s.io/apimachinery/pkg/api/resource: the same grammar, the same rounding (up to
// 1n, away from zero), the same BinarySI cap at 2^63-1 and the same canonical printing,
// including upstream's habit of printing some inputs back verbatim ("1.500", "+1k").
// Values are kept exactly as a 128-bit mantissa times a power of ten. Unlike upstream,
// more than 36 significant digits are rejected instead of handled with big numbers.

namespace kite::api {
using detail::Int128;

namespace {

constexpr const char* kErrFormatWrong =
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
constexpr const char* kErrNumeric = "unable to parse numeric part of quantity";
constexpr const char* kErrSuffix = "unable to parse quantity's suffix";
constexpr const char* kErrTooPrecise = "quantity has more than 36 significant digits";
constexpr int kMaxDigits = 36;
constexpr int32_t kNano = -9;
constexpr Int128 kMaxInt64 = std::numeric_limits<int64_t>::max();

bool isDigit(char c) { return c >= '0' && c <= '9'; }

Int128 pow10(int n) {
  Int128 r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

int digitCount(Int128 v) {
  if (v < 0) v = -v;
  int n = 0;
  while (v != 0) {
    v /= 10;
    ++n;
  }
  return n;
}

// a * 10^n, or false when |result| would reach 10^38.
bool mulPow10(Int128& a, int64_t n) {
  if (a == 0 || n == 0) return true;
  if (n < 0 || digitCount(a) + n > 38) return false;
  a *= pow10(static_cast<int>(n));
  return true;
}

std::string toDecimal(Int128 v) {
  if (v == 0) return "0";
  const bool neg = v < 0;
  std::string out;
  while (v != 0) {
    const int d = static_cast<int>(v % 10);
    out.insert(out.begin(), static_cast<char>('0' + (d < 0 ? -d : d)));
    v /= 10;
  }
  if (neg) out.insert(out.begin(), '-');
  return out;
}

Int128 parseDigits(std::string_view digits) {
  Int128 v = 0;
  for (const char c : digits) v = v * 10 + (c - '0');
  return v;
}

// The pieces of a quantity string, as upstream's parseQuantityString splits it.
struct Scan {
  bool positive = true;
  std::string_view num;    // integer digits without leading zeros ("0" when none)
  std::string_view denom;  // fraction digits
  std::string_view suffix;
};

// Returns nullptr or the error.
const char* scan(std::string_view s, Scan& out) {
  std::size_t pos = 0;
  const std::size_t end = s.size();
  if (pos < end && (s[0] == '-' || s[0] == '+')) {
    out.positive = s[0] != '-';
    ++pos;
  }
  while (pos < end && s[pos] == '0') ++pos;
  if (pos >= end) {
    out.num = "0";
    return nullptr;
  }
  std::size_t i = pos;
  while (i < end && isDigit(s[i])) ++i;
  out.num = s.substr(pos, i - pos);
  if (out.num.empty()) out.num = "0";
  pos = i;
  if (pos < end && s[pos] == '.') {
    ++pos;
    i = pos;
    while (i < end && isDigit(s[i])) ++i;
    out.denom = s.substr(pos, i - pos);
    pos = i;
  }
  const std::size_t suffixStart = pos;
  while (pos < end && std::string_view("eEinumkKMGTP").find(s[pos]) != std::string_view::npos) {
    ++pos;
  }
  if (pos < end && (s[pos] == '-' || s[pos] == '+')) ++pos;
  while (pos < end && isDigit(s[pos])) ++pos;
  if (pos < end) return kErrFormatWrong;
  out.suffix = s.substr(suffixStart);
  return nullptr;
}

struct Suffix {
  int base = 10;
  int32_t exponent = 0;
  Quantity::Format format = Quantity::Format::DecimalSI;
};

bool interpret(std::string_view s, Suffix& out) {
  struct Entry {
    std::string_view text;
    int base;
    int32_t exponent;
  };
  static constexpr std::array<Entry, 16> kTable = {{{"", 10, 0},
                                                    {"n", 10, -9},
                                                    {"u", 10, -6},
                                                    {"m", 10, -3},
                                                    {"k", 10, 3},
                                                    {"M", 10, 6},
                                                    {"G", 10, 9},
                                                    {"T", 10, 12},
                                                    {"P", 10, 15},
                                                    {"E", 10, 18},
                                                    {"Ki", 2, 10},
                                                    {"Mi", 2, 20},
                                                    {"Gi", 2, 30},
                                                    {"Ti", 2, 40},
                                                    {"Pi", 2, 50},
                                                    {"Ei", 2, 60}}};
  for (const auto& e : kTable) {
    if (e.text == s) {
      out.base = e.base;
      out.exponent = e.exponent;
      out.format = e.base == 2 ? Quantity::Format::BinarySI : Quantity::Format::DecimalSI;
      return true;
    }
  }
  if (s.size() > 1 && (s[0] == 'e' || s[0] == 'E')) {
    std::string_view digits = s.substr(1);
    bool neg = false;
    if (digits[0] == '+' || digits[0] == '-') {
      neg = digits[0] == '-';
      digits.remove_prefix(1);
    }
    if (digits.empty() || digits.size() > 10) return false;
    int64_t v = 0;
    for (const char c : digits) {
      if (!isDigit(c)) return false;
      v = v * 10 + (c - '0');
    }
    if (neg) v = -v;
    if (v > std::numeric_limits<int32_t>::max() || v < std::numeric_limits<int32_t>::min()) {
      return false;
    }
    out.base = 10;
    out.exponent = static_cast<int32_t>(v);
    out.format = Quantity::Format::DecimalExponent;
    return true;
  }
  return false;
}

bool anyNonZero(std::string_view digits) {
  return digits.find_first_not_of('0') != std::string_view::npos;
}

// digits (a decimal string) times m.
std::string mulDecimal(std::string_view digits, uint64_t m) {
  std::string out(digits.size() + 20, '0');
  Int128 carry = 0;
  std::size_t o = out.size();
  for (std::size_t i = digits.size(); i-- > 0;) {
    const Int128 v = static_cast<Int128>(digits[i] - '0') * m + carry;
    out[--o] = static_cast<char>('0' + static_cast<int>(v % 10));
    carry = v / 10;
  }
  while (carry != 0) {
    out[--o] = static_cast<char>('0' + static_cast<int>(carry % 10));
    carry /= 10;
  }
  const std::size_t first = out.find_first_not_of('0');
  return first == std::string::npos ? "0" : out.substr(first);
}

// Whether upstream keeps the input string as the printed form (its fast path).
bool keepsText(const Scan& s, const Suffix& suf) {
  const std::size_t digits = s.num.size() + s.denom.size();
  if (suf.format == Quantity::Format::BinarySI) {
    if (!s.denom.empty()) return false;
    const int precision = 15 - static_cast<int>(s.num.size()) -
                          static_cast<int>(static_cast<float>(suf.exponent) * 3 / 10) - 1;
    if (precision < 0) return false;
    const Int128 value = parseDigits(s.num);
    if ((value << suf.exponent) > kMaxInt64) return false;
    return (value & 0x07) != 0;
  }
  if (digits > 18) return false;
  const int64_t scale = static_cast<int64_t>(suf.exponent) - static_cast<int64_t>(s.denom.size());
  if (scale < kNano || scale % 3 != 0) return false;
  std::string shifted(s.num);
  shifted.append(s.denom);
  if (shifted.size() >= 3 && shifted.compare(shifted.size() - 3, 3, "000") == 0) return false;
  return shifted[0] != '0';
}

}  // namespace

std::optional<Quantity> Quantity::tryParse(std::string_view text, std::string* error) {
  auto fail = [&](const char* message) -> std::optional<Quantity> {
    if (error != nullptr) *error = message;
    return std::nullopt;
  };
  if (text.empty()) return fail(kErrFormatWrong);
  if (text == "0") {
    Quantity q;
    q.text_ = "0";
    return q;
  }
  Scan s;
  if (const char* err = scan(text, s)) return fail(err);
  Suffix suf;
  if (!interpret(s.suffix, suf)) return fail(kErrSuffix);

  Int128 mantissa = 0;
  int64_t scale = 0;
  Format format = suf.format;
  if (suf.base == 10) {
    std::string digits(s.num);
    digits.append(s.denom);
    scale = static_cast<int64_t>(suf.exponent) - static_cast<int64_t>(s.denom.size());
    bool roundUp = false;
    if (scale < kNano) {  // drop what lies below 1n, rounding up
      const int64_t drop = kNano - scale;
      if (drop >= static_cast<int64_t>(digits.size())) {
        roundUp = anyNonZero(digits);
        digits.clear();
      } else {
        const auto keep = digits.size() - static_cast<std::size_t>(drop);
        roundUp = anyNonZero(std::string_view(digits).substr(keep));
        digits.resize(keep);
      }
      scale = kNano;
    }
    const std::size_t first = digits.find_first_not_of('0');
    digits = first == std::string::npos ? std::string() : digits.substr(first);
    while (!digits.empty() && digits.back() == '0') {
      digits.pop_back();
      ++scale;
    }
    if (static_cast<int>(digits.size()) > kMaxDigits) return fail(kErrTooPrecise);
    mantissa = parseDigits(digits);
    if (roundUp) ++mantissa;
    if (mantissa == 0) scale = 0;
  } else {
    // value = num * 2^x + (denom / 10^k) * 2^x, capped at 2^63-1.
    const Int128 two = static_cast<Int128>(1) << suf.exponent;
    const auto k = static_cast<int64_t>(s.denom.size());
    bool capped = s.num.size() > 19;
    Int128 whole = capped ? 0 : parseDigits(s.num) * two;
    if (whole > kMaxInt64) capped = true;
    if (!capped) {
      const std::string frac = mulDecimal(s.denom, static_cast<uint64_t>(two));
      if (k <= -kNano) {
        if (!mulPow10(whole, k) || digitCount(parseDigits(frac)) > kMaxDigits) {
          return fail(kErrTooPrecise);
        }
        mantissa = whole + parseDigits(frac);
        scale = -k;
      } else {
        const auto low = static_cast<std::size_t>(k + kNano);  // digits below 1n
        std::string_view high(frac);
        bool roundUp = false;
        if (low >= high.size()) {
          roundUp = anyNonZero(high);
          high = "";
        } else {
          roundUp = anyNonZero(high.substr(high.size() - low));
          high = high.substr(0, high.size() - low);
        }
        mulPow10(whole, -kNano);
        mantissa = whole + parseDigits(high) + (roundUp ? 1 : 0);
        scale = kNano;
      }
      Int128 limit = kMaxInt64;
      if (mulPow10(limit, -scale) && mantissa > limit) capped = true;
    }
    if (capped) {
      mantissa = kMaxInt64;
      scale = 0;
    }
    // 0 < value < 1 is printed as DecimalSI.
    if (mantissa != 0 && digitCount(mantissa) + scale <= 0) format = Format::DecimalSI;
  }
  if (scale > std::numeric_limits<int32_t>::max() || scale < std::numeric_limits<int32_t>::min()) {
    return fail(kErrNumeric);
  }
  Quantity q(s.positive ? mantissa : -mantissa, static_cast<int32_t>(scale), format);
  if (keepsText(s, suf)) q.text_ = std::string(text);
  return q;
}

Quantity Quantity::parse(std::string_view text) {
  std::string error;
  auto q = tryParse(text, &error);
  if (!q) throw QuantityError(error);
  return *q;
}

Quantity Quantity::fromInt(int64_t value, Format format) { return {value, 0, format}; }

Quantity Quantity::fromMilli(int64_t milli, Format format) { return {milli, -3, format}; }

Quantity Quantity::fromScaled(int64_t value, int32_t scale, Format format) {
  Int128 m = value;
  int64_t s = scale;
  if (s < kNano) {  // round up, away from zero, to 1n
    const int64_t drop = kNano - s;
    const Int128 div = drop > 38 ? 0 : pow10(static_cast<int>(drop));
    const Int128 q = div == 0 ? 0 : m / div;
    const bool exact = div != 0 && q * div == m;
    m = exact ? q : q + (m > 0 ? 1 : (m < 0 ? -1 : 0));
    s = kNano;
  }
  return {m, static_cast<int32_t>(s), format};
}

int Quantity::compare(const Quantity& other) const {
  const int sa = sign();
  const int sb = other.sign();
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  Int128 a = mantissa_ < 0 ? -mantissa_ : mantissa_;
  Int128 b = other.mantissa_ < 0 ? -other.mantissa_ : other.mantissa_;
  const int64_t magA = digitCount(a) + static_cast<int64_t>(scale_);
  const int64_t magB = digitCount(b) + static_cast<int64_t>(other.scale_);
  int c = 0;
  if (magA != magB) {
    c = magA < magB ? -1 : 1;
  } else {
    const int64_t d = static_cast<int64_t>(scale_) - other.scale_;
    if (d >= 0) {
      mulPow10(a, d);
    } else {
      mulPow10(b, -d);
    }
    c = a < b ? -1 : (a > b ? 1 : 0);
  }
  return sa > 0 ? c : -c;
}

int64_t Quantity::scaledValue(int32_t scale) const {
  if (mantissa_ == 0) return 0;
  const int64_t shift = static_cast<int64_t>(scale_) - scale;
  Int128 v = mantissa_;
  if (shift >= 0) {
    if (!mulPow10(v, shift)) {
      return mantissa_ > 0 ? std::numeric_limits<int64_t>::max()
                           : std::numeric_limits<int64_t>::min();
    }
  } else {
    const int64_t drop = -shift;
    if (drop > 38) {
      v = mantissa_ > 0 ? 1 : -1;
    } else {
      const Int128 div = pow10(static_cast<int>(drop));
      const Int128 q = v / div;
      v = q * div == v ? q : q + (v > 0 ? 1 : -1);
    }
  }
  if (v > kMaxInt64) return std::numeric_limits<int64_t>::max();
  if (v < -kMaxInt64 - 1) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

int64_t Quantity::value() const { return scaledValue(0); }

int64_t Quantity::milliValue() const { return scaledValue(-3); }

double Quantity::approximateDouble() const {
  return static_cast<double>(mantissa_) * std::pow(10.0, static_cast<double>(scale_));
}

Quantity& Quantity::operator+=(const Quantity& other) {
  if (mantissa_ == 0) format_ = other.format_;
  text_.clear();
  if (other.mantissa_ == 0) return *this;
  if (mantissa_ == 0) {
    mantissa_ = other.mantissa_;
    scale_ = other.scale_;
    return *this;
  }
  Int128 a = mantissa_;
  Int128 b = other.mantissa_;
  const int32_t scale = std::min(scale_, other.scale_);
  if (!mulPow10(a, static_cast<int64_t>(scale_) - scale) ||
      !mulPow10(b, static_cast<int64_t>(other.scale_) - scale)) {
    throw std::overflow_error("quantity arithmetic overflow");
  }
  Int128 sum = a + b;
  int32_t s = scale;
  while (sum != 0 && sum % 10 == 0 && s < std::numeric_limits<int32_t>::max()) {
    sum /= 10;
    ++s;
  }
  if (digitCount(sum) > 37) throw std::overflow_error("quantity arithmetic overflow");
  mantissa_ = sum;
  scale_ = sum == 0 ? 0 : s;
  return *this;
}

Quantity& Quantity::operator-=(const Quantity& other) { return *this += -other; }

Quantity Quantity::operator-() const {
  Quantity q(-mantissa_, scale_, format_);
  return q;
}

std::string Quantity::toString() const {
  if (!text_.empty()) return text_;
  if (mantissa_ == 0) return "0";
  Format format = format_;
  if (format == Format::BinarySI) {
    const Quantity lo = fromInt(-1024);
    const Quantity hi = fromInt(1024);
    Int128 whole = mantissa_;
    bool integral = true;
    if (scale_ < 0) {
      const Int128 div = scale_ < -38 ? 0 : pow10(-scale_);
      integral = div != 0 && mantissa_ % div == 0;
      if (integral) whole = mantissa_ / div;
    } else {
      integral = mulPow10(whole, scale_);
    }
    // Small or fractional values print as DecimalSI rather than rounded.
    if (!integral || (compare(lo) > 0 && compare(hi) < 0)) format = Format::DecimalSI;
    if (format == Format::BinarySI) {
      static constexpr std::array<const char*, 7> kBin = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
      std::size_t k = 0;
      while (k + 1 < kBin.size() && whole % 1024 == 0) {
        whole /= 1024;
        ++k;
      }
      return toDecimal(whole) + kBin.at(k);
    }
  }
  Int128 m = mantissa_;
  int64_t e = scale_;
  while (m % 10 == 0) {
    m /= 10;
    ++e;
  }
  const int64_t r = e % 3;
  if (r == 1 || r == -2) {
    m *= 10;
    e -= 1;
  } else if (r == 2 || r == -1) {
    m *= 100;
    e -= 2;
  }
  if (format == Format::DecimalSI) {
    if (e > 18 && mulPow10(m, e - 18)) e = 18;
    if (e >= -9 && e <= 18) {
      static constexpr std::array<const char*, 10> kDec = {"n", "u", "m", "",  "k",
                                                           "M", "G", "T", "P", "E"};
      return toDecimal(m) + kDec.at(static_cast<std::size_t>((e + 9) / 3));
    }
  }
  if (e == 0) return toDecimal(m);
  return toDecimal(m) + "e" + std::to_string(e);
}

}  // namespace kite::api
