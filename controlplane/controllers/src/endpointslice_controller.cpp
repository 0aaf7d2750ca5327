// endpointslice (and the legacy endpoints controller with it): for every Service with a
// selector, the EndpointSlices labelled kubernetes.io/service-name and managed by
// endpointslice-controller.k8s.io, owned by the Service, and the Endpoints object of the same
// name, computed from the selected pods (cluster_endpoints.h). Services without a selector are
// left alone (their endpoints are the user's).

#include <spdlog/spdlog.h>

#include <set>

#include "cluster_controller_base.h"
#include "cluster_controllers.h"
#include "cluster_endpoints.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/discovery/v1/types.h"
#include "kite/api/labels.h"
#include "kite/api/meta.h"

namespace kite::controlplane::controllers {

namespace {

namespace corev1 = api::core::v1;
namespace discoveryv1 = api::discovery::v1;

constexpr const char* kServiceNameLabel = "kubernetes.io/service-name";
constexpr const char* kManagedByLabel = "endpointslice.kubernetes.io/managed-by";
constexpr const char* kManagedBy = "endpointslice-controller.k8s.io";
constexpr const char* kHeadlessLabel = "service.kubernetes.io/headless";

class EndpointSliceController final : public ClusterControllerBase {
 public:
  EndpointSliceController(client::Client& client,
                          const std::shared_ptr<client::SharedInformers>& informers,
                          const ClusterControllerOptions& options)
      : ClusterControllerBase("endpointslice", options.syncTimeout, informers),
        client_(client),
        services_(informers->get<corev1::Service>()),
        pods_(informers->get<corev1::Pod>()) {
    auto onService = [this](const corev1::Service& s) { queue().add(api::fullName(s.metadata)); };
    services_.addEventHandler({
        .onAdd = onService,
        .onUpdate = [onService](const corev1::Service&, const corev1::Service& s) { onService(s); },
        .onDelete = onService,
    });
    pods_.addEventHandler({
        .onAdd = [this](const corev1::Pod& p) { enqueueServicesOf(p); },
        .onUpdate =
            [this](const corev1::Pod& old, const corev1::Pod& p) {
              enqueueServicesOf(p);
              if (old.metadata.labels != p.metadata.labels) enqueueServicesOf(old);
            },
        .onDelete = [this](const corev1::Pod& p) { enqueueServicesOf(p); },
    });
    watch(services_);
    watch(pods_);
  }
  ~EndpointSliceController() override { stop(); }
  EndpointSliceController(const EndpointSliceController&) = delete;
  EndpointSliceController& operator=(const EndpointSliceController&) = delete;

 protected:
  void sync(const std::string& key) override {
    const auto slash = key.find('/');
    const std::string ns = key.substr(0, slash);
    const std::string name = key.substr(slash + 1);
    const auto service = services_.cache().get(ns, name);
    if (!service) {
      removeAll(ns, name);
      return;
    }
    if (service->spec.selector.empty() || service->spec.type == "ExternalName") return;
    const auto selector = api::labels::Selector::fromSet(service->spec.selector);
    const auto podPtrs = pods_.cache().list(ns, selector);
    std::vector<const corev1::Pod*> pods;
    pods.reserve(podPtrs.size());
    for (const auto& p : podPtrs) pods.push_back(p.get());
    syncSlices(*service, clusterComputeEndpointSlices(*service, pods));
    syncEndpoints(*service, clusterComputeEndpointSubsets(*service, pods));
  }

 private:
  void enqueueServicesOf(const corev1::Pod& pod) {
    for (const auto& s : services_.cache().list(pod.metadata.namespace_)) {
      if (s->spec.selector.empty()) continue;
      if (api::labels::Selector::fromSet(s->spec.selector).matches(pod.metadata.labels)) {
        queue().add(api::fullName(s->metadata));
      }
    }
  }

  static std::string sliceSelector(const std::string& service) {
    return std::string(kServiceNameLabel) + "=" + service + "," + kManagedByLabel + "=" +
           kManagedBy;
  }

  void removeAll(const std::string& ns, const std::string& name) {
    for (const auto& s :
         client_.list<discoveryv1::EndpointSlice>(ns, {.labelSelector = sliceSelector(name)})
             .items) {
      deleteIgnoringNotFound<discoveryv1::EndpointSlice>(ns, s.metadata.name);
    }
    try {
      // Only the Endpoints this controller wrote (a selector-less Service's are the user's, but
      // once the Service is gone nothing uses them either; upstream deletes them as well).
      client_.remove<corev1::Endpoints>(ns, name);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
    }
  }

  template <class T>
  void deleteIgnoringNotFound(const std::string& ns, const std::string& name) {
    try {
      client_.remove<T>(ns, name);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
    }
  }

  static std::map<std::string, std::string> labelsFor(const corev1::Service& service) {
    auto labels = service.metadata.labels;
    labels[kServiceNameLabel] = service.metadata.name;
    labels[kManagedByLabel] = kManagedBy;
    if (service.spec.clusterIP == "None") labels[kHeadlessLabel] = "";
    return labels;
  }

  void syncSlices(const corev1::Service& service, std::vector<discoveryv1::EndpointSlice> desired) {
    const auto& ns = service.metadata.namespace_;
    if (desired.empty()) {
      // Upstream keeps one empty slice, so consumers see the Service has no endpoints.
      discoveryv1::EndpointSlice placeholder;
      placeholder.addressType = "IPv4";
      desired.push_back(std::move(placeholder));
    }
    auto existing = client_
                        .list<discoveryv1::EndpointSlice>(
                            ns, {.labelSelector = sliceSelector(service.metadata.name)})
                        .items;
    api::meta::v1::OwnerReference owner;
    owner.apiVersion = "v1";
    owner.kind = "Service";
    owner.name = service.metadata.name;
    owner.uid = service.metadata.uid;
    owner.controller = true;
    owner.blockOwnerDeletion = true;
    const auto labels = labelsFor(service);

    std::set<std::size_t> used;
    for (auto& want : desired) {
      // Reuse the slice with the same ports (else any unused one) so names stay stable.
      std::optional<std::size_t> match;
      for (std::size_t i = 0; i < existing.size(); ++i) {
        if (used.contains(i) || existing[i].addressType != "IPv4") continue;
        if (existing[i].ports == want.ports) {
          match = i;
          break;
        }
        if (!match) match = i;
      }
      if (!match) {
        want.metadata.generateName = service.metadata.name + "-";
        want.metadata.namespace_ = ns;
        want.metadata.labels = labels;
        want.metadata.ownerReferences = {owner};
        client_.create(want);
        continue;
      }
      used.insert(*match);
      auto& have = existing[*match];
      if (have.endpoints == want.endpoints && have.ports == want.ports &&
          have.metadata.labels == labels && have.metadata.ownerReferences.size() == 1 &&
          have.metadata.ownerReferences[0] == owner) {
        continue;
      }
      have.endpoints = std::move(want.endpoints);
      have.ports = std::move(want.ports);
      have.metadata.labels = labels;
      have.metadata.ownerReferences = {owner};
      client_.update(have);
    }
    for (std::size_t i = 0; i < existing.size(); ++i) {
      if (!used.contains(i)) {
        deleteIgnoringNotFound<discoveryv1::EndpointSlice>(ns, existing[i].metadata.name);
      }
    }
  }

  void syncEndpoints(const corev1::Service& service, std::vector<corev1::EndpointSubset> subsets) {
    const auto& ns = service.metadata.namespace_;
    auto labels = service.metadata.labels;
    if (service.spec.clusterIP == "None") labels[kHeadlessLabel] = "";
    try {
      auto current = client_.get<corev1::Endpoints>(ns, service.metadata.name);
      if (current.subsets == subsets && current.metadata.labels == labels) return;
      current.subsets = std::move(subsets);
      current.metadata.labels = std::move(labels);
      client_.update(current);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
      corev1::Endpoints ep;
      ep.metadata.name = service.metadata.name;
      ep.metadata.namespace_ = ns;
      ep.metadata.labels = std::move(labels);
      ep.subsets = std::move(subsets);
      client_.create(ep);
    }
  }

  client::Client& client_;
  client::Informer<corev1::Service>& services_;
  client::Informer<corev1::Pod>& pods_;
};

}  // namespace

std::unique_ptr<Controller> newEndpointSliceController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options) {
  return std::make_unique<EndpointSliceController>(client, informers, options);
}

}  // namespace kite::controlplane::controllers
