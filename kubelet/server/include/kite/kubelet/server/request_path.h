#pragma once
// The kubelet server's URL space, and what each request is authorized as: the kubelet asks
// the API server (SubjectAccessReview) whether the user may <verb> nodes/<subresource> for
// this node, with the verb from the HTTP method and the subresource from the path, as the
// upstream kubelet maps them (/stats -> stats, /metrics -> metrics, /logs -> log,
// /spec -> spec, /checkpoint -> checkpoint; /healthz, /pods, /configz and everything else,
// including /containerLogs, /exec, /attach, /portForward, /run -> proxy, as 1.32 does with
// its alpha fine-grained kubelet authorization off).

#include <string>
#include <string_view>

namespace kite::kubelet::server {

enum class Endpoint {
  kHealthz,
  kPods,
  kContainerLogs,  // /containerLogs/NS/POD/CONTAINER
  kExec,           // /exec/NS/POD/CONTAINER (or /exec/NS/POD/UID/CONTAINER)
  kAttach,         // /attach/NS/POD/CONTAINER
  kPortForward,    // /portForward/NS/POD (or /portForward/NS/POD/UID)
  kMetrics,        // /metrics
  kStatsSummary,   // /stats/summary
  kNotFound,
};

struct KubeletPath {
  Endpoint endpoint = Endpoint::kNotFound;
  std::string namespace_;
  std::string pod;
  std::string uid;  // optional form with the pod UID
  std::string container;
};

// `path` is decoded, without the query.
KubeletPath parseKubeletPath(std::string_view path);

struct NodeAttributes {
  std::string verb;         // get, create, update, patch, delete
  std::string subresource;  // proxy, stats, metrics, log, spec, ...
};

NodeAttributes nodeAttributesFor(std::string_view method, std::string_view path);

}  // namespace kite::kubelet::server
