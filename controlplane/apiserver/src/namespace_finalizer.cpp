#include "namespace_finalizer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "api_error.h"
#include "kite/api/core/v1/types.h"

namespace kite::controlplane::apiserver {

namespace {
namespace corev1 = api::core::v1;
constexpr const char* kFinalizer = "kubernetes";
constexpr auto kGracePeriod = std::chrono::seconds(3);
}  // namespace

NamespaceFinalizer::NamespaceFinalizer(const Registry& registry, Repository& repository)
    : registry_(registry), repository_(repository) {
  const auto* nsType = registry_.find("", "v1", "namespaces");
  WatchCallbacks callbacks;
  callbacks.onEvents = [this](const std::vector<WatchEvent>&) { wake_.notify_all(); };
  callbacks.onError = [](const StoreError&) {};
  watch_ = repository_.store().watch(Repository::prefix(nsType->info(), ""),
                                     repository_.store().currentRevision(), std::move(callbacks));
  thread_ = std::thread([this] { run(); });
}

NamespaceFinalizer::~NamespaceFinalizer() {
  watch_.reset();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void NamespaceFinalizer::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      pass();
    } catch (const std::exception& e) {
      spdlog::warn("namespace finalizer: {}", e.what());
    }
    lock.lock();
    wake_.wait_for(lock, std::chrono::seconds(1));
  }
}

bool NamespaceFinalizer::emptyNamespace(const std::string& ns) {
  bool empty = true;
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  for (const auto& type : registry_.all()) {
    const auto& info = type->info();
    if (!info.namespaced) continue;
    RangeRequest req;
    req.prefix = Repository::prefix(info, ns);
    for (const auto& kv : repository_.store().range(req).items) {
      empty = false;
      auto loaded = Repository::decodeStored(*type, kv);
      const auto& m = loaded.object->meta();
      const bool isPod = info.group.empty() && info.resource == "pods";
      bool graceful = !m.finalizers.empty();
      std::int64_t grace = 0;
      if (isPod) {
        const auto& pod = as<corev1::Pod>(*loaded.object);
        const bool terminal = pod.status.phase == "Succeeded" || pod.status.phase == "Failed";
        if (!pod.spec.nodeName.empty() && !terminal) {
          grace = pod.spec.terminationGracePeriodSeconds.value_or(30);
          if (grace < 0) grace = 1;  // as a pod's own delete treats it
          graceful = graceful || grace > 0;
        }
      }
      if (!graceful) {
        repository_.store().remove(kv.key, kv.modRevision);
        continue;
      }
      if (m.deletionTimestamp) continue;  // already on its way out
      auto next = loaded.object->clone();
      next->meta().deletionTimestamp = api::Time(now + std::chrono::seconds(grace));
      next->meta().deletionGracePeriodSeconds = grace;
      repository_.store().update(kv.key, encodeForStorage(*next), kv.modRevision);
    }
  }
  return empty;
}

void NamespaceFinalizer::pass() {
  const auto* nsType = registry_.find("", "v1", "namespaces");
  RangeRequest req;
  req.prefix = Repository::prefix(nsType->info(), "");
  for (const auto& kv : repository_.store().range(req).items) {
    auto loaded = Repository::decodeStored(*nsType, kv);
    const auto& ns = as<corev1::Namespace>(*loaded.object);
    if (!ns.metadata.deletionTimestamp) continue;
    const auto& fin = ns.spec.finalizers;
    if (std::find(fin.begin(), fin.end(), kFinalizer) != fin.end()) {
      const auto now = std::chrono::steady_clock::now();
      const auto seen = firstSeen_.try_emplace(ns.metadata.uid, now).first->second;
      if (now - seen < kGracePeriod) continue;
      if (!emptyNamespace(ns.metadata.name)) continue;
      auto next = loaded.object->clone();
      auto& nf = as<corev1::Namespace>(*next).spec.finalizers;
      nf.erase(std::remove(nf.begin(), nf.end(), kFinalizer), nf.end());
      if (!repository_.store().update(kv.key, encodeForStorage(*next), kv.modRevision).succeeded) {
        continue;  // changed meanwhile; the next pass sees the new state
      }
      firstSeen_.erase(ns.metadata.uid);
      if (nf.empty() && ns.metadata.finalizers.empty()) {
        repository_.store().remove(kv.key, 0);
        spdlog::info("namespace {} deleted", ns.metadata.name);
      }
    } else if (fin.empty() && ns.metadata.finalizers.empty()) {
      // Finalized by hand (the finalize subresource) while terminating.
      repository_.store().remove(kv.key, kv.modRevision);
    }
  }
}

}  // namespace kite::controlplane::apiserver
