// OpenAPI documents of the built-in API, generated from api/schema with the C++ types.
//
// The API server serves them as upstream does: the discovery document /openapi/v3 lists
// every group version as {"paths": {"<path>": {"serverRelativeURL":
// "/openapi/v3/<path>?hash=<hash>"}}}, and /openapi/v3/<path> returns openApiV3Document().
// kubectl explain reads these; kubectl falls back to /openapi/v2 for a few commands.
#pragma once

#include <span>
#include <string_view>

namespace kite::api {

// One group version that has an OpenAPI v3 document.
struct OpenApiGroupVersion {
  std::string_view groupVersion;  // "v1", "apps/v1"
  std::string_view path;          // "api/v1", "apis/apps/v1" (after /openapi/v3/)
  std::string_view hash;          // SHA-512 of the document, upper-case hex (for ?hash= and ETag)
};

// The group versions served, core first.
std::span<const OpenApiGroupVersion> openApiV3GroupVersions();

// The compact JSON document of a group version, by groupVersion ("apps/v1") or path
// ("apis/apps/v1"); empty when there is none. The view refers to static storage.
std::string_view openApiV3Document(std::string_view groupVersion);

// The single swagger 2.0 document with every definition and path (static storage).
std::string_view openApiV2Document();
// SHA-512 of openApiV2Document(), upper-case hex.
std::string_view openApiV2Hash();

}  // namespace kite::api
