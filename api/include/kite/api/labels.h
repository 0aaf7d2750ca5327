#pragma once
// Label selectors: the structured metav1.LabelSelector and the string syntax of
// ?labelSelector= ("app=web,tier in (a,b),!legacy"), with upstream semantics.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kite/api/meta/v1/types.h"

namespace kite::api::labels {

using Set = std::map<std::string, std::string>;

enum class Operator {
  Equals,        // key=value
  DoubleEquals,  // key==value
  NotEquals,     // key!=value (also matches when the key is absent)
  In,            // key in (a,b)
  NotIn,         // key notin (a,b) (also matches when the key is absent)
  Exists,        // key
  DoesNotExist,  // !key
  GreaterThan,   // key>5 (integer comparison; node selectors only)
  LessThan,      // key<5
};

struct Requirement {
  std::string key;
  Operator op = Operator::Exists;
  std::vector<std::string> values;  // sorted, without duplicates

  bool matches(const Set& labels) const;
  std::string toString() const;
  bool operator==(const Requirement&) const = default;
};

class Selector {
 public:
  Selector() = default;  // matches everything

  static Selector everything() { return {}; }
  static Selector nothing();
  // The string syntax; "" is everything. Throws std::invalid_argument.
  static Selector parse(std::string_view text);
  // A structured selector: matchLabels become Equals, matchExpressions keep their operator.
  // Throws std::invalid_argument for an unknown operator, wrong value counts or invalid
  // keys and values (upstream's messages).
  static Selector fromLabelSelector(const meta::v1::LabelSelector& selector);
  // Equality on every pair (a Service or ReplicationController selector).
  static Selector fromSet(const Set& labels);

  bool matches(const Set& labels) const;
  bool matchesEverything() const { return !nothing_ && requirements_.empty(); }
  bool matchesNothing() const { return nothing_; }
  // Requirements sorted by key, in the string syntax; "" for everything.
  std::string toString() const;
  const std::vector<Requirement>& requirements() const { return requirements_; }

  // Adds a requirement after checking it like upstream's NewRequirement.
  void add(std::string key, Operator op, std::vector<std::string> values);

 private:
  std::vector<Requirement> requirements_;
  bool nothing_ = false;
};

// Whether labels match selector: an empty selector matches everything. An invalid selector
// matches nothing (use Selector::fromLabelSelector to see why).
bool matches(const meta::v1::LabelSelector& selector, const Set& labels);
// As above; an absent selector (a nil pointer upstream) matches nothing.
bool matches(const std::optional<meta::v1::LabelSelector>& selector, const Set& labels);

// Checks a label key (an optional DNS subdomain prefix and "/", then a name of at most 63
// characters) and a label value; return "" or what is wrong.
std::string validateKey(std::string_view key);
std::string validateValue(std::string_view value);

}  // namespace kite::api::labels
