#include "kite/volumes/node_affinity.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

#include "kite/volumes/error.h"

namespace kite::volumes {

namespace {

constexpr std::size_t kMaxLabelNameLength = 63;
constexpr std::size_t kMaxDnsSubdomainLength = 253;

bool isAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], at most 63 characters.
bool isLabelName(const std::string& s) {
  if (s.empty() || s.size() > kMaxLabelNameLength || !isAlnum(s.front()) || !isAlnum(s.back())) {
    return false;
  }
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

// A lower-case RFC 1123 subdomain.
bool isDnsSubdomain(const std::string& s) {
  if (s.empty() || s.size() > kMaxDnsSubdomainLength) {
    return false;
  }
  auto lowerAlnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lowerAlnum(s.front()) || !lowerAlnum(s.back())) {
    return false;
  }
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return lowerAlnum(c) || c == '-' || c == '.'; });
}

// Kubernetes' IsQualifiedName: [prefix/]name.
std::optional<std::string> labelKeyError(const std::string& key) {
  const std::size_t slash = key.find('/');
  const std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
  if (slash != std::string::npos &&
      (key.find('/', slash + 1) != std::string::npos || !isDnsSubdomain(key.substr(0, slash)))) {
    return "key: Invalid value: \"" + key +
           "\": prefix part must be a lowercase RFC 1123 subdomain";
  }
  if (!isLabelName(name)) {
    return "key: Invalid value: \"" + key +
           "\": name part must consist of alphanumeric characters, '-', '_' or '.', and must "
           "start and end with an alphanumeric character";
  }
  return std::nullopt;
}

std::optional<std::string> labelValueError(const std::string& value) {
  if (value.empty() || isLabelName(value)) {
    return std::nullopt;
  }
  return "values: Invalid value: \"" + value +
         "\": a valid label must be an empty string or consist of alphanumeric characters, '-', "
         "'_' or '.', and must start and end with an alphanumeric character";
}

// Go's strconv.ParseInt(s, 10, 64).
std::optional<std::int64_t> parseInt64(const std::string& s) {
  std::string_view digits = s;
  if (!digits.empty() && digits.front() == '+') {
    digits.remove_prefix(1);
    if (!digits.empty() && digits.front() == '-') {
      return std::nullopt;
    }
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
    return std::nullopt;
  }
  return value;
}

std::string valuesText(const std::vector<std::string>& values) {
  std::string out = "[";
  for (const auto& v : values) {
    out += (out.size() > 1 ? " " : "") + v;
  }
  return out + "]";
}

using Errors = std::vector<std::string>;

// Checks one matchExpressions requirement; empty when well-formed.
Errors validateExpression(const NodeSelectorRequirement& r) {
  Errors errors;
  if (auto e = labelKeyError(r.key)) {
    errors.push_back(*e);
  }
  if (r.op == "In" || r.op == "NotIn") {
    if (r.values.empty()) {
      errors.emplace_back(
          "values: Invalid value: []: for 'in', 'notin' operators, values set "
          "can't be empty");
    }
  } else if (r.op == "Exists" || r.op == "DoesNotExist") {
    if (!r.values.empty()) {
      errors.push_back("values: Invalid value: " + valuesText(r.values) +
                       ": values set must be empty for exists and does not exist");
    }
  } else if (r.op == "Gt" || r.op == "Lt") {
    if (r.values.size() != 1) {
      errors.push_back("values: Invalid value: " + valuesText(r.values) +
                       ": for 'Gt', 'Lt' operators, exactly one value is required");
    } else if (!parseInt64(r.values.front())) {
      errors.push_back("values: Invalid value: " + valuesText(r.values) +
                       ": for 'Gt', 'Lt' operators, the value must be an integer");
    }
    return errors;  // integers, not label values
  } else {
    errors.push_back("\"" + r.op + "\" is not a valid node selector operator");
    return errors;
  }
  for (const auto& value : r.values) {
    if (auto e = labelValueError(value)) {
      errors.push_back(*e);
    }
  }
  return errors;
}

Errors validateField(const NodeSelectorRequirement& r) {
  if (r.key != "metadata.name") {
    return {"\"" + r.key + "\" is not a valid field selector key"};
  }
  if (r.op != "In" && r.op != "NotIn") {
    return {"\"" + r.op + "\" is not a valid node field selector operator"};
  }
  if (r.values.size() != 1) {
    return {"unexpected number of value (" + std::to_string(r.values.size()) +
            ") for node field selector operator \"" + r.op + "\""};
  }
  return {};
}

bool expressionMatches(const NodeSelectorRequirement& r,
                       const std::map<std::string, std::string>& labels) {
  const auto it = labels.find(r.key);
  const bool has = it != labels.end();
  const auto in = [&] {
    return has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
  };
  if (r.op == "In") {
    return in();
  }
  if (r.op == "NotIn") {
    return !in();
  }
  if (r.op == "Exists") {
    return has;
  }
  if (r.op == "DoesNotExist") {
    return !has;
  }
  // Gt, Lt: validated, so the requirement's value parses.
  if (!has) {
    return false;
  }
  const auto labelValue = parseInt64(it->second);
  const auto bound = parseInt64(r.values.front());
  if (!labelValue || !bound) {
    return false;
  }
  return r.op == "Gt" ? *labelValue > *bound : *labelValue < *bound;
}

bool fieldMatches(const NodeSelectorRequirement& r, const std::string& nodeName) {
  const bool equal = nodeName == r.values.front();
  return r.op == "In" ? equal : !equal;
}

}  // namespace

bool nodeAffinityMatches(const std::vector<NodeSelectorTerm>& requiredTerms,
                         const std::map<std::string, std::string>& nodeLabels,
                         const std::string& nodeName) {
  Errors errors;
  for (const auto& term : requiredTerms) {
    if (term.matchExpressions.empty() && term.matchFields.empty()) {
      continue;  // an empty term matches no node
    }
    Errors termErrors;
    for (const auto& r : term.matchExpressions) {
      const auto e = validateExpression(r);
      termErrors.insert(termErrors.end(), e.begin(), e.end());
    }
    for (const auto& r : term.matchFields) {
      const auto e = validateField(r);
      termErrors.insert(termErrors.end(), e.begin(), e.end());
    }
    if (!termErrors.empty()) {
      errors.insert(errors.end(), termErrors.begin(), termErrors.end());
      continue;
    }
    const bool labelsMatch =
        std::all_of(term.matchExpressions.begin(), term.matchExpressions.end(),
                    [&](const auto& r) { return expressionMatches(r, nodeLabels); });
    const bool fieldsMatch =
        nodeName.empty() || std::all_of(term.matchFields.begin(), term.matchFields.end(),
                                        [&](const auto& r) { return fieldMatches(r, nodeName); });
    if (labelsMatch && fieldsMatch) {
      return true;
    }
  }
  if (errors.size() == 1) {
    throw VolumeError(Reason::kInvalid, errors.front());
  }
  if (!errors.empty()) {
    std::string text = "[";
    for (const auto& e : errors) {
      text += (text.size() > 1 ? ", " : "") + e;
    }
    throw VolumeError(Reason::kInvalid, text + "]");
  }
  return false;
}

void checkVolumeNodeAffinity(const std::optional<std::vector<NodeSelectorTerm>>& required,
                             const std::map<std::string, std::string>& nodeLabels,
                             const std::string& nodeName) {
  if (!required) {
    return;
  }
  if (!nodeAffinityMatches(*required, nodeLabels, nodeName)) {
    throw VolumeError(Reason::kNodeAffinityConflict, "no matching NodeSelectorTerms");
  }
}

}  // namespace kite::volumes
