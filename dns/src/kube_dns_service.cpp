// The kube-dns Service and its EndpointSlice of node addresses, applied by `kite server`.

#include "kite/dns/kube_dns_service.h"

#include <arpa/inet.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "kite/api/core/v1/types.h"
#include "kite/client/errors.h"
#include "kite/client/informer.h"

namespace kite::dns {
namespace {

namespace core = api::core::v1;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr const char* kNamespace = "kube-system";
constexpr const char* kServiceName = "kube-dns";
constexpr const char* kSliceName = "kube-dns-nodes";
constexpr const char* kFieldManager = "kite-server";
constexpr std::uint32_t kDnsHostIndex = 10;

void key(Writer& w, const char* name) { w.Key(name); }
void str(Writer& w, const char* name, const std::string& value) {
  w.Key(name);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

void metadata(Writer& w, const char* name,
              const std::vector<std::pair<const char*, const char*>>& labels) {
  key(w, "metadata");
  w.StartObject();
  str(w, "name", name);
  str(w, "namespace", kNamespace);
  key(w, "labels");
  w.StartObject();
  for (const auto& [k, v] : labels) str(w, k, v);
  w.EndObject();
  w.EndObject();
}

// The two DNS ports, as CoreDNS's kube-dns Service names them; `service` adds targetPort.
void dnsPorts(Writer& w, bool service) {
  key(w, "ports");
  w.StartArray();
  for (const auto& [name, protocol] : {std::pair{"dns", "UDP"}, std::pair{"dns-tcp", "TCP"}}) {
    w.StartObject();
    str(w, "name", name);
    str(w, "protocol", protocol);
    key(w, "port");
    w.Int(53);
    if (service) {
      key(w, "targetPort");
      w.Int(53);
    }
    w.EndObject();
  }
  w.EndArray();
}

std::vector<DnsNodeEndpoint> endpointsOf(const client::Cache<core::Node>& nodes) {
  std::vector<DnsNodeEndpoint> out;
  for (const auto& node : nodes.list()) {
    const auto& addresses = node->status.addresses;
    const auto internal = std::find_if(addresses.begin(), addresses.end(), [](const auto& a) {
      in_addr parsed{};
      return a.type == "InternalIP" && inet_pton(AF_INET, a.address.c_str(), &parsed) == 1;
    });
    if (internal == addresses.end()) continue;  // not registered with an address yet
    const auto& conditions = node->status.conditions;
    const bool ready = std::any_of(conditions.begin(), conditions.end(), [](const auto& c) {
      return c.type == "Ready" && c.status == "True";
    });
    out.push_back({node->metadata.name, internal->address, ready});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.nodeName < b.nodeName; });
  return out;
}

}  // namespace

std::string clusterDnsIP(std::string_view serviceCidr) {
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument("service CIDR " + std::string(serviceCidr) + ": " + why);
  };
  const auto slash = serviceCidr.find('/');
  if (slash == std::string_view::npos) throw bad("not in address/prefix notation");
  const std::string address(serviceCidr.substr(0, slash));
  in_addr base{};
  if (inet_pton(AF_INET, address.c_str(), &base) != 1) throw bad("not an IPv4 range");
  int prefix = -1;
  try {
    std::size_t used = 0;
    prefix = std::stoi(std::string(serviceCidr.substr(slash + 1)), &used);
    if (used != serviceCidr.size() - slash - 1) prefix = -1;
  } catch (const std::exception&) {
    prefix = -1;
  }
  if (prefix < 0 || prefix > 28) throw bad("prefix length must be 0 to 28");
  const std::uint32_t mask = prefix == 0 ? 0U : ~0U << (32 - prefix);
  in_addr dns{};
  dns.s_addr = htonl((ntohl(base.s_addr) & mask) + kDnsHostIndex);
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &dns, text, sizeof text);
  return text;
}

std::string kubeDnsServiceJson(const std::string& clusterIP) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  str(w, "apiVersion", "v1");
  str(w, "kind", "Service");
  metadata(w, kServiceName,
           {{"k8s-app", "kube-dns"},
            {"kubernetes.io/cluster-service", "true"},
            {"kubernetes.io/name", "kite-dns"}});
  key(w, "spec");
  w.StartObject();
  str(w, "type", "ClusterIP");
  str(w, "clusterIP", clusterIP);
  key(w, "clusterIPs");
  w.StartArray();
  w.String(clusterIP.c_str(), static_cast<rapidjson::SizeType>(clusterIP.size()));
  w.EndArray();
  str(w, "internalTrafficPolicy", "Local");
  dnsPorts(w, true);
  w.EndObject();
  w.EndObject();
  return buffer.GetString();
}

std::string kubeDnsSliceJson(const std::vector<DnsNodeEndpoint>& endpoints) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  str(w, "apiVersion", "discovery.k8s.io/v1");
  str(w, "kind", "EndpointSlice");
  metadata(w, kSliceName,
           {{"kubernetes.io/service-name", kServiceName},
            {"endpointslice.kubernetes.io/managed-by", kFieldManager}});
  str(w, "addressType", "IPv4");
  dnsPorts(w, false);
  key(w, "endpoints");
  w.StartArray();
  for (const auto& e : endpoints) {
    w.StartObject();
    key(w, "addresses");
    w.StartArray();
    w.String(e.address.c_str(), static_cast<rapidjson::SizeType>(e.address.size()));
    w.EndArray();
    key(w, "conditions");
    w.StartObject();
    key(w, "ready");
    w.Bool(e.ready);
    key(w, "serving");
    w.Bool(e.ready);
    key(w, "terminating");
    w.Bool(false);
    w.EndObject();
    str(w, "nodeName", e.nodeName);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

struct KubeDnsService::Impl {
  client::Client& client;
  KubeDnsServiceOptions options;
  client::Informer<core::Node> nodes;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  bool dirty = true;
  std::thread thread;

  Impl(client::Client& c, KubeDnsServiceOptions o)
      : client(c), options(std::move(o)), nodes(c, "") {}

  void markDirty() {
    {
      std::lock_guard lock(mutex);
      dirty = true;
    }
    wake.notify_all();
  }

  void apply(const std::string& path, const std::string& body) {
    client.call("PATCH", path + "?fieldManager=" + client::urlEncode(kFieldManager) + "&force=true",
                body, "application/apply-patch+yaml");
  }

  void run() {
    const std::string servicePath =
        std::string("/api/v1/namespaces/") + kNamespace + "/services/" + kServiceName;
    const std::string slicePath = std::string("/apis/discovery.k8s.io/v1/namespaces/") +
                                  kNamespace + "/endpointslices/" + kSliceName;
    std::string appliedSlice;
    auto nextResync = std::chrono::steady_clock::now() + options.resyncPeriod;
    std::unique_lock lock(mutex);
    while (!stopping) {
      const bool resync = std::chrono::steady_clock::now() >= nextResync;
      if (dirty || resync) {
        dirty = false;
        lock.unlock();
        bool failed = false;
        try {
          // The Service first: its cluster IP must be taken before any other Service's.
          if (appliedSlice.empty() || resync)
            apply(servicePath, kubeDnsServiceJson(options.clusterIP));
          if (nodes.hasSynced() || nodes.waitForSync(options.retryPeriod)) {
            const std::string slice = kubeDnsSliceJson(endpointsOf(nodes.cache()));
            if (slice != appliedSlice || resync) {
              apply(slicePath, slice);
              appliedSlice = slice;
            }
          } else {
            failed = true;  // come back when the Nodes are known
          }
          if (resync) nextResync = std::chrono::steady_clock::now() + options.resyncPeriod;
        } catch (const std::exception& e) {
          spdlog::warn("kube-dns Service: {} (will retry)", e.what());
          appliedSlice.clear();
          failed = true;
        }
        lock.lock();
        if (failed) dirty = true;
        if (stopping) break;
        if (failed) {
          wake.wait_for(lock, options.retryPeriod, [this] { return stopping; });
          continue;
        }
      }
      wake.wait_until(lock, nextResync, [this] { return stopping || dirty; });
    }
  }
};

KubeDnsService::KubeDnsService(client::Client& client, KubeDnsServiceOptions options)
    : impl_(std::make_unique<Impl>(client, std::move(options))) {
  in_addr parsed{};
  if (inet_pton(AF_INET, impl_->options.clusterIP.c_str(), &parsed) != 1) {
    throw std::invalid_argument("cluster DNS IP " + impl_->options.clusterIP +
                                ": not an IPv4 address");
  }
}

KubeDnsService::~KubeDnsService() { stop(); }

void KubeDnsService::start() {
  auto& impl = *impl_;
  impl.nodes.addEventHandler({
      .onAdd = [&impl](const core::Node&) { impl.markDirty(); },
      .onUpdate = [&impl](const core::Node&, const core::Node&) { impl.markDirty(); },
      .onDelete = [&impl](const core::Node&) { impl.markDirty(); },
  });
  impl.nodes.start();
  impl.thread = std::thread([&impl] { impl.run(); });
}

void KubeDnsService::stop() {
  auto& impl = *impl_;
  {
    std::lock_guard lock(impl.mutex);
    impl.stopping = true;
  }
  impl.wake.notify_all();
  if (impl.thread.joinable()) impl.thread.join();
  impl.nodes.stop();
}

}  // namespace kite::dns
