#include "kite/proxy/sync_metrics.h"

#include <cmath>
#include <cstdio>

namespace kite::proxy {

namespace {

double bucketBound(std::size_t i) { return 0.001 * std::pow(2.0, static_cast<double>(i)); }

std::string number(double value) {
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%.9g", value);
  return buf.data();
}

}  // namespace

void SyncMetrics::Histogram::observe(double seconds) {
  for (std::size_t i = 0; i < kBuckets; ++i) {
    if (seconds <= bucketBound(i)) {
      ++counts[i];
      break;
    }
  }
  ++count;
  sum += seconds;
}

void SyncMetrics::Histogram::write(std::string& out, const std::string& name,
                                   const std::string& help) const {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    cumulative += counts[i];
    out += name + "_bucket{le=\"" + number(bucketBound(i)) + "\"} " + std::to_string(cumulative) +
           "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count) + "\n";
  out += name + "_sum " + number(sum) + "\n";
  out += name + "_count " + std::to_string(count) + "\n";
}

void SyncMetrics::observe(bool full, std::chrono::duration<double> duration) {
  std::lock_guard lock(mutex_);
  all_.observe(duration.count());
  (full ? full_ : partial_).observe(duration.count());
  last_ = std::chrono::system_clock::now();
}

std::optional<std::chrono::system_clock::time_point> SyncMetrics::lastSync() const {
  std::lock_guard lock(mutex_);
  return last_;
}

std::string SyncMetrics::prometheusText() const {
  std::lock_guard lock(mutex_);
  std::string out;
  all_.write(out, "kubeproxy_sync_proxy_rules_duration_seconds",
             "SyncProxyRules latency in seconds");
  full_.write(out, "kubeproxy_sync_full_proxy_rules_duration_seconds",
              "SyncProxyRules latency in seconds for full resyncs");
  partial_.write(out, "kubeproxy_sync_partial_proxy_rules_duration_seconds",
                 "SyncProxyRules latency in seconds for partial resyncs");
  const std::string last = "kubeproxy_sync_proxy_rules_last_timestamp_seconds";
  out += "# HELP " + last + " The last time proxy rules were successfully synced\n";
  out += "# TYPE " + last + " gauge\n";
  const double seconds =
      last_ ? std::chrono::duration<double>(last_->time_since_epoch()).count() : 0.0;
  out += last + " " + number(seconds) + "\n";
  return out;
}

}  // namespace kite::proxy
