#include "kite/kubelet/server/request_path.h"

#include <vector>

namespace kite::kubelet::server {
namespace {

std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < path.size()) {
    if (path[at] == '/') {
      ++at;
      continue;
    }
    auto end = path.find('/', at);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    out.emplace_back(path.substr(at, end - at));
    at = end;
  }
  return out;
}

bool startsWithSegment(std::string_view path, std::string_view prefix) {
  return path == prefix || (path.size() > prefix.size() &&
                            path.substr(0, prefix.size()) == prefix && path[prefix.size()] == '/');
}

}  // namespace

KubeletPath parseKubeletPath(std::string_view path) {
  KubeletPath out;
  const auto parts = segments(path);
  if (parts.empty()) {
    return out;
  }
  const std::string& head = parts[0];
  if (head == "healthz" && parts.size() == 1) {
    out.endpoint = Endpoint::kHealthz;
  } else if (head == "pods" && parts.size() == 1) {
    out.endpoint = Endpoint::kPods;
  } else if (head == "metrics" && parts.size() == 1) {
    out.endpoint = Endpoint::kMetrics;
  } else if (head == "stats" && parts.size() == 2 && parts[1] == "summary") {
    out.endpoint = Endpoint::kStatsSummary;
  } else if (head == "containerLogs" && parts.size() == 4) {
    out = {Endpoint::kContainerLogs, parts[1], parts[2], {}, parts[3]};
  } else if ((head == "exec" || head == "attach") && (parts.size() == 4 || parts.size() == 5)) {
    out.endpoint = head == "exec" ? Endpoint::kExec : Endpoint::kAttach;
    out.namespace_ = parts[1];
    out.pod = parts[2];
    if (parts.size() == 5) {
      out.uid = parts[3];
    }
    out.container = parts.back();
  } else if (head == "portForward" && (parts.size() == 3 || parts.size() == 4)) {
    out.endpoint = Endpoint::kPortForward;
    out.namespace_ = parts[1];
    out.pod = parts[2];
    if (parts.size() == 4) {
      out.uid = parts[3];
    }
  }
  return out;
}

NodeAttributes nodeAttributesFor(std::string_view method, std::string_view path) {
  NodeAttributes out;
  if (method == "POST") {
    out.verb = "create";
  } else if (method == "PUT") {
    out.verb = "update";
  } else if (method == "PATCH") {
    out.verb = "patch";
  } else if (method == "DELETE") {
    out.verb = "delete";
  } else {
    out.verb = "get";  // GET, HEAD and anything else that only reads
  }
  struct Mapping {
    std::string_view prefix;
    std::string_view subresource;
  };
  static constexpr Mapping kMappings[] = {
      {"/stats", "stats"}, {"/metrics", "metrics"},       {"/logs", "log"},
      {"/spec", "spec"},   {"/checkpoint", "checkpoint"},
  };
  out.subresource = "proxy";
  for (const auto& mapping : kMappings) {
    if (startsWithSegment(path, mapping.prefix)) {
      out.subresource = std::string(mapping.subresource);
      break;
    }
  }
  return out;
}

}  // namespace kite::kubelet::server
