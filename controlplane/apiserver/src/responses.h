#pragma once
// Building the bodies the API server answers with: Status objects, lists, tables, watch
// events — as text, by splicing stored JSON where no parse is needed.

#include <string>
#include <string_view>
#include <vector>

#include "api_object.h"
#include "kite/api/meta/v1/types.h"
#include "kite/controlplane/store.h"
#include "kite/http/server.h"
#include "resource_type.h"

namespace kite::controlplane::apiserver {

http::Response jsonResponse(int code, std::string body);
http::Response statusResponse(const api::meta::v1::Status& status);
api::meta::v1::Status successStatus(std::string_view group, std::string_view kind,
                                    std::string_view name, std::string_view uid);

// `{"kind":"PodList","apiVersion":"v1","metadata":{...},"items":[` — a list's opening, for
// callers that append the items and `]}` themselves.
std::string listPrefix(const ResourceInfo& info, Revision revision, std::string_view continueToken,
                       std::optional<std::int64_t> remaining);

// {"kind":"PodList","apiVersion":"v1","metadata":{...},"items":[...]} from item JSON texts.
std::string listJson(const ResourceInfo& info, Revision revision, std::string_view continueToken,
                     std::optional<std::int64_t> remaining, const std::vector<std::string>& items);

enum class IncludeObject { kNone, kMetadata, kObject };
IncludeObject parseIncludeObject(std::string_view value);  // throws ApiError 400

// A meta.k8s.io/v1 Table of the objects, rows in the given order.
std::string tableJson(const ResourceType& type, const std::vector<const ApiObject*>& objects,
                      Revision revision, std::string_view continueToken, IncludeObject include,
                      bool withColumns);

// {"kind":"PartialObjectMetadata",...} of one object / a list of them.
std::string partialMetadataJson(const ResourceInfo& info, const ApiObject& object);
std::string partialMetadataListJson(const ResourceInfo& info,
                                    const std::vector<const ApiObject*>& objects, Revision revision,
                                    std::string_view continueToken);

// One line of a watch stream: {"type":"ADDED","object":...}\n
std::string watchEventLine(std::string_view type, std::string_view objectJson);

}  // namespace kite::controlplane::apiserver
