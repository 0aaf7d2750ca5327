#pragma once
// The REST verbs over the Registry and Repository: get, list, watch, create, update, patch,
// delete, deletecollection, and the subresources kite serves itself (status, binding,
// finalize, scale, eviction). One RestHandler serves all resources; per-kind behaviour
// comes from ResourceType and the admission steps.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "admission.h"
#include "field_manager.h"
#include "kite/controlplane/apiserver.h"
#include "kite/controlplane/auth.h"
#include "kite/http/server.h"
#include "negotiation.h"
#include "registry.h"
#include "repository.h"
#include "request_info.h"
#include "resource_cache.h"
#include "watch_hub.h"

namespace kite::controlplane::apiserver {

struct RequestContext {
  const http::Request& request;
  Query query;
  RequestInfo info;
  const ResourceType* type = nullptr;
  Representation representation = Representation::kObject;
  UserInfo user;
  std::vector<std::string> warnings;  // sent as Warning headers
};

// The watch cache of a resource, or nullptr when it has none.
using CacheLookup = std::function<ResourceCache*(const ResourceType*)>;

class RestHandler {
 public:
  RestHandler(Registry& registry, Repository& repository, WatchHub& watches, Admission& admission,
              CacheLookup caches);

  // What the REST layer needs from the server's options beyond storage.
  struct Hooks {
    ServiceAccountTokenIssuer tokenIssuer;
    Authorizer* authorizer = nullptr;        // access reviews
    Authenticator* authenticator = nullptr;  // TokenReview
    RulesResolver rules;                     // SelfSubjectRulesReview
    ObjectAdmission objectAdmission;         // NodeRestriction
    KubeletClientOptions kubeletClient;      // pods/log, pods/exec, ... (rest_proxy.cpp)
  };
  void setHooks(Hooks hooks) { hooks_ = std::move(hooks); }

  // Answers a resource request (the context's type is set).
  void serve(RequestContext& ctx, const std::shared_ptr<http::Responder>& responder);

 private:
  http::Response get(RequestContext& ctx);
  http::Response list(RequestContext& ctx);
  void watch(RequestContext& ctx, const std::shared_ptr<http::Responder>& responder);
  http::Response create(RequestContext& ctx);
  http::Response update(RequestContext& ctx);
  http::Response patch(RequestContext& ctx);
  http::Response remove(RequestContext& ctx);
  http::Response removeCollection(RequestContext& ctx);
  http::Response createSubresource(RequestContext& ctx);
  http::Response scale(RequestContext& ctx);
  // pods/log, pods/exec, pods/attach, pods/portforward, nodes/proxy (rest_proxy.cpp).
  void proxyToKubelet(RequestContext& ctx, const std::shared_ptr<http::Responder>& responder);

  // Decodes a request body into an object of the context's kind, honouring
  // fieldValidation; checks apiVersion/kind and namespace against the URL.
  // `json` is the request's body, or (patched) the stored object with the patch applied:
  // an object its kind's conversion refuses is then the patch's fault, a 422 as upstream.
  std::unique_ptr<ApiObject> decodeBody(RequestContext& ctx, std::string_view json,
                                        bool patched = false);
  std::string bodyAsJson(RequestContext& ctx);
  // The object answer in the representation the client asked for.
  http::Response objectResponse(RequestContext& ctx, int code, const std::string& json,
                                const ApiObject* object);
  // Create-time preparation shared by create and server-side apply: generateName,
  // admission, defaults, validation, and the metadata the server owns.
  void prepareNew(RequestContext& ctx, ApiObject& object);
  // Shared by update and patch: turns a proposed object into the one to store.
  std::unique_ptr<ApiObject> prepareUpdate(RequestContext& ctx, std::unique_ptr<ApiObject> next,
                                           const ApiObject& current);
  // Deletes with graceful deletion and finalizers as upstream; returns the response body.
  http::Response deleteObject(RequestContext& ctx, const std::string& name,
                              const api::meta::v1::DeleteOptions& options);

  Registry& registry_;
  Repository& repository_;
  WatchHub& watches_;
  Admission& admission_;
  CacheLookup caches_;
  Hooks hooks_;
  http::Response createToken(RequestContext& ctx);
  http::Response review(RequestContext& ctx);
  // ObjectAdmission for this request's objects; throws ApiError 403 when it refuses.
  void admitObjects(const RequestContext& ctx, const ApiObject* object, const ApiObject* old) const;
  // The list answer from the watch cache, or nullopt when the cache cannot serve it.
  std::optional<http::Response> listFromCache(RequestContext& ctx,
                                              const api::labels::Selector& labels,
                                              const FieldSelector& fields, std::int64_t limit);
};

api::meta::v1::DeleteOptions deleteOptionsFrom(const RequestContext& ctx);
// Throws ApiError 422 Invalid naming the kind, the object and each field error.
// Who is writing, for managedFields: the fieldManager query parameter, else the client's
// user agent product, as upstream; the subresource is the request's.
FieldOwner fieldOwner(const RequestContext& ctx);

[[noreturn]] void throwInvalid(const ResourceType& type, std::string_view name,
                               std::vector<api::FieldError> errors);
bool isPods(const ResourceInfo& info);
// The subresources proxyToKubelet serves.
bool isKubeletProxySubresource(const RequestContext& ctx);
bool isDryRun(const RequestContext& ctx);

}  // namespace kite::controlplane::apiserver
