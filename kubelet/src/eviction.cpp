#include "kite/kubelet/eviction.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <stdexcept>

#include "kite/api/quantity.h"
#include "kite/kubelet/kubelet.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;

namespace {

std::string trim(std::string s) {
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::string bytesText(int64_t bytes) {
  return api::Quantity::fromInt(bytes, api::Quantity::Format::BinarySI).toString();
}

// Sum of the containers' requests of a resource (init containers run before, not beside).
int64_t requested(const corev1::Pod& pod, const std::string& resource) {
  int64_t total = 0;
  for (const auto& c : pod.spec.containers) {
    const auto it = c.resources.requests.find(resource);
    if (it != c.resources.requests.end()) total += it->second.value();
  }
  return total;
}

}  // namespace

EvictionThresholds EvictionThresholds::parse(const std::string& text) {
  EvictionThresholds out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string entry =
        trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    if (entry.empty()) continue;
    const auto lt = entry.find('<');
    const auto bad = [&](const std::string& why) {
      std::string message = "--eviction-hard: \"";
      message.append(entry).append("\": ").append(why);
      return std::invalid_argument(message);
    };
    if (lt == std::string::npos) throw bad("want SIGNAL<QUANTITY or SIGNAL<PERCENT%");
    const std::string signal = trim(entry.substr(0, lt));
    const std::string value = trim(entry.substr(lt + 1));
    if (signal != "memory.available" && signal != "nodefs.available") {
      throw bad("unsupported signal (memory.available, nodefs.available)");
    }
    if (!value.empty() && value.back() == '%') {
      double percent = 0;
      try {
        percent = std::stod(value.substr(0, value.size() - 1));
      } catch (const std::exception&) {
        throw bad("not a percentage");
      }
      if (percent < 0 || percent > 100) throw bad("a percentage is between 0% and 100%");
      if (signal != "nodefs.available") throw bad("memory.available takes a quantity");
      out.nodefsAvailableFraction = percent / 100;
      out.nodefsAvailableBytes.reset();
      continue;
    }
    const auto quantity = api::Quantity::tryParse(value);
    if (!quantity || quantity->value() < 0) throw bad("not a quantity (e.g. 100Mi)");
    if (signal == "memory.available") {
      out.memoryAvailableBytes = quantity->value();
    } else {
      out.nodefsAvailableBytes = quantity->value();
    }
  }
  return out;
}

std::optional<Pressure> pressureOf(const EvictionSignals& signals,
                                   const EvictionThresholds& thresholds) {
  if (signals.memoryAvailableBytes < thresholds.memoryAvailableBytes) {
    return Pressure{"memory", "The node was low on resource: memory. Threshold quantity: " +
                                  bytesText(thresholds.memoryAvailableBytes) +
                                  ", available: " + bytesText(signals.memoryAvailableBytes) + ". "};
  }
  const int64_t nodefsThreshold = thresholds.nodefsAvailableBytes.value_or(static_cast<int64_t>(
      thresholds.nodefsAvailableFraction * static_cast<double>(signals.nodefsCapacityBytes)));
  if (signals.nodefsCapacityBytes > 0 && signals.nodefsAvailableBytes < nodefsThreshold) {
    return Pressure{"ephemeral-storage",
                    "The node was low on resource: ephemeral-storage. Threshold quantity: " +
                        bytesText(nodefsThreshold) +
                        ", available: " + bytesText(signals.nodefsAvailableBytes) + ". "};
  }
  return std::nullopt;
}

std::vector<corev1::Pod> rankForEviction(std::vector<corev1::Pod> pods, const std::string& resource,
                                         const std::map<std::string, int64_t>& usage) {
  const auto used = [&](const corev1::Pod& p) {
    const auto it = usage.find(p.metadata.uid);
    return it == usage.end() ? int64_t{0} : it->second;
  };
  const auto over = [&](const corev1::Pod& p) { return used(p) - requested(p, resource); };
  std::stable_sort(pods.begin(), pods.end(), [&](const corev1::Pod& a, const corev1::Pod& b) {
    // 1. Using more than requested goes first (a BestEffort pod requests nothing).
    const bool aOver = over(a) > 0 || requested(a, resource) == 0;
    const bool bOver = over(b) > 0 || requested(b, resource) == 0;
    if (aOver != bOver) return aOver;
    // 2. Lower priority first.
    const int32_t ap = a.spec.priority.value_or(0);
    const int32_t bp = b.spec.priority.value_or(0);
    if (ap != bp) return ap < bp;
    // 3. More usage above the request first.
    return over(a) > over(b);
  });
  return pods;
}

EvictionManager::EvictionManager(Kubelet& kubelet, EvictionThresholds thresholds,
                                 SignalReader signals, UsageReader usage)
    : kubelet_(kubelet),
      thresholds_(thresholds),
      signals_(std::move(signals)),
      usage_(std::move(usage)) {}

EvictionManager::~EvictionManager() { stop(); }

void EvictionManager::start(std::chrono::milliseconds period) {
  thread_ = std::jthread([this, period](const std::stop_token& stop) {
    std::mutex mutex;
    std::condition_variable_any wake;
    while (!stop.stop_requested()) {
      try {
        check();
      } catch (const std::exception& e) {
        spdlog::warn("eviction manager: {}", e.what());
      }
      std::unique_lock lock(mutex);
      wake.wait_for(lock, stop, period, [] { return false; });
    }
  });
}

void EvictionManager::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

std::string EvictionManager::check() {
  const auto pressure = pressureOf(signals_(), thresholds_);
  if (!pressure) return "";
  std::vector<corev1::Pod> candidates;
  for (auto& pod : kubelet_.pods()) {
    const auto& phase = pod.status.phase;
    // Static pods are critical to the node, as upstream treats them; finished pods hold nothing.
    if (phase == "Failed" || phase == "Succeeded" || kubelet_.isStatic(pod.metadata.uid)) continue;
    candidates.push_back(std::move(pod));
  }
  if (candidates.empty()) {
    spdlog::warn("eviction manager: {}but no pod can be evicted", pressure->message);
    return "";
  }
  const auto ranked =
      rankForEviction(std::move(candidates), pressure->resource, usage_(pressure->resource));
  const auto& victim = ranked.front();
  spdlog::warn("eviction manager: evicting pod {}/{}: {}", victim.metadata.namespace_,
               victim.metadata.name, pressure->message);
  kubelet_.evict(victim.metadata.uid, pressure->message);
  return victim.metadata.uid;
}

}  // namespace kite::kubelet
