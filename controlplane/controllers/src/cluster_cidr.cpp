#include "cluster_cidr.h"

#include <algorithm>
#include <stdexcept>

namespace kite::controlplane::controllers {

std::optional<std::uint32_t> ClusterIpv4Cidr::parseAddress(std::string_view text) {
  std::uint32_t value = 0;
  std::size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
    std::uint32_t octet = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      octet = octet * 10 + static_cast<std::uint32_t>(text[i] - '0');
      ++i;
      if (++digits > 3 || octet > 255) return std::nullopt;
    }
    if (digits == 0) return std::nullopt;
    value = (value << 8) | octet;
  }
  if (i != text.size()) return std::nullopt;
  return value;
}

std::string ClusterIpv4Cidr::formatAddress(std::uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
         std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255);
}

ClusterIpv4Cidr ClusterIpv4Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  const auto bad = [&] {
    return std::invalid_argument("invalid IPv4 CIDR \"" + std::string(text) + "\"");
  };
  if (slash == std::string_view::npos) throw bad();
  const auto address = parseAddress(text.substr(0, slash));
  const auto prefixText = text.substr(slash + 1);
  if (!address || prefixText.empty() || prefixText.size() > 2 ||
      prefixText.find_first_not_of("0123456789") != std::string_view::npos) {
    throw bad();
  }
  ClusterIpv4Cidr c;
  c.prefix = std::stoi(std::string(prefixText));
  if (c.prefix > 32) throw bad();
  const std::uint64_t mask = ~(c.size() - 1);
  c.base = static_cast<std::uint32_t>(*address & mask);
  return c;
}

std::string ClusterIpv4Cidr::toString() const {
  return formatAddress(base) + "/" + std::to_string(prefix);
}

std::string clusterFirstServiceIp(std::string_view serviceCidr) {
  const auto c = ClusterIpv4Cidr::parse(serviceCidr);
  return ClusterIpv4Cidr::formatAddress(c.base + 1);
}

ClusterCidrAllocator::ClusterCidrAllocator(std::string_view clusterCidr, int maskSize)
    : range_(ClusterIpv4Cidr::parse(clusterCidr)), maskSize_(maskSize) {
  if (maskSize < range_.prefix || maskSize > 30 || maskSize - range_.prefix > 16) {
    throw std::invalid_argument("node CIDR mask size /" + std::to_string(maskSize) +
                                " does not fit the cluster CIDR " + range_.toString());
  }
  used_.assign(std::size_t{1} << (maskSize - range_.prefix), false);
}

std::optional<std::size_t> ClusterCidrAllocator::indexOf(std::string_view cidr) const {
  ClusterIpv4Cidr c;
  try {
    c = ClusterIpv4Cidr::parse(cidr);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
  if (c.prefix != maskSize_ || c.base - range_.base >= range_.size() || c.base < range_.base) {
    return std::nullopt;
  }
  return (c.base - range_.base) >> (32 - maskSize_);
}

std::optional<std::string> ClusterCidrAllocator::allocate() {
  const auto it = std::find(used_.begin(), used_.end(), false);
  if (it == used_.end()) return std::nullopt;
  *it = true;
  const auto index = static_cast<std::uint32_t>(it - used_.begin());
  ClusterIpv4Cidr c;
  c.base = range_.base + (index << (32 - maskSize_));
  c.prefix = maskSize_;
  return c.toString();
}

bool ClusterCidrAllocator::occupy(std::string_view cidr) {
  const auto index = indexOf(cidr);
  if (!index) return false;
  used_[*index] = true;
  return true;
}

void ClusterCidrAllocator::release(std::string_view cidr) {
  if (const auto index = indexOf(cidr)) used_[*index] = false;
}

std::size_t ClusterCidrAllocator::used() const {
  return static_cast<std::size_t>(std::count(used_.begin(), used_.end(), true));
}

}  // namespace kite::controlplane::controllers
