#include "kite/api/labels.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <stdexcept>

namespace kite::api::labels {
namespace {

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool isName(std::string_view s) {
  if (s.empty() || !isAlnum(s.front()) || !isAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

// Lowercase RFC 1123 subdomain.
bool isDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t dot = s.find('.', start);
    const std::string_view label =
        s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (const char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

std::optional<int64_t> toInt(std::string_view s) {
  int64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

const char* opText(Operator op) {
  switch (op) {
    case Operator::Equals:
      return "=";
    case Operator::DoubleEquals:
      return "==";
    case Operator::NotEquals:
      return "!=";
    case Operator::In:
      return " in ";
    case Operator::NotIn:
      return " notin ";
    case Operator::GreaterThan:
      return ">";
    case Operator::LessThan:
      return "<";
    case Operator::Exists:
    case Operator::DoesNotExist:
      break;
  }
  return "";
}

// The tokens of the selector string syntax.
struct Token {
  enum class Kind : uint8_t {
    End,
    Identifier,
    Comma,
    Open,
    Close,
    Not,
    Equals,
    DoubleEquals,
    NotEquals,
    Greater,
    Less,
    In,
    NotIn
  } kind = Kind::End;
  std::string text;
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Token next() {
    while (pos_ < s_.size() && isSpace(s_[pos_])) ++pos_;
    Token t;
    if (pos_ >= s_.size()) return t;
    const char c = s_[pos_];
    auto two = [&](char a, char b) { return c == a && pos_ + 1 < s_.size() && s_[pos_ + 1] == b; };
    if (two('=', '=')) return symbol(Token::Kind::DoubleEquals, 2);
    if (two('!', '=')) return symbol(Token::Kind::NotEquals, 2);
    switch (c) {
      case ',':
        return symbol(Token::Kind::Comma, 1);
      case '(':
        return symbol(Token::Kind::Open, 1);
      case ')':
        return symbol(Token::Kind::Close, 1);
      case '!':
        return symbol(Token::Kind::Not, 1);
      case '=':
        return symbol(Token::Kind::Equals, 1);
      case '>':
        return symbol(Token::Kind::Greater, 1);
      case '<':
        return symbol(Token::Kind::Less, 1);
      default:
        break;
    }
    const std::size_t start = pos_;
    while (pos_ < s_.size() && !isSpace(s_[pos_]) &&
           std::string_view(",()!=<>").find(s_[pos_]) == std::string_view::npos) {
      ++pos_;
    }
    t.text = std::string(s_.substr(start, pos_ - start));
    t.kind = t.text == "in"      ? Token::Kind::In
             : t.text == "notin" ? Token::Kind::NotIn
                                 : Token::Kind::Identifier;
    return t;
  }

 private:
  static bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  Token symbol(Token::Kind kind, std::size_t len) {
    Token t;
    t.kind = kind;
    t.text = std::string(s_.substr(pos_, len));
    pos_ += len;
    return t;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

class Parser {
 public:
  explicit Parser(std::string_view s) : lex_(s), text_(s) { advance(); }

  Selector parse() {
    Selector sel;
    if (tok_.kind == Token::Kind::End) return sel;
    while (true) {
      requirement(sel);
      if (tok_.kind == Token::Kind::End) break;
      if (tok_.kind != Token::Kind::Comma) fail("expected ',' or end of selector");
      advance();
    }
    return sel;
  }

 private:
  void advance() { tok_ = lex_.next(); }
  [[noreturn]] void fail(const std::string& why) const {
    throw std::invalid_argument("unable to parse label selector \"" + std::string(text_) + "\": " +
                                why + (tok_.text.empty() ? "" : " at '" + tok_.text + "'"));
  }

  void requirement(Selector& sel) {
    if (tok_.kind == Token::Kind::Not) {
      advance();
      if (tok_.kind != Token::Kind::Identifier) fail("expected a label key after '!'");
      sel.add(tok_.text, Operator::DoesNotExist, {});
      advance();
      return;
    }
    if (tok_.kind != Token::Kind::Identifier) fail("expected a label key");
    std::string key = tok_.text;
    advance();
    Operator op = Operator::Exists;
    switch (tok_.kind) {
      case Token::Kind::End:
      case Token::Kind::Comma:
        sel.add(std::move(key), Operator::Exists, {});
        return;
      case Token::Kind::Equals:
        op = Operator::Equals;
        break;
      case Token::Kind::DoubleEquals:
        op = Operator::DoubleEquals;
        break;
      case Token::Kind::NotEquals:
        op = Operator::NotEquals;
        break;
      case Token::Kind::Greater:
        op = Operator::GreaterThan;
        break;
      case Token::Kind::Less:
        op = Operator::LessThan;
        break;
      case Token::Kind::In:
        op = Operator::In;
        break;
      case Token::Kind::NotIn:
        op = Operator::NotIn;
        break;
      default:
        fail("expected an operator");
    }
    advance();
    std::vector<std::string> values;
    if (op == Operator::In || op == Operator::NotIn) {
      if (tok_.kind != Token::Kind::Open) fail("expected '(' after in/notin");
      advance();
      if (tok_.kind == Token::Kind::Close) {
        values.emplace_back();
      } else {
        while (true) {
          if (tok_.kind == Token::Kind::Identifier) {
            values.push_back(tok_.text);
            advance();
          } else {
            values.emplace_back();
          }
          if (tok_.kind == Token::Kind::Close) break;
          if (tok_.kind != Token::Kind::Comma) fail("expected ',' or ')' in a value list");
          advance();
        }
      }
      advance();
    } else if (tok_.kind == Token::Kind::Identifier) {
      values.push_back(tok_.text);
      advance();
    } else if (tok_.kind == Token::Kind::End || tok_.kind == Token::Kind::Comma) {
      values.emplace_back();
    } else {
      fail("expected a value");
    }
    sel.add(std::move(key), op, std::move(values));
  }

  Lexer lex_;
  std::string_view text_;
  Token tok_;
};

}  // namespace

std::string validateKey(std::string_view key) {
  std::string_view name = key;
  const auto slash = key.find('/');
  if (slash != std::string_view::npos) {
    const std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty()) return "prefix part must be non-empty";
    if (!isDnsSubdomain(prefix)) {
      return "prefix part must be a lowercase RFC 1123 subdomain of at most 253 characters";
    }
  }
  if (name.empty()) return "name part must be non-empty";
  if (name.size() > 63) return "name part must be no more than 63 characters";
  if (!isName(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
           "start and end with an alphanumeric character";
  }
  return {};
}

std::string validateValue(std::string_view value) {
  if (value.empty()) return {};
  if (value.size() > 63) return "must be no more than 63 characters";
  if (!isName(value)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, "
           "'-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return {};
}

bool Requirement::matches(const Set& labels) const {
  const auto it = labels.find(key);
  const bool has = it != labels.end();
  auto contains = [&](const std::string& v) {
    return std::binary_search(values.begin(), values.end(), v);
  };
  switch (op) {
    case Operator::Equals:
    case Operator::DoubleEquals:
    case Operator::In:
      return has && contains(it->second);
    case Operator::NotEquals:
    case Operator::NotIn:
      return !has || !contains(it->second);
    case Operator::Exists:
      return has;
    case Operator::DoesNotExist:
      return !has;
    case Operator::GreaterThan:
    case Operator::LessThan: {
      if (!has || values.size() != 1) return false;
      const auto lv = toInt(it->second);
      const auto rv = toInt(values.front());
      if (!lv || !rv) return false;
      return op == Operator::GreaterThan ? *lv > *rv : *lv < *rv;
    }
  }
  return false;
}

std::string Requirement::toString() const {
  if (op == Operator::Exists) return key;
  if (op == Operator::DoesNotExist) return "!" + key;
  std::string out = key + opText(op);
  if (op == Operator::In || op == Operator::NotIn) {
    out += "(";
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += ",";
      out += values[i];
    }
    return out + ")";
  }
  return out + (values.empty() ? std::string() : values.front());
}

Selector Selector::nothing() {
  Selector s;
  s.nothing_ = true;
  return s;
}

void Selector::add(std::string key, Operator op, std::vector<std::string> values) {
  if (const auto err = validateKey(key); !err.empty()) {
    throw std::invalid_argument("invalid label key \"" + key + "\": " + err);
  }
  switch (op) {
    case Operator::In:
    case Operator::NotIn:
      if (values.empty()) {
        throw std::invalid_argument("for 'in', 'notin' operators, values set can't be empty");
      }
      break;
    case Operator::Equals:
    case Operator::DoubleEquals:
    case Operator::NotEquals:
      if (values.size() != 1) {
        throw std::invalid_argument("exact-match compatibility requires one single value");
      }
      break;
    case Operator::Exists:
    case Operator::DoesNotExist:
      if (!values.empty()) {
        throw std::invalid_argument("values set must be empty for exists and does not exist");
      }
      break;
    case Operator::GreaterThan:
    case Operator::LessThan:
      if (values.size() != 1) {
        throw std::invalid_argument("for 'Gt', 'Lt' operators, exactly one value is required");
      }
      if (!toInt(values.front())) {
        throw std::invalid_argument("for 'Gt', 'Lt' operators, the value must be an integer");
      }
      break;
  }
  for (const auto& v : values) {
    if (op == Operator::GreaterThan || op == Operator::LessThan) break;
    if (const auto err = validateValue(v); !err.empty()) {
      std::string message = "invalid label value \"";
      message += v;
      message += "\": ";
      message += err;
      throw std::invalid_argument(message);
    }
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  Requirement r{std::move(key), op, std::move(values)};
  const auto pos =
      std::upper_bound(requirements_.begin(), requirements_.end(), r,
                       [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
  requirements_.insert(pos, std::move(r));
}

Selector Selector::parse(std::string_view text) { return Parser(text).parse(); }

Selector Selector::fromLabelSelector(const meta::v1::LabelSelector& selector) {
  Selector s;
  for (const auto& [k, v] : selector.matchLabels) s.add(k, Operator::Equals, {v});
  for (const auto& e : selector.matchExpressions) {
    Operator op = Operator::In;
    if (e.operator_ == meta::v1::LabelSelectorOperator::In) {
      op = Operator::In;
    } else if (e.operator_ == meta::v1::LabelSelectorOperator::NotIn) {
      op = Operator::NotIn;
    } else if (e.operator_ == meta::v1::LabelSelectorOperator::Exists) {
      op = Operator::Exists;
    } else if (e.operator_ == meta::v1::LabelSelectorOperator::DoesNotExist) {
      op = Operator::DoesNotExist;
    } else {
      throw std::invalid_argument("\"" + e.operator_ + "\" is not a valid label selector operator");
    }
    s.add(e.key, op, e.values);
  }
  return s;
}

Selector Selector::fromSet(const Set& labels) {
  Selector s;
  for (const auto& [k, v] : labels) {
    s.requirements_.push_back(Requirement{k, Operator::Equals, {v}});
  }
  return s;
}

bool Selector::matches(const Set& labels) const {
  if (nothing_) return false;
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&](const Requirement& r) { return r.matches(labels); });
}

std::string Selector::toString() const {
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) out += ",";
    out += r.toString();
  }
  return out;
}

bool matches(const meta::v1::LabelSelector& selector, const Set& labels) {
  try {
    return Selector::fromLabelSelector(selector).matches(labels);
  } catch (const std::invalid_argument&) {
    return false;
  }
}

bool matches(const std::optional<meta::v1::LabelSelector>& selector, const Set& labels) {
  return selector.has_value() && matches(*selector, labels);
}

}  // namespace kite::api::labels
