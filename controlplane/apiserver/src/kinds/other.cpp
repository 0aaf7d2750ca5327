// Kinds of the smaller groups: coordination.k8s.io Lease, discovery.k8s.io EndpointSlice.
#include <string>

#include "../registry.h"
#include "kite/api/coordination/v1/types.h"
#include "kite/api/discovery/v1/types.h"

namespace kite::controlplane::apiserver {

namespace {
namespace coordv1 = api::coordination::v1;
namespace discv1 = api::discovery::v1;
}  // namespace

void addOtherKinds(Registry& r) {
  KindHooks<coordv1::Lease> lease;
  lease.columns = {{"Holder", "string", "", "", 0}, ageColumn()};
  lease.row = [](const coordv1::Lease& l, TimePoint now) -> std::vector<TableCell> {
    return {l.spec.holderIdentity.value_or(""), humanAge(creationTime(l.metadata), now)};
  };
  r.add(std::make_unique<TypedResource<coordv1::Lease>>(
      builtinInfo("coordination.k8s.io", "v1", "leases"), std::move(lease)));

  KindHooks<discv1::EndpointSlice> slice;
  slice.columns = {{"AddressType", "string", "", "", 0},
                   {"Ports", "string", "", "", 0},
                   {"Endpoints", "string", "", "", 0},
                   ageColumn()};
  slice.row = [](const discv1::EndpointSlice& s, TimePoint now) -> std::vector<TableCell> {
    std::string ports;
    for (const auto& p : s.ports) {
      if (!ports.empty()) ports.push_back(',');
      ports += p.port ? std::to_string(*p.port) : std::string("<unset>");
    }
    std::string eps;
    std::size_t n = 0;
    for (const auto& e : s.endpoints) {
      for (const auto& a : e.addresses) {
        if (n < 3) {
          if (!eps.empty()) eps.push_back(',');
          eps += a;
        }
        ++n;
      }
    }
    if (n > 3) eps += " + " + std::to_string(n - 3) + " more...";
    return {s.addressType, ports.empty() ? std::string("<unset>") : ports,
            eps.empty() ? std::string("<unset>") : eps, humanAge(creationTime(s.metadata), now)};
  };
  r.add(std::make_unique<TypedResource<discv1::EndpointSlice>>(
      builtinInfo("discovery.k8s.io", "v1", "endpointslices"), std::move(slice)));
}

}  // namespace kite::controlplane::apiserver
