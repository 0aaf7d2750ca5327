// service-lb (k3s's ServiceLB, without its per-node proxy pods): a Service of type
// LoadBalancer without a loadBalancerClass gets status.loadBalancer.ingress = the InternalIPs
// of the Ready nodes (the kubelet's Service proxy answers NodePorts and external IPs on every
// node). The status is cleared when the Service stops being a LoadBalancer.

#include <spdlog/spdlog.h>

#include <set>

#include "cluster_controller_base.h"
#include "cluster_controllers.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/meta.h"

namespace kite::controlplane::controllers {

namespace {

namespace corev1 = api::core::v1;

bool isOurs(const corev1::Service& s) {
  return s.spec.type == "LoadBalancer" && !s.spec.loadBalancerClass;
}

class ServiceLbController final : public ClusterControllerBase {
 public:
  ServiceLbController(client::Client& client,
                      const std::shared_ptr<client::SharedInformers>& informers,
                      const ClusterControllerOptions& options)
      : ClusterControllerBase("service-lb", options.syncTimeout, informers),
        client_(client),
        services_(informers->get<corev1::Service>()),
        nodes_(informers->get<corev1::Node>()) {
    auto onService = [this](const corev1::Service& s) { queue().add(api::fullName(s.metadata)); };
    services_.addEventHandler({
        .onAdd = onService,
        .onUpdate = [onService](const corev1::Service&, const corev1::Service& s) { onService(s); },
    });
    auto onNode = [this](const corev1::Node&) {
      for (const auto& s : services_.cache().list()) {
        if (isOurs(*s)) queue().add(api::fullName(s->metadata));
      }
    };
    nodes_.addEventHandler({
        .onAdd = onNode,
        .onUpdate =
            [onNode](const corev1::Node& old, const corev1::Node& n) {
              if (old.status.addresses != n.status.addresses ||
                  old.status.conditions != n.status.conditions) {
                onNode(n);
              }
            },
        .onDelete = onNode,
    });
    watch(services_);
    watch(nodes_);
  }
  ~ServiceLbController() override { stop(); }
  ServiceLbController(const ServiceLbController&) = delete;
  ServiceLbController& operator=(const ServiceLbController&) = delete;

 protected:
  void sync(const std::string& key) override {
    const auto slash = key.find('/');
    const auto service = services_.cache().get(key.substr(0, slash), key.substr(slash + 1));
    if (!service) return;
    std::vector<corev1::LoadBalancerIngress> want;
    if (isOurs(*service)) {
      for (const auto& ip : nodeAddresses()) {
        corev1::LoadBalancerIngress ingress;
        ingress.ip = ip;
        ingress.ipMode = "VIP";
        want.push_back(std::move(ingress));
      }
    } else if (service->spec.loadBalancerClass) {
      return;  // another load balancer's
    }
    if (service->status.loadBalancer.ingress == want) return;
    auto updated = *service;
    updated.status.loadBalancer.ingress = std::move(want);
    client_.updateStatus(updated);
  }

 private:
  // The InternalIPs of the Ready nodes (of every node when none is Ready), sorted.
  std::set<std::string> nodeAddresses() const {
    std::set<std::string> ready;
    std::set<std::string> all;
    for (const auto& n : nodes_.cache().list()) {
      const auto* cond = api::findCondition(n->status.conditions, "Ready");
      for (const auto& a : n->status.addresses) {
        if (a.type != "InternalIP") continue;
        all.insert(a.address);
        if (cond != nullptr && cond->status == "True") ready.insert(a.address);
      }
    }
    return ready.empty() ? all : ready;
  }

  client::Client& client_;
  client::Informer<corev1::Service>& services_;
  client::Informer<corev1::Node>& nodes_;
};

}  // namespace

std::unique_ptr<Controller> newServiceLbController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options) {
  return std::make_unique<ServiceLbController>(client, informers, options);
}

}  // namespace kite::controlplane::controllers
