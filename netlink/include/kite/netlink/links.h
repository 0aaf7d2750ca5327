#pragma once
// Links and their addresses through rtnetlink (RTM_NEWLINK / RTM_DELLINK / RTM_GETLINK,
// RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR): how the userspace proxy mode puts the Service
// addresses on a dummy interface of its own, so the node accepts connections to them and
// kite's listeners can bind them.
//
//   netlink::Links links;
//   links.addDummy("kite-svc0");  // no error when it is there already (or add(name, kind))
//   links.setUp("kite-svc0");
//   links.addAddress("kite-svc0", "10.43.0.10/32");
//   for (const auto& a : links.addresses("kite-svc0")) ...   // {"10.43.0.10/32"}
//   links.remove("kite-svc0");

#include <optional>
#include <string>
#include <vector>

#include "kite/netlink/socket.h"

namespace kite::netlink {

struct Link {
  int index = 0;
  std::string name{};
  std::string kind{};  // IFLA_INFO_KIND: "dummy", "veth"...; "" for a link without one (lo)
  bool up = false;     // IFF_UP
};

class Links {
 public:
  // Opens a NETLINK_ROUTE socket in the caller's network namespace.
  Links();

  // The link called `name`, or std::nullopt.
  std::optional<Link> find(const std::string& name);
  // Creates a link of `kind` ("dummy", "bridge"...) without further attributes; no error when
  // a link of that name and kind exists. Throws std::invalid_argument for a bad name,
  // std::system_error (EEXIST) when a link of another kind has the name, or the kernel's
  // refusal (EOPNOTSUPP when the kernel lacks that kind, as some VM kernels lack dummy).
  void add(const std::string& name, const std::string& kind);
  void addDummy(const std::string& name) { add(name, "dummy"); }
  // Sets the link up; throws std::system_error (ENODEV) when there is no such link.
  void setUp(const std::string& name);
  // Deletes the link (its addresses go with it); false when there was none.
  bool remove(const std::string& name);

  // Adds "ADDRESS/LENGTH" (scope global) to the link; no error when it is there already. IPv6
  // ones without duplicate address detection (nodad), so they can be bound at once.
  void addAddress(const std::string& link, const std::string& cidr);
  // Removes it; false when the link did not have it.
  bool removeAddress(const std::string& link, const std::string& cidr);
  // The link's addresses as "ADDRESS/LENGTH", IPv4 first.
  std::vector<std::string> addresses(const std::string& link);

 private:
  int indexOf(const std::string& name);
  Socket socket_;
};

}  // namespace kite::netlink
