#pragma once
// kube-proxy's sync metrics, in the Prometheus text format under kube-proxy's names:
// kubeproxy_sync_proxy_rules_duration_seconds (every sync),
// kubeproxy_sync_full_proxy_rules_duration_seconds and
// kubeproxy_sync_partial_proxy_rules_duration_seconds (histograms, upstream's buckets
// 1 ms .. 16 s), kubeproxy_sync_proxy_rules_last_timestamp_seconds (gauge). Thread-safe.

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace kite::proxy {

class SyncMetrics {
 public:
  void observe(bool full, std::chrono::duration<double> duration);
  std::string prometheusText() const;
  // When the last sync succeeded (wall clock), if one did.
  std::optional<std::chrono::system_clock::time_point> lastSync() const;

 private:
  static constexpr std::size_t kBuckets = 15;  // 0.001 * 2^i, i < 15
  struct Histogram {
    std::array<std::uint64_t, kBuckets> counts{};  // per bucket, not cumulative
    std::uint64_t count = 0;
    double sum = 0;
    void observe(double seconds);
    void write(std::string& out, const std::string& name, const std::string& help) const;
  };
  mutable std::mutex mutex_;
  Histogram all_;
  Histogram full_;
  Histogram partial_;
  std::optional<std::chrono::system_clock::time_point> last_;
};

}  // namespace kite::proxy
