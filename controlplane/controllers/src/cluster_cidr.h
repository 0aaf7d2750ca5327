#pragma once
// IPv4 CIDR arithmetic the cluster controllers share: the first Service IP, and the allocator
// of per-node pod CIDRs (node IPAM).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kite::controlplane::controllers {

struct ClusterIpv4Cidr {
  std::uint32_t base = 0;
  int prefix = 0;

  // "10.42.0.0/16"; throws std::invalid_argument naming the text.
  static ClusterIpv4Cidr parse(std::string_view text);
  static std::optional<std::uint32_t> parseAddress(std::string_view text);
  static std::string formatAddress(std::uint32_t ip);

  std::uint64_t size() const { return std::uint64_t{1} << (32 - prefix); }
  std::string toString() const;
};

// The network address + 1 ("10.43.0.1" for 10.43.0.0/16): the `kubernetes` Service's IP.
std::string clusterFirstServiceIp(std::string_view serviceCidr);

// Hands out the subnets of size /maskSize of a cluster CIDR, lowest free first.
class ClusterCidrAllocator {
 public:
  // Throws std::invalid_argument when maskSize is not within [prefix, 30].
  ClusterCidrAllocator(std::string_view clusterCidr, int maskSize);

  // The next free subnet, marked used; nullopt when the range is exhausted.
  std::optional<std::string> allocate();
  // Marks a subnet used (recovery from existing nodes). False when it is not one of this
  // allocator's subnets (outside the range or of another size).
  bool occupy(std::string_view cidr);
  // Frees a subnet; unknown ones are ignored.
  void release(std::string_view cidr);
  std::size_t used() const;
  std::size_t capacity() const { return used_.size(); }

 private:
  std::optional<std::size_t> indexOf(std::string_view cidr) const;

  ClusterIpv4Cidr range_;
  int maskSize_;
  std::vector<bool> used_;
};

}  // namespace kite::controlplane::controllers
