#include "deployment_scaling.h"

#include <algorithm>
#include <cmath>

namespace kite::controlplane::controllers {
namespace {

int32_t annotationInt(const ReplicaSet& rs, std::string_view key, int32_t fallback) {
  const auto it = rs.metadata.annotations.find(std::string(key));
  if (it == rs.metadata.annotations.end()) return fallback;
  try {
    return std::stoi(it->second);
  } catch (const std::exception&) {
    return fallback;
  }
}

bool newer(const ReplicaSet& a, const ReplicaSet& b) {
  if (a.metadata.creationTimestamp != b.metadata.creationTimestamp) {
    return a.metadata.creationTimestamp > b.metadata.creationTimestamp;
  }
  return a.metadata.name > b.metadata.name;
}

// How many replicas this set gains (or loses, negative) at full proportion.
int32_t fraction(const Deployment& d, const ReplicaSet& rs) {
  const int32_t size = rs.spec.replicas.value_or(1);
  const int32_t replicas = d.spec.replicas.value_or(1);
  if (replicas == 0) return -size;
  const int32_t total = replicas + maxSurgeOf(d);
  const int32_t annotated = annotationInt(rs, kMaxReplicasAnnotation, d.status.replicas);
  if (annotated <= 0) return 0;
  const double scaled = static_cast<double>(size) * total / annotated;
  return static_cast<int32_t>(std::lround(scaled)) - size;
}

}  // namespace

std::vector<std::pair<std::string, int32_t>> proportionalSizes(const Deployment& d,
                                                               std::vector<ReplicaSet> active) {
  const int32_t replicas = d.spec.replicas.value_or(1);
  const int32_t allowed = replicas > 0 ? replicas + maxSurgeOf(d) : 0;
  const int32_t toAdd = allowed - specReplicas(active);
  std::stable_sort(active.begin(), active.end(), [&](const ReplicaSet& a, const ReplicaSet& b) {
    const int32_t sa = a.spec.replicas.value_or(1);
    const int32_t sb = b.spec.replicas.value_or(1);
    if (sa != sb) return sa > sb;
    return toAdd > 0 ? newer(a, b) : newer(b, a);
  });
  std::vector<std::pair<std::string, int32_t>> out;
  int32_t added = 0;
  for (const auto& rs : active) {
    int32_t share = 0;
    const int32_t size = rs.spec.replicas.value_or(1);
    if (toAdd != 0 && added != toAdd && size > 0) {
      const int32_t left = toAdd - added;
      share = toAdd > 0 ? std::min(fraction(d, rs), left) : std::max(fraction(d, rs), left);
    }
    added += share;
    out.emplace_back(rs.metadata.name, size + share);
  }
  if (!out.empty() && toAdd != 0) {
    out.front().second = std::max(0, out.front().second + toAdd - added);
  }
  return out;
}

bool isScalingEvent(const Deployment& d, const std::vector<ReplicaSet>& all) {
  const int32_t replicas = d.spec.replicas.value_or(1);
  return std::any_of(all.begin(), all.end(), [&](const ReplicaSet& rs) {
    return rs.spec.replicas.value_or(1) > 0 &&
           rs.metadata.annotations.contains(std::string(kDesiredReplicasAnnotation)) &&
           annotationInt(rs, kDesiredReplicasAnnotation, replicas) != replicas;
  });
}

}  // namespace kite::controlplane::controllers
