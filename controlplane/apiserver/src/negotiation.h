#pragma once
// Content negotiation: which representation a client accepts (JSON objects, a
// meta.k8s.io Table for kubectl get, PartialObjectMetadata for metadata-only clients) and
// which format a request body is in.

#include <string>
#include <string_view>

namespace kite::controlplane::apiserver {

enum class Representation { kObject, kTable, kPartialMetadata };

// From the Accept header; throws ApiError 406 when nothing acceptable is offered (e.g. only
// protobuf). An absent header or */* means JSON objects.
Representation negotiate(std::string_view accept);

enum class BodyFormat {
  kJson,
  kYaml,
  kProtobuf,  // application/vnd.kubernetes.protobuf (kubectl's typed clients)
  kJsonPatch,
  kMergePatch,
  kStrategicMergePatch,
  kApplyYaml
};

// From the Content-Type header (parameters ignored); throws ApiError 415.
BodyFormat bodyFormat(std::string_view contentType, bool isPatch);

}  // namespace kite::controlplane::apiserver
