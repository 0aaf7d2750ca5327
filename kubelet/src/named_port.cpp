#include "kite/kubelet/named_port.h"

#include <charconv>

namespace kite::kubelet {

int resolvePort(const api::IntOrString& port, const api::core::v1::Container& container) {
  if (port.isInt()) return port.intValue();
  for (const auto& p : container.ports) {
    if (p.name == port.strValue()) return p.containerPort;
  }
  // A number written as a string ("8080") is accepted as that number.
  int value = 0;
  const auto& text = port.strValue();
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() ? value : 0;
}

}  // namespace kite::kubelet
