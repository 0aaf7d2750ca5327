// node-ipam: every node gets spec.podCIDR and spec.podCIDRs, a /nodeCidrMaskSize of the
// cluster CIDR (upstream's range allocator). Subnets in use are recovered from the nodes at
// start, so assignments survive restarts, and a deleted node's subnet is freed.

#include <spdlog/spdlog.h>

#include <map>

#include "cluster_cidr.h"
#include "cluster_controller_base.h"
#include "cluster_controllers.h"
#include "kite/api/core/v1/types.h"

namespace kite::controlplane::controllers {

namespace {

namespace corev1 = api::core::v1;

class NodeIpamController final : public ClusterControllerBase {
 public:
  NodeIpamController(client::Client& client,
                     const std::shared_ptr<client::SharedInformers>& informers,
                     const ClusterControllerOptions& options)
      : ClusterControllerBase("node-ipam", options.syncTimeout, informers),
        client_(client),
        allocator_(options.clusterCidr, options.nodeCidrMaskSize),
        nodes_(informers->get<corev1::Node>()) {
    auto onNode = [this](const corev1::Node& n) { queue().add(n.metadata.name); };
    nodes_.addEventHandler({
        .onAdd = onNode,
        .onUpdate = [onNode](const corev1::Node&, const corev1::Node& n) { onNode(n); },
        .onDelete = onNode,
    });
    watch(nodes_);
  }
  ~NodeIpamController() override { stop(); }
  NodeIpamController(const NodeIpamController&) = delete;
  NodeIpamController& operator=(const NodeIpamController&) = delete;

 protected:
  void onSynced() override {
    // Before handing out anything: what the existing nodes hold.
    for (const auto& n : nodes_.cache().list()) {
      if (!n->spec.podCIDR.empty()) occupy(n->metadata.name, n->spec.podCIDR);
    }
  }

  void sync(const std::string& name) override {
    const auto node = nodes_.cache().get("", name);
    if (!node) {
      if (const auto it = assigned_.find(name); it != assigned_.end()) {
        allocator_.release(it->second);
        assigned_.erase(it);
      }
      return;
    }
    if (!node->spec.podCIDR.empty()) {
      occupy(name, node->spec.podCIDR);
      return;
    }
    if (const auto it = assigned_.find(name); it != assigned_.end()) {
      // Patched already; the cache has not caught up (or the patch failed: try again).
      patch(name, it->second);
      return;
    }
    const auto cidr = allocator_.allocate();
    if (!cidr) {
      spdlog::warn("node-ipam controller: no pod CIDR left for node {} (cluster CIDR exhausted)",
                   name);
      return;
    }
    assigned_[name] = *cidr;
    patch(name, *cidr);
    spdlog::info("node-ipam controller: node {} gets pod CIDR {}", name, *cidr);
  }

 private:
  void occupy(const std::string& node, const std::string& cidr) {
    if (!allocator_.occupy(cidr)) {
      spdlog::warn("node-ipam controller: node {} has pod CIDR {} outside the cluster CIDR", node,
                   cidr);
      return;
    }
    assigned_[node] = cidr;
  }

  void patch(const std::string& node, const std::string& cidr) {
    // The CIDR is ours (digits, dots and a slash): no escaping needed.
    const std::string body =
        R"({"spec":{"podCIDR":")" + cidr + R"(","podCIDRs":[")" + cidr + R"("]}})";
    try {
      client_.patch<corev1::Node>("", node, client::PatchType::Merge, body);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
    }
  }

  client::Client& client_;
  ClusterCidrAllocator allocator_;
  client::Informer<corev1::Node>& nodes_;
  std::map<std::string, std::string> assigned_;  // node -> CIDR; the worker thread's only
};

}  // namespace

std::unique_ptr<Controller> newNodeIpamController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options) {
  return std::make_unique<NodeIpamController>(client, informers, options);
}

}  // namespace kite::controlplane::controllers
