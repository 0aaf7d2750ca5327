// serviceaccount: every active namespace has a ServiceAccount named `default` (pods run as it
// unless they say otherwise); it is created when the namespace appears and again if deleted.

#include <spdlog/spdlog.h>

#include "cluster_controller_base.h"
#include "cluster_controllers.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/meta.h"

namespace kite::controlplane::controllers {

namespace {

namespace corev1 = api::core::v1;

constexpr const char* kDefaultServiceAccount = "default";

class ServiceAccountController final : public ClusterControllerBase {
 public:
  ServiceAccountController(client::Client& client,
                           const std::shared_ptr<client::SharedInformers>& informers,
                           const ClusterControllerOptions& options)
      : ClusterControllerBase("serviceaccount", options.syncTimeout, informers),
        client_(client),
        namespaces_(informers->get<corev1::Namespace>()),
        accounts_(informers->get<corev1::ServiceAccount>()) {
    namespaces_.addEventHandler({
        .onAdd = [this](const corev1::Namespace& ns) { queue().add(ns.metadata.name); },
        .onUpdate = [this](const corev1::Namespace&,
                           const corev1::Namespace& ns) { queue().add(ns.metadata.name); },
    });
    accounts_.addEventHandler({
        .onDelete =
            [this](const corev1::ServiceAccount& sa) {
              if (sa.metadata.name == kDefaultServiceAccount) queue().add(sa.metadata.namespace_);
            },
    });
    watch(namespaces_);
    watch(accounts_);
  }
  ~ServiceAccountController() override { stop(); }
  ServiceAccountController(const ServiceAccountController&) = delete;
  ServiceAccountController& operator=(const ServiceAccountController&) = delete;

 protected:
  void sync(const std::string& ns) override {
    const auto namespace_ = namespaces_.cache().get("", ns);
    if (!namespace_ || api::isBeingDeleted(namespace_->metadata)) return;
    if (accounts_.cache().get(ns, kDefaultServiceAccount)) return;
    corev1::ServiceAccount sa;
    sa.metadata.name = kDefaultServiceAccount;
    sa.metadata.namespace_ = ns;
    try {
      client_.create(sa);
      spdlog::info("serviceaccount controller: created {}/default", ns);
    } catch (const client::ApiError& e) {
      // Already there (the cache lags) or the namespace is terminating: nothing to do.
      if (!e.isAlreadyExists() && !e.isForbidden() && !e.isNotFound()) throw;
    }
  }

 private:
  client::Client& client_;
  client::Informer<corev1::Namespace>& namespaces_;
  client::Informer<corev1::ServiceAccount>& accounts_;
};

}  // namespace

std::unique_ptr<Controller> newServiceAccountController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options) {
  return std::make_unique<ServiceAccountController>(client, informers, options);
}

}  // namespace kite::controlplane::controllers
