#include "field_selector.h"

#include <algorithm>

#include "api_error.h"

namespace kite::controlplane::apiserver {

FieldSelector FieldSelector::parse(std::string_view text, const ResourceType& type) {
  FieldSelector out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = text.find(',', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view term = text.substr(i, j - i);
    i = j + 1;
    if (term.empty()) continue;
    Term t;
    std::size_t op = term.find("!=");
    std::size_t valueAt = 0;
    if (op != std::string_view::npos) {
      t.equals = false;
      valueAt = op + 2;
    } else if ((op = term.find("==")) != std::string_view::npos) {
      valueAt = op + 2;
    } else if ((op = term.find('=')) != std::string_view::npos) {
      valueAt = op + 1;
    } else {
      throw ApiError::badRequest("invalid field selector: '" + std::string(term) +
                                 "': no operator");
    }
    t.field = std::string(term.substr(0, op));
    t.value = std::string(term.substr(valueAt));
    // Check the field is supported by probing a default object of the kind.
    auto probe = type.decode("{}", {});
    if (!type.fieldValue(*probe, t.field)) {
      throw ApiError::badRequest("field label not supported: " + t.field);
    }
    out.terms_.push_back(std::move(t));
  }
  return out;
}

bool FieldSelector::matches(const ResourceType& type, const ApiObject& object) const {
  for (const auto& t : terms_) {
    const auto v = type.fieldValue(object, t.field);
    if (!v) return false;
    if ((*v == t.value) != t.equals) return false;
  }
  return true;
}

bool FieldSelector::matches(const FieldValues& fields) const {
  for (const auto& t : terms_) {
    const auto it = std::find_if(fields.begin(), fields.end(),
                                 [&](const auto& f) { return f.first == t.field; });
    if (it == fields.end()) return false;
    if ((it->second == t.value) != t.equals) return false;
  }
  return true;
}

std::string FieldSelector::requiredValue(std::string_view field) const {
  for (const auto& t : terms_) {
    if (t.field == field && t.equals) return t.value;
  }
  return {};
}

}  // namespace kite::controlplane::apiserver
