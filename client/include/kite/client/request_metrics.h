#pragma once
// Process-wide count of the API requests this process made, by HTTP method and response code,
// as upstream client-go counts them in `rest_client_requests_total{code,method}`. The kubelet
// serves them on its /metrics, so the API load of a pod's lifecycle can be measured.

#include <cstdint>
#include <string>
#include <vector>

namespace kite::client {

struct RequestCount {
  std::string method;  // "GET", "POST", ...
  std::string code;    // "200", "404", ... or "<error>" when no answer came
  std::uint64_t count = 0;
};

// Counts one request; every Transport calls this once a request ends.
void countRequest(const std::string& method, const std::string& code);

// Counts so far, sorted by method then code.
std::vector<RequestCount> requestCounts();

// The counts in the Prometheus text format, with upstream's HELP and TYPE lines.
std::string requestMetricsText();

}  // namespace kite::client
