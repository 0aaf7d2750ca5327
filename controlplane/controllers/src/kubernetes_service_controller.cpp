// kubernetes-service: the `kubernetes` Service in `default` (ClusterIP: the first Service IP,
// port 443 "https" to the API server's port) with its Endpoints and EndpointSlice naming the
// API server's address, as upstream's API server keeps them. Checked when they change and
// every ten seconds.

#include <spdlog/spdlog.h>

#include "cluster_cidr.h"
#include "cluster_controller_base.h"
#include "cluster_controllers.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/discovery/v1/types.h"

namespace kite::controlplane::controllers {

namespace {

namespace corev1 = api::core::v1;
namespace discoveryv1 = api::discovery::v1;

constexpr const char* kName = "kubernetes";
constexpr const char* kNamespace = "default";
constexpr auto kRepairPeriod = std::chrono::seconds(10);

class KubernetesServiceController final : public ClusterControllerBase {
 public:
  KubernetesServiceController(client::Client& client,
                              const std::shared_ptr<client::SharedInformers>& informers,
                              const ClusterControllerOptions& options)
      : ClusterControllerBase("kubernetes-service", options.syncTimeout, informers),
        client_(client),
        clusterIp_(clusterFirstServiceIp(options.serviceCidr)),
        address_(options.apiserverAddress),
        port_(options.apiserverPort),
        services_(client, kNamespace) {
    services_.addEventHandler({
        .onUpdate = [this](const corev1::Service&,
                           const corev1::Service& s) { onChange(s.metadata.name); },
        .onDelete = [this](const corev1::Service& s) { onChange(s.metadata.name); },
    });
    watch(services_);
  }
  ~KubernetesServiceController() override { stop(); }
  KubernetesServiceController(const KubernetesServiceController&) = delete;
  KubernetesServiceController& operator=(const KubernetesServiceController&) = delete;

 protected:
  void onSynced() override { queue().add(kName); }

  void sync(const std::string&) override {
    // Repaired periodically too: someone may edit or delete the Endpoints or the slice.
    queue().addAfter(kName, kRepairPeriod);
    ensureService();
    ensureEndpoints();
    ensureEndpointSlice();
  }

 private:
  void onChange(const std::string& name) {
    if (name == kName) queue().add(kName);
  }

  void ensureService() {
    corev1::ServicePort port;
    port.name = "https";
    port.protocol = "TCP";
    port.port = 443;
    port.targetPort = port_;
    if (const auto current = services_.cache().get(kNamespace, kName)) {
      if (current->spec.ports.size() == 1 && current->spec.ports[0].name == port.name &&
          current->spec.ports[0].port == port.port &&
          current->spec.ports[0].targetPort == port.targetPort) {
        return;
      }
      corev1::Service s = *current;
      port.nodePort = 0;
      s.spec.ports = {port};
      client_.update(s);
      return;
    }
    corev1::Service s;
    s.metadata.name = kName;
    s.metadata.namespace_ = kNamespace;
    s.metadata.labels = {{"component", "apiserver"}, {"provider", "kubernetes"}};
    s.spec.type = "ClusterIP";
    s.spec.clusterIP = clusterIp_;
    s.spec.sessionAffinity = "None";
    s.spec.ports = {port};
    try {
      client_.create(s);
      spdlog::info("kubernetes-service controller: created default/kubernetes ({})", clusterIp_);
    } catch (const client::ApiError& e) {
      if (!e.isAlreadyExists()) throw;
    }
  }

  void ensureEndpoints() {
    corev1::EndpointSubset subset;
    corev1::EndpointAddress address;
    address.ip = address_;
    subset.addresses = {address};
    corev1::EndpointPort port;
    port.name = "https";
    port.port = port_;
    port.protocol = "TCP";
    subset.ports = {port};
    try {
      auto current = client_.get<corev1::Endpoints>(kNamespace, kName);
      if (current.subsets.size() == 1 && current.subsets[0] == subset) return;
      current.subsets = {subset};
      client_.update(current);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
      corev1::Endpoints ep;
      ep.metadata.name = kName;
      ep.metadata.namespace_ = kNamespace;
      ep.metadata.labels = {{"endpointslice.kubernetes.io/skip-mirror", "true"}};
      ep.subsets = {subset};
      client_.create(ep);
    }
  }

  void ensureEndpointSlice() {
    discoveryv1::Endpoint endpoint;
    endpoint.addresses = {address_};
    endpoint.conditions.ready = true;
    discoveryv1::EndpointPort port;
    port.name = "https";
    port.port = port_;
    port.protocol = "TCP";
    try {
      auto current = client_.get<discoveryv1::EndpointSlice>(kNamespace, kName);
      if (current.addressType == "IPv4" && current.endpoints.size() == 1 &&
          current.endpoints[0] == endpoint && current.ports.size() == 1 &&
          current.ports[0] == port) {
        return;
      }
      current.endpoints = {endpoint};
      current.ports = {port};
      client_.update(current);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
      discoveryv1::EndpointSlice slice;
      slice.metadata.name = kName;
      slice.metadata.namespace_ = kNamespace;
      slice.metadata.labels = {{"kubernetes.io/service-name", kName}};
      slice.addressType = "IPv4";
      slice.endpoints = {endpoint};
      slice.ports = {port};
      client_.create(slice);
    }
  }

  client::Client& client_;
  std::string clusterIp_;
  std::string address_;
  int port_;
  client::Informer<corev1::Service> services_;
};

}  // namespace

std::unique_ptr<Controller> newKubernetesServiceController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options) {
  return std::make_unique<KubernetesServiceController>(client, informers, options);
}

}  // namespace kite::controlplane::controllers
