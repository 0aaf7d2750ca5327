// root-ca-cert-publisher: every active namespace has the ConfigMap kube-root-ca.crt whose key
// ca.crt is the CA clients verify the API server with (projected service-account volumes
// mount it). Edits are reverted and a deleted ConfigMap comes back.

#include <spdlog/spdlog.h>

#include "cluster_controller_base.h"
#include "cluster_controllers.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/meta.h"

namespace kite::controlplane::controllers {

namespace {

namespace corev1 = api::core::v1;

constexpr const char* kConfigMapName = "kube-root-ca.crt";
constexpr const char* kKey = "ca.crt";

class RootCaPublisher final : public ClusterControllerBase {
 public:
  RootCaPublisher(client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
                  const ClusterControllerOptions& options)
      : ClusterControllerBase("root-ca-cert-publisher", options.syncTimeout, informers),
        client_(client),
        caPem_(options.rootCaPem),
        namespaces_(informers->get<corev1::Namespace>()),
        configMaps_(informers->get<corev1::ConfigMap>()) {
    namespaces_.addEventHandler({
        .onAdd = [this](const corev1::Namespace& ns) { queue().add(ns.metadata.name); },
        .onUpdate = [this](const corev1::Namespace&,
                           const corev1::Namespace& ns) { queue().add(ns.metadata.name); },
    });
    auto onConfigMap = [this](const corev1::ConfigMap& cm) {
      if (cm.metadata.name == kConfigMapName) queue().add(cm.metadata.namespace_);
    };
    configMaps_.addEventHandler({
        .onUpdate = [onConfigMap](const corev1::ConfigMap&,
                                  const corev1::ConfigMap& cm) { onConfigMap(cm); },
        .onDelete = onConfigMap,
    });
    watch(namespaces_);
    watch(configMaps_);
  }
  ~RootCaPublisher() override { stop(); }
  RootCaPublisher(const RootCaPublisher&) = delete;
  RootCaPublisher& operator=(const RootCaPublisher&) = delete;

 protected:
  void sync(const std::string& ns) override {
    const auto namespace_ = namespaces_.cache().get("", ns);
    if (!namespace_ || api::isBeingDeleted(namespace_->metadata)) return;
    const auto current = configMaps_.cache().get(ns, kConfigMapName);
    try {
      if (!current) {
        corev1::ConfigMap cm;
        cm.metadata.name = kConfigMapName;
        cm.metadata.namespace_ = ns;
        cm.data[kKey] = caPem_;
        client_.create(cm);
        return;
      }
      const auto it = current->data.find(kKey);
      if (it != current->data.end() && it->second == caPem_ && current->data.size() == 1 &&
          current->binaryData.empty()) {
        return;
      }
      corev1::ConfigMap cm = *current;
      cm.data = {{kKey, caPem_}};
      cm.binaryData.clear();
      client_.update(cm);
    } catch (const client::ApiError& e) {
      // AlreadyExists and Conflict: the cache lags, the next event brings the key back.
      if (e.isAlreadyExists() || e.isForbidden() || e.isNotFound()) return;
      throw;
    }
  }

 private:
  client::Client& client_;
  std::string caPem_;
  client::Informer<corev1::Namespace>& namespaces_;
  client::Informer<corev1::ConfigMap>& configMaps_;
};

}  // namespace

std::unique_ptr<Controller> newRootCaPublisher(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options) {
  return std::make_unique<RootCaPublisher>(client, informers, options);
}

}  // namespace kite::controlplane::controllers
