#pragma once
// What an API request asks for, read from its method, path and query the way the upstream
// API server's RequestInfoFactory reads them: resource requests
// (/api/v1/namespaces/NS/pods/NAME/status) versus everything else (/version, /apis, ...).

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kite::controlplane::apiserver {

// A decoded query string. Later values of a repeated key are kept (all()) but get() returns
// the first, as Go's url.Values.Get does.
class Query {
 public:
  // Throws ApiError (400) on malformed percent-encoding.
  static Query parse(std::string_view raw);

  bool has(std::string_view key) const;
  std::string get(std::string_view key) const;
  const std::vector<std::string>& all(std::string_view key) const;

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

// Percent-decoding ("+" is a space when plusIsSpace). Throws ApiError 400.
std::string percentDecode(std::string_view in, bool plusIsSpace);

struct RequestInfo {
  bool isResourceRequest = false;
  std::string path;
  // get, list, watch, create, update, patch, delete, deletecollection; for non-resource
  // requests the lower-cased HTTP method.
  std::string verb;
  std::string apiPrefix;  // "api" or "apis"
  std::string group;      // "" for core
  std::string version;
  std::string namespace_;
  std::string resource;
  std::string name;
  std::string subresource;
  std::vector<std::string> parts;  // path segments after the group version
};

RequestInfo parseRequestInfo(std::string_view method, std::string_view path, const Query& query);

}  // namespace kite::controlplane::apiserver
