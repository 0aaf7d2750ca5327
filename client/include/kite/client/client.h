#pragma once
// The API client the kubelet, the controllers and the scheduler share: typed get, list (all
// pages), create, update, updateStatus, patch, remove and watch over the generated kinds
// (kite/api/<group>/<version>/types.h), plus raw-path calls. Failures the server reports throw
// ApiError with its Status; failures below HTTP throw TransportError. Thread-safe.
//
//   client::Client c(client::loadDefaultConfig());
//   auto pods = c.list<core::v1::Pod>("default", {.labelSelector = "app=web"});
//   auto w = c.watch<core::v1::Pod>("default", {.resourceVersion = pods.resourceVersion});
//   while (auto e = w->next()) { ... }

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kite/api/json.h"
#include "kite/api/meta/v1/types.h"
#include "kite/client/config.h"
#include "kite/client/errors.h"
#include "kite/client/transport.h"
#include "kite/client/watch.h"

namespace kite::client {

// Where a kind is served: /api/v1 or /apis/<group>/<version>, its plural and scope.
struct ResourceRef {
  std::string group;
  std::string version;
  std::string resource;  // plural
  bool namespaced = true;
  std::string apiVersion;
  std::string kind;

  // "/api/v1/namespaces/NS/pods/NAME/status"; an empty namespace on a namespaced resource
  // means all namespaces (lists and watches). Name, namespace and subresource are escaped.
  std::string path(std::string_view ns, std::string_view name = {},
                   std::string_view subresource = {}) const;
};

// The built-in resource of a kind (kite/api/registry_info.h); throws std::invalid_argument for
// a kind the API server does not serve.
ResourceRef resourceFor(std::string_view apiVersion, std::string_view kind);
template <class T>
const ResourceRef& resourceOf() {
  static const ResourceRef ref = resourceFor(T::kApiVersion, T::kKind);
  return ref;
}

struct ListOptions {
  std::string labelSelector{};  // "app=web,tier in (a,b)"
  std::string fieldSelector{};  // "spec.nodeName=node1"
  // Page size; list() follows the continue tokens and returns every page. 0: one request.
  std::int64_t limit = 0;
  std::string continue_{};        // listPage only
  std::string resourceVersion{};  // lists: "0" any cached; watches: start after this
  std::string resourceVersionMatch{};
  std::optional<std::int64_t> timeoutSeconds{};  // watches: the server ends the watch after it
  bool allowWatchBookmarks = false;              // watches
};

struct WriteOptions {
  std::string fieldManager{};
  bool dryRun = false;
  std::string fieldValidation{};  // Strict, Warn, Ignore
};

enum class PatchType {
  Json,       // application/json-patch+json: RFC 6902 operations
  Merge,      // application/merge-patch+json: RFC 7386
  Strategic,  // application/strategic-merge-patch+json
  Apply,      // application/apply-patch+yaml: server-side apply (needs fieldManager)
};
std::string_view contentTypeOf(PatchType type);

struct PatchOptions {
  std::string subresource{};  // "status", "scale"...
  std::string fieldManager{};
  bool force = false;  // server-side apply
  bool dryRun = false;
  std::string fieldValidation{};
};

template <class T>
struct ObjectList {
  std::vector<T> items;
  std::string resourceVersion;  // of the (first page's) snapshot: where a watch starts
  std::string continue_;        // listPage: the token of the next page, "" at the end
  std::optional<std::int64_t> remainingItemCount;
};

// A list response with the items still as JSON.
struct RawList {
  std::vector<std::string> items;
  std::string resourceVersion;
  std::string continue_;
  std::optional<std::int64_t> remainingItemCount;
};

// "key=value&..." with the values escaped; empty options are left out.
std::string listQuery(const ListOptions& options, bool watch);
// Percent-encoding of a query value or path segment (RFC 3986 unreserved kept).
std::string urlEncode(std::string_view s);

class Client {
 public:
  explicit Client(RestConfig config);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const RestConfig& config() const { return transport_.config(); }
  // The namespace of the kubeconfig context (or "default").
  const std::string& defaultNamespace() const { return transport_.config().namespace_; }
  Transport& transport() { return transport_; }

  // ---- raw calls ----
  // Any status is returned (no ApiError); TransportError when no answer came.
  HttpResponse request(const HttpRequest& request) { return transport_.send(request); }
  // Throws ApiError unless the status is 2xx; returns the body.
  std::string call(std::string_view method, std::string_view target, std::string body = {},
                   std::string_view contentType = "application/json");
  std::string getRaw(std::string_view target) { return call("GET", target); }

  // ---- untyped building blocks (the typed calls below use them) ----
  RawList listRaw(const ResourceRef& ref, std::string_view ns, const ListOptions& options);
  // Every page: follows continue tokens; when a token expires (410) it starts one full list.
  RawList listAllRaw(const ResourceRef& ref, std::string_view ns, const ListOptions& options);
  std::unique_ptr<RawWatch> watchRaw(const ResourceRef& ref, std::string_view ns,
                                     const ListOptions& options);
  std::string writeRaw(std::string_view method, const ResourceRef& ref, std::string_view ns,
                       std::string_view name, std::string_view subresource, std::string body,
                       std::string_view contentType, const std::string& query);

  // ---- typed calls ----
  template <class T>
  T get(std::string_view ns, std::string_view name, std::string_view subresource = {}) {
    const auto& ref = resourceOf<T>();
    return decodeObject<T>(call("GET", ref.path(namespaceFor(ref, ns), name, subresource)));
  }

  // Every object (all pages when options.limit > 0).
  template <class T>
  ObjectList<T> list(std::string_view ns, const ListOptions& options = {}) {
    return decodeList<T>(listAllRaw(resourceOf<T>(), ns, options));
  }
  // One page: options.limit and options.continue_ are the caller's.
  template <class T>
  ObjectList<T> listPage(std::string_view ns, const ListOptions& options) {
    return decodeList<T>(listRaw(resourceOf<T>(), ns, options));
  }

  // In the object's namespace (the default namespace when it has none).
  template <class T>
  T create(const T& object, const WriteOptions& options = {}) {
    const auto& ref = resourceOf<T>();
    return decodeObject<T>(writeRaw("POST", ref, namespaceFor(ref, object.metadata.namespace_), {},
                                    {}, api::encodeJson(object), "application/json",
                                    writeQuery(options)));
  }
  // Replaces the object; its metadata.resourceVersion, when set, must be current (else
  // ApiError isConflict()).
  template <class T>
  T update(const T& object, const WriteOptions& options = {}) {
    return put(object, {}, options);
  }
  template <class T>
  T updateStatus(const T& object, const WriteOptions& options = {}) {
    return put(object, "status", options);
  }

  template <class T>
  T patch(std::string_view ns, std::string_view name, PatchType type, std::string_view body,
          const PatchOptions& options = {}) {
    const auto& ref = resourceOf<T>();
    return decodeObject<T>(writeRaw("PATCH", ref, namespaceFor(ref, ns), name, options.subresource,
                                    std::string(body), contentTypeOf(type), patchQuery(options)));
  }

  // Deletes; returns the object when the server answers with it (graceful deletion still in
  // progress), nullopt when it answers with a Status (gone).
  template <class T>
  std::optional<T> remove(std::string_view ns, std::string_view name,
                          const api::meta::v1::DeleteOptions& options = {}) {
    const auto& ref = resourceOf<T>();
    const std::string body = writeRaw("DELETE", ref, namespaceFor(ref, ns), name, {},
                                      api::encodeJson(options), "application/json", {});
    if (api::decodeJson<api::meta::v1::TypeMeta>(body).kind == "Status") return std::nullopt;
    return decodeObject<T>(body);
  }

  // Streams changes after options.resourceVersion (all objects as ADDED first when it is empty
  // or "0").
  template <class T>
  std::unique_ptr<Watch<T>> watch(std::string_view ns, const ListOptions& options = {}) {
    return std::make_unique<Watch<T>>(watchRaw(resourceOf<T>(), ns, options));
  }

  // Decodes leniently (unknown fields dropped) and fills apiVersion and kind.
  template <class T>
  static T decodeObject(std::string_view json) {
    T object = api::decodeJson<T>(json);
    if (object.apiVersion.empty()) object.apiVersion = T::kApiVersion;
    if (object.kind.empty()) object.kind = T::kKind;
    return object;
  }

 private:
  template <class T>
  T put(const T& object, std::string_view subresource, const WriteOptions& options) {
    const auto& ref = resourceOf<T>();
    return decodeObject<T>(writeRaw("PUT", ref, namespaceFor(ref, object.metadata.namespace_),
                                    object.metadata.name, subresource, api::encodeJson(object),
                                    "application/json", writeQuery(options)));
  }
  template <class T>
  static ObjectList<T> decodeList(const RawList& raw) {
    ObjectList<T> out;
    out.items.reserve(raw.items.size());
    for (const auto& item : raw.items) out.items.push_back(decodeObject<T>(item));
    out.resourceVersion = raw.resourceVersion;
    out.continue_ = raw.continue_;
    out.remainingItemCount = raw.remainingItemCount;
    return out;
  }
  // Namespaced kinds: ns, or the default namespace when empty (for single objects).
  std::string namespaceFor(const ResourceRef& ref, std::string_view ns) const;
  static std::string writeQuery(const WriteOptions& options);
  static std::string patchQuery(const PatchOptions& options);

  Transport transport_;
};

}  // namespace kite::client
