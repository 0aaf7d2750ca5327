// The whole proxy table, and the commands that turn one state into another: only the changed
// Service ports are rendered and compared, so an endpoint change of a plain port is a few
// map element commands whatever the number of Services (nft_rules.h has the layout).

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "kite/proxy/nft_rules.h"
#include "nft_text.h"

namespace kite::proxy::nft {

using text::joined;
using text::line;
using text::prefix;

namespace {

// Everything of a state, merged over its Service ports.
ServicePortRender renderAll(const DesiredState& state, const RulesOptions& options) {
  ServicePortRender all;
  for (const auto& [key, port] : state.services) {
    auto r = renderServicePort(port, options);
    for (auto& [map, elements] : r.elements) {
      auto& into = all.elements[map];
      into.insert(into.end(), elements.begin(), elements.end());
    }
    all.chains.merge(r.chains);
    all.sets.merge(r.sets);
    all.hairpin.merge(r.hairpin);
  }
  return all;
}

void renderElements(std::ostringstream& out, const std::string& verb, const std::string& map,
                    const std::vector<std::string>& elements) {
  if (elements.empty()) return;
  line(out, verb, " element ", prefix(), " ", map, " { ", joined(elements), " }");
}

// "a . a" for each address, into the hairpin set of its family.
void renderHairpin(std::ostringstream& out, const std::string& verb,
                   const std::set<std::string>& addresses) {
  for (const auto* family : {&text::kIPv4, &text::kIPv6}) {
    std::vector<std::string> elements;
    for (const auto& ip : addresses) {
      if (&text::familyOf(ip) != family) continue;
      std::string element = ip;
      element += " . ";
      element += ip;
      elements.push_back(std::move(element));
    }
    renderElements(out, verb, text::named(text::kHairpinSet, *family), elements);
  }
}

void addRules(std::ostringstream& out, const std::string& chain,
              const std::vector<std::string>& rules) {
  for (const auto& rule : rules) line(out, "add rule ", prefix(), " ", chain, " ", rule);
}

// "key : verdict" -> "key".
std::string keyOf(const std::string& element) { return element.substr(0, element.find(" : ")); }

// The addresses of `gone` no endpoint of `state` has any more.
std::set<std::string> hairpinUnused(std::set<std::string> gone, const DesiredState& state) {
  if (gone.empty()) return gone;
  for (const auto& [key, port] : state.services) {
    for (const auto& e : port.endpoints) gone.erase(e.ip);
    if (gone.empty()) break;
  }
  return gone;
}

}  // namespace

std::string renderFull(const DesiredState& state, const RulesOptions& options) {
  std::ostringstream out;
  const std::string t = prefix();
  line(out, "add table ", t);
  line(out, "delete table ", t);
  line(out, "add table ", t);
  text::renderBase(out, options);
  const auto all = renderAll(state, options);
  for (const auto& [name, definition] : all.sets)
    line(out, "add set ", t, " ", name, " ", definition);
  for (const auto& [name, rules] : all.chains) line(out, "add chain ", t, " ", name);
  for (const auto& [name, rules] : all.chains) addRules(out, name, rules);
  for (const auto& [map, elements] : all.elements) renderElements(out, "add", map, elements);
  renderHairpin(out, "add", all.hairpin);
  return out.str();
}

ChangedPorts changedPorts(const DesiredState& applied, const DesiredState& next) {
  ChangedPorts changed;
  auto& before = changed.before;
  auto& after = changed.after;
  // Both maps are sorted by key: one pass over them side by side, each port compared once
  // (this pass is the part of an endpoint change that grows with the number of Services).
  auto a = applied.services.begin();
  auto n = next.services.begin();
  while (a != applied.services.end() || n != next.services.end()) {
    if (n == next.services.end() || (a != applied.services.end() && a->first < n->first)) {
      before.services.insert(*a++);
    } else if (a == applied.services.end() || n->first < a->first) {
      after.services.insert(*n++);
    } else {
      if (!(a->second == n->second)) {
        before.services.insert(*a);
        after.services.insert(*n);
      }
      ++a;
      ++n;
    }
  }
  return changed;
}

std::string renderChanges(const DesiredState& applied, const DesiredState& next,
                          const RulesOptions& options) {
  return renderChanges(changedPorts(applied, next), next, options);
}

ChangedPorts changedPorts(const DesiredState& applied, const DesiredState& next,
                          const std::vector<std::string>& keys) {
  ChangedPorts changed;
  for (const auto& key : keys) {
    const auto a = applied.services.find(key);
    const auto n = next.services.find(key);
    const bool inApplied = a != applied.services.end();
    const bool inNext = n != next.services.end();
    if (inApplied && inNext && a->second == n->second) continue;
    if (inApplied) changed.before.services.insert(*a);
    if (inNext) changed.after.services.insert(*n);
  }
  return changed;
}

namespace {

// `address` as a number when it is IPv4.
std::optional<std::uint32_t> ipv4Of(const std::string& address) {
  in_addr parsed{};
  if (inet_pton(AF_INET, address.c_str(), &parsed) != 1) return std::nullopt;
  return parsed.s_addr;
}

template <class Map, class Key>
void count(Map& counts, const Key& key, bool add) {
  if (add) {
    ++counts[key];
  } else if (const auto it = counts.find(key); it != counts.end() && --it->second == 0) {
    counts.erase(it);
  }
}

}  // namespace

void HairpinCounts::adjust(const ServicePortState& port, bool add) {
  // Endpoints are sorted by address: each address of the port counts once.
  const std::string* previous = nullptr;
  for (const auto& e : port.endpoints) {
    if (previous != nullptr && *previous == e.ip) continue;
    previous = &e.ip;
    if (const auto v4 = ipv4Of(e.ip)) {
      count(ipv4_, *v4, add);
    } else {
      count(other_, e.ip, add);
    }
  }
}

bool HairpinCounts::has(const std::string& address) const {
  if (const auto v4 = ipv4Of(address)) return ipv4_.contains(*v4);
  return other_.contains(address);
}

void HairpinCounts::add(const DesiredState& ports) {
  for (const auto& [key, port] : ports.services) adjust(port, true);
}

void HairpinCounts::remove(const DesiredState& ports) {
  for (const auto& [key, port] : ports.services) adjust(port, false);
}

namespace {

template <class Unused>
std::string renderChangesWith(const ChangedPorts& changed, const RulesOptions& options,
                              const Unused& unused) {
  // Only the Service ports that changed are rendered and compared.
  const auto& before = changed.before;
  const auto& after = changed.after;
  if (before.services.empty() && after.services.empty()) return {};
  const auto old = renderAll(before, options);
  const auto now = renderAll(after, options);
  const std::string t = prefix();
  std::ostringstream out;

  std::set<std::string> hairpinGone;
  std::set<std::string> hairpinNew;
  for (const auto& ip : old.hairpin) {
    if (!now.hairpin.contains(ip)) hairpinGone.insert(ip);
  }
  for (const auto& ip : now.hairpin) {
    if (!old.hairpin.contains(ip)) hairpinNew.insert(ip);
  }
  hairpinGone = unused(std::move(hairpinGone));

  // 1. Map elements that go away or change (nothing points at the old chains after this).
  for (const auto& [map, elements] : old.elements) {
    const auto nowIt = now.elements.find(map);
    const std::set<std::string> keep =
        nowIt == now.elements.end()
            ? std::set<std::string>{}
            : std::set<std::string>(nowIt->second.begin(), nowIt->second.end());
    std::vector<std::string> gone;
    for (const auto& e : elements) {
      if (!keep.contains(e)) gone.push_back(keyOf(e));
    }
    renderElements(out, "delete", map, gone);
  }
  renderHairpin(out, "delete", hairpinGone);
  // 2. Flush chains that change or go away, then delete the ones that go, and their sets.
  for (const auto& [name, rules] : old.chains) {
    const auto it = now.chains.find(name);
    if (it == now.chains.end() || it->second != rules) line(out, "flush chain ", t, " ", name);
  }
  for (const auto& [name, rules] : old.chains) {
    if (!now.chains.contains(name)) line(out, "delete chain ", t, " ", name);
  }
  for (const auto& [name, definition] : old.sets) {
    const auto it = now.sets.find(name);
    if (it == now.sets.end() || it->second != definition) line(out, "delete set ", t, " ", name);
  }
  // 3. New or changed sets and chains, then their rules.
  for (const auto& [name, definition] : now.sets) {
    const auto it = old.sets.find(name);
    if (it == old.sets.end() || it->second != definition) {
      line(out, "add set ", t, " ", name, " ", definition);
    }
  }
  for (const auto& [name, rules] : now.chains) {
    if (!old.chains.contains(name)) line(out, "add chain ", t, " ", name);
  }
  for (const auto& [name, rules] : now.chains) {
    const auto it = old.chains.find(name);
    if (it == old.chains.end() || it->second != rules) addRules(out, name, rules);
  }
  // 4. Map elements that are new or changed.
  for (const auto& [map, elements] : now.elements) {
    const auto oldIt = old.elements.find(map);
    const std::set<std::string> had =
        oldIt == old.elements.end()
            ? std::set<std::string>{}
            : std::set<std::string>(oldIt->second.begin(), oldIt->second.end());
    std::vector<std::string> added;
    for (const auto& e : elements) {
      if (!had.contains(e)) added.push_back(e);
    }
    renderElements(out, "add", map, added);
  }
  renderHairpin(out, "add", hairpinNew);
  return out.str();
}

}  // namespace

std::string renderChanges(const ChangedPorts& changed, const DesiredState& next,
                          const RulesOptions& options) {
  return renderChangesWith(changed, options, [&](std::set<std::string> gone) {
    return hairpinUnused(std::move(gone), next);
  });
}

std::string renderChanges(const ChangedPorts& changed, const HairpinCounts& next,
                          const RulesOptions& options) {
  return renderChangesWith(changed, options, [&](std::set<std::string> gone) {
    std::erase_if(gone, [&](const std::string& ip) { return next.has(ip); });
    return gone;
  });
}

std::string renderCleanup() {
  const std::string t = prefix();
  return "add table " + t + "\ndelete table " + t + "\n";
}

}  // namespace kite::proxy::nft
