#include "job_indexes.h"

#include <charconv>

namespace kite::controlplane::controllers {
namespace {

std::optional<int32_t> number(std::string_view s) {
  int32_t v = 0;
  const auto* end = s.data() + s.size();
  const auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end || v < 0) return std::nullopt;
  return v;
}

}  // namespace

std::set<int32_t> parseIndexes(std::string_view text, int32_t completions) {
  std::set<int32_t> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const auto dash = part.find('-');
    const auto first = number(part.substr(0, dash));
    const auto last = dash == std::string_view::npos ? first : number(part.substr(dash + 1));
    if (!first || !last || *first > *last) continue;
    for (int32_t i = *first; i <= *last && i < completions; ++i) out.insert(i);
  }
  return out;
}

std::string formatIndexes(const std::set<int32_t>& indexes) {
  std::string out;
  for (auto it = indexes.begin(); it != indexes.end();) {
    const int32_t first = *it;
    int32_t last = first;
    for (++it; it != indexes.end() && *it == last + 1; ++it) last = *it;
    if (!out.empty()) out += ',';
    out += std::to_string(first);
    if (last != first) out += '-' + std::to_string(last);
  }
  return out;
}

std::optional<int32_t> completionIndexOf(const api::core::v1::Pod& pod, int32_t completions) {
  const std::string key(kJobCompletionIndexKey);
  const auto& annotations = pod.metadata.annotations;
  const auto& labels = pod.metadata.labels;
  std::optional<int32_t> index;
  if (const auto it = annotations.find(key); it != annotations.end()) {
    index = number(it->second);
  } else if (const auto lt = labels.find(key); lt != labels.end()) {
    index = number(lt->second);
  }
  if (!index || *index >= completions) return std::nullopt;
  return index;
}

}  // namespace kite::controlplane::controllers
