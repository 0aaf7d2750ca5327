#include "kite/client/request_metrics.h"

#include <map>
#include <mutex>
#include <utility>

namespace kite::client {
namespace {

struct Counts {
  std::mutex mutex;
  std::map<std::pair<std::string, std::string>, std::uint64_t> byMethodAndCode;
};

Counts& counts() {
  static Counts c;
  return c;
}

}  // namespace

void countRequest(const std::string& method, const std::string& code) {
  auto& c = counts();
  const std::lock_guard lock(c.mutex);
  ++c.byMethodAndCode[{method, code}];
}

std::vector<RequestCount> requestCounts() {
  auto& c = counts();
  const std::lock_guard lock(c.mutex);
  std::vector<RequestCount> out;
  out.reserve(c.byMethodAndCode.size());
  for (const auto& [key, count] : c.byMethodAndCode) {
    out.push_back({key.first, key.second, count});
  }
  return out;
}

std::string requestMetricsText() {
  std::string text =
      "# HELP rest_client_requests_total [ALPHA] Number of HTTP requests, partitioned by status "
      "code, method, and host.\n"
      "# TYPE rest_client_requests_total counter\n";
  for (const auto& r : requestCounts()) {
    text.append("rest_client_requests_total{code=\"")
        .append(r.code)
        .append("\",method=\"")
        .append(r.method)
        .append("\"} ")
        .append(std::to_string(r.count))
        .append("\n");
  }
  return text;
}

}  // namespace kite::client
