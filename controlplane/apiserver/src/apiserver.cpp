#include "kite/controlplane/apiserver.h"

#include <spdlog/spdlog.h>

#include <map>

#include "admission.h"
#include "api_error.h"
#include "discovery.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/json.h"
#include "kite/api/scheduling/v1/types.h"
#include "namespace_finalizer.h"
#include "negotiation.h"
#include "priority_classes.h"
#include "registry.h"
#include "repository.h"
#include "request_info.h"
#include "resource_cache.h"
#include "responses.h"
#include "rest_handler.h"
#include "stored_json.h"
#include "watch_hub.h"

namespace kite::controlplane {

using apiserver::ApiError;

struct ApiServer::Impl {
  explicit Impl(ApiServerOptions o)
      : options(std::move(o)),
        registry(apiserver::Registry::builtin()),
        repository(*options.store),
        watches(*options.store),
        admission(repository, registry,
                  {options.serviceCidr, options.nodePortMin, options.nodePortMax,
                   options.defaultNotReadyTolerationSeconds,
                   options.defaultUnreachableTolerationSeconds}),
        rest(registry, repository, watches, admission,
             [this](const apiserver::ResourceType* type) { return cacheOf(type); }) {}

  apiserver::ResourceCache* cacheOf(const apiserver::ResourceType* type) const {
    return caches ? caches->find(type) : nullptr;
  }

  ApiServerOptions options;
  apiserver::Registry registry;
  apiserver::Repository repository;
  // Set before the first request. Declared before the watch hub so watches detach from the
  // caches before these go.
  std::unique_ptr<apiserver::WatchCaches> caches;
  apiserver::WatchHub watches;
  apiserver::Admission admission;
  apiserver::RestHandler rest;
  std::unique_ptr<apiserver::NamespaceFinalizer> namespaceFinalizer;
  std::atomic<bool> stopped{false};

  void bootstrap();
  void serve(http::Request& request, const std::shared_ptr<http::Responder>& responder);
  UserInfo authenticate(const http::Request& request, const apiserver::RequestInfo& info);
  // Impersonate-User / Impersonate-Group (kubectl --as/--as-group): allowed only when the
  // real user may `impersonate` them, as upstream checks.
  UserInfo impersonate(const http::Request& request, UserInfo user);
  void authorize(const UserInfo& user, const apiserver::RequestInfo& info,
                 const apiserver::Query& query);
};

namespace {

bool isHealthPath(std::string_view path) {
  return path == "/healthz" || path == "/livez" || path == "/readyz";
}

http::Response withWarnings(http::Response r, const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) {
    std::string v = "299 - \"";
    for (char c : w) {
      if (c == '"' || c == '\\') v.push_back('\\');
      v.push_back(c);
    }
    v.push_back('"');
    r.headers.emplace_back("warning", std::move(v));
  }
  return r;
}

}  // namespace

UserInfo ApiServer::Impl::authenticate(const http::Request& request,
                                       const apiserver::RequestInfo& info) {
  if (!options.authenticator) return UserInfo{"system:anonymous", {"system:unauthenticated"}, ""};
  std::optional<UserInfo> user;
  try {
    user = options.authenticator->authenticate(request);
  } catch (const std::invalid_argument& e) {
    spdlog::debug("authentication failed for {}: {}", request.remoteAddress, e.what());
    throw ApiError::unauthorized("Unauthorized");
  }
  if (!user) {
    if (isHealthPath(info.path))
      return UserInfo{"system:anonymous", {"system:unauthenticated"}, ""};
    throw ApiError::unauthorized("Unauthorized");
  }
  user->groups.emplace_back("system:authenticated");
  return *user;
}

UserInfo ApiServer::Impl::impersonate(const http::Request& request, UserInfo user) {
  std::string asUser;
  std::vector<std::string> asGroups;
  for (const auto& [name, value] : request.headers) {
    if (name == "impersonate-user") asUser = value;
    if (name == "impersonate-group") asGroups.push_back(value);
    if (name.rfind("impersonate-extra-", 0) == 0 || name == "impersonate-uid") {
      throw ApiError::badRequest("impersonating extra fields and uids is not supported");
    }
  }
  if (asUser.empty()) {
    if (!asGroups.empty()) {
      throw ApiError::badRequest("requested impersonation of groups without a user");
    }
    return user;
  }
  auto check = [&](const std::string& resource, const std::string& ns, const std::string& name) {
    if (!options.authorizer) return;
    Attributes a;
    a.verb = "impersonate";
    a.resource = resource;
    a.namespace_ = ns;
    a.name = name;
    if (!options.authorizer->authorize(user, a).allowed) {
      throw ApiError::failure(403, "Forbidden",
                              resource + " \"" + name + "\" is forbidden: User \"" + user.name +
                                  "\" cannot impersonate resource \"" + resource +
                                  "\" in API group \"\" at the cluster scope");
    }
  };
  UserInfo as;
  as.name = asUser;
  constexpr std::string_view kSa = "system:serviceaccount:";
  if (asUser.rfind(kSa, 0) == 0) {
    const std::string saRef = asUser.substr(kSa.size());
    const auto colon = saRef.find(':');
    check("serviceaccounts", saRef.substr(0, colon),
          colon == std::string::npos ? saRef : saRef.substr(colon + 1));
    as.groups = {"system:serviceaccounts", "system:serviceaccounts:" + saRef.substr(0, colon)};
  } else {
    check("users", "", asUser);
  }
  for (const auto& g : asGroups) {
    check("groups", "", g);
    as.groups.push_back(g);
  }
  as.groups.emplace_back("system:authenticated");
  return as;
}

void ApiServer::Impl::authorize(const UserInfo& user, const apiserver::RequestInfo& info,
                                const apiserver::Query& query) {
  if (!options.authorizer || isHealthPath(info.path)) return;
  Attributes a;
  a.verb = info.verb;
  a.group = info.group;
  a.version = info.version;
  a.resource = info.resource;
  a.subresource = info.subresource;
  a.namespace_ = info.namespace_;
  a.name = info.name;
  if (a.name.empty() && (info.verb == "list" || info.verb == "watch")) {
    // A list or watch of one object by name (fieldSelector=metadata.name=X) is authorized
    // as that object, as upstream does, so a node may watch the secrets its pods use.
    const std::string fs = query.get("fieldSelector");
    constexpr std::string_view kName = "metadata.name=";
    if (fs.rfind(kName, 0) == 0 && fs.find(',') == std::string::npos)
      a.name = fs.substr(kName.size());
  }
  a.isResourceRequest = info.isResourceRequest;
  a.path = info.path;
  const Decision d = options.authorizer->authorize(user, a);
  if (d.allowed) return;
  if (!info.isResourceRequest) {
    throw ApiError::failure(403, "Forbidden",
                            "forbidden: User \"" + user.name + "\" cannot " + info.verb +
                                " path \"" + info.path + "\"");
  }
  std::string resource = info.resource;
  if (!info.subresource.empty()) resource += "/" + info.subresource;
  throw ApiError::forbidden(user.name, info.verb, info.group, resource, info.namespace_, info.name,
                            d.reason);
}

void ApiServer::Impl::serve(http::Request& request,
                            const std::shared_ptr<http::Responder>& responder) {
  apiserver::Query query = apiserver::Query::parse(request.query);
  apiserver::RequestInfo info = apiserver::parseRequestInfo(request.method, request.path, query);
  const UserInfo user = impersonate(request, authenticate(request, info));
  authorize(user, info, query);
  if (!info.isResourceRequest) {
    if (request.method != "GET" && request.method != "HEAD") {
      throw ApiError::methodNotSupported("", "", request.method);
    }
    if (auto r = apiserver::serveDiscovery(
            registry, info.path, request.header("accept").value_or(""), options.gitVersion)) {
      responder->respond(std::move(*r));
      return;
    }
    throw ApiError::failure(404, "NotFound", "the server could not find the requested resource");
  }
  const apiserver::ResourceType* type = registry.find(info.group, info.version, info.resource);
  if (type == nullptr) {
    throw ApiError::failure(404, "NotFound", "the server could not find the requested resource");
  }
  if (!type->info().namespaced && !info.namespace_.empty()) {
    throw ApiError::notFound(info.group, info.resource, info.name);
  }
  apiserver::RequestContext ctx{request,
                                std::move(query),
                                std::move(info),
                                type,
                                apiserver::negotiate(request.header("accept").value_or("")),
                                user,
                                {}};
  rest.serve(ctx, responder);
}

namespace {

// Stores `value` as a new object of `type` unless one of that name exists.
template <class T>
void createIfAbsent(apiserver::Repository& repository, const apiserver::ResourceType& type,
                    const T& value) {
  if (repository.getRaw(type, value.metadata.namespace_, value.metadata.name)) return;
  auto object = std::make_unique<apiserver::TypedObject<T>>(value);
  type.applyDefaults(*object);
  type.prepareForCreate(*object);
  object->meta().uid = apiserver::newUid();
  object->meta().creationTimestamp = api::Time(
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
  try {
    repository.create(type, *object);
  } catch (const ApiError&) {
    // Another server made it first.
  }
}

}  // namespace

void ApiServer::Impl::bootstrap() {
  // The namespaces every cluster has, as the upstream system-namespaces controller makes them.
  const auto* nsType = registry.find("", "v1", "namespaces");
  for (const char* name : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    api::core::v1::Namespace ns;
    ns.metadata.name = name;
    createIfAbsent(repository, *nsType, ns);
  }
  // The system PriorityClasses, as upstream's scheduling/bootstrap-system-priority-classes
  // start hook makes them.
  const auto* pcType = registry.find("scheduling.k8s.io", "v1", "priorityclasses");
  for (const auto& pc : apiserver::systemPriorityClasses()) createIfAbsent(repository, *pcType, pc);
}

ApiServer::ApiServer(ApiServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  impl_->rest.setHooks({impl_->options.tokenIssuer, impl_->options.authorizer.get(),
                        impl_->options.authenticator.get(), impl_->options.rules,
                        impl_->options.objectAdmission, impl_->options.kubeletClient});
  impl_->bootstrap();
  std::vector<const apiserver::ResourceType*> stored;
  for (const auto& type : impl_->registry.all()) {
    if (!type->info().createOnly) stored.push_back(type.get());
  }
  impl_->caches = std::make_unique<apiserver::WatchCaches>(*impl_->options.store, stored);
  impl_->namespaceFinalizer =
      std::make_unique<apiserver::NamespaceFinalizer>(impl_->registry, impl_->repository);
}

ApiServer::~ApiServer() { shutdown(); }

void ApiServer::shutdown() {
  impl_->stopped = true;
  impl_->namespaceFinalizer.reset();
  impl_->watches.closeAll();
}

void ApiServer::handle(http::Request& request, const std::shared_ptr<http::Responder>& responder) {
  http::Response failure;
  try {
    if (impl_->stopped) throw ApiError::serviceUnavailable("the server is shutting down");
    impl_->serve(request, responder);
    return;
  } catch (const ApiError& e) {
    failure = apiserver::statusResponse(e.status());
  } catch (const api::ParseError& e) {
    failure = apiserver::statusResponse(ApiError::badRequest(e.what()).status());
  } catch (const StoreError& e) {
    const auto s = e.code() == StoreErrorCode::kCompacted ? ApiError::gone(e.what())
                   : e.code() == StoreErrorCode::kTooLarge
                       ? ApiError::requestEntityTooLarge(e.what())
                       : ApiError::internal(e.what());
    failure = apiserver::statusResponse(s.status());
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", request.method, request.target, e.what());
    failure = apiserver::statusResponse(ApiError::internal(e.what()).status());
  }
  responder->respond(std::move(failure));
}

}  // namespace kite::controlplane

namespace kite::controlplane::apiserver {

void RestHandler::serve(RequestContext& ctx, const std::shared_ptr<http::Responder>& responder) {
  const auto& verb = ctx.info.verb;
  if (ctx.type->info().createOnly) {
    responder->respond(withWarnings(review(ctx), ctx.warnings));
    return;
  }
  if (verb == "watch") {
    watch(ctx, responder);
    return;
  }
  if (isKubeletProxySubresource(ctx)) {
    proxyToKubelet(ctx, responder);
    return;
  }
  http::Response r;
  const auto& sub = ctx.info.subresource;
  if (verb == "get") {
    r = sub == "scale" ? scale(ctx) : get(ctx);
  } else if (verb == "list") {
    r = list(ctx);
  } else if (verb == "create") {
    r = create(ctx);
  } else if (verb == "update") {
    r = update(ctx);
  } else if (verb == "patch") {
    r = patch(ctx);
  } else if (verb == "delete") {
    r = remove(ctx);
  } else if (verb == "deletecollection") {
    r = removeCollection(ctx);
  } else {
    throw ApiError::methodNotSupported(ctx.type->info().group, ctx.type->info().resource, verb);
  }
  responder->respond(withWarnings(std::move(r), ctx.warnings));
}

}  // namespace kite::controlplane::apiserver
