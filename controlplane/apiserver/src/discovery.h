#pragma once
// Discovery documents (/api, /apis, /apis/GROUP, /api/v1, /apis/GROUP/VERSION), /version,
// and the OpenAPI documents, from the Registry.

#include <optional>
#include <string>
#include <string_view>

#include "kite/http/server.h"
#include "registry.h"

namespace kite::controlplane::apiserver {

// The answer for a non-resource path, or nullopt when the path is not one of these.
// `accept` is the request's Accept header: /openapi/v2 is served as JSON only, so a client
// that accepts only protobuf gets 406.
std::optional<http::Response> serveDiscovery(const Registry& registry, std::string_view path,
                                             std::string_view accept,
                                             const std::string& gitVersion);

}  // namespace kite::controlplane::apiserver
