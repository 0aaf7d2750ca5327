#include "kite/client/client.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stdexcept>

#include "kite/api/registry_info.h"

namespace kite::client {

std::string urlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4U]);
      out.push_back(kHex[c & 15U]);
    }
  }
  return out;
}

std::string ResourceRef::path(std::string_view ns, std::string_view name,
                              std::string_view subresource) const {
  std::string p = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) p.append("/namespaces/").append(urlEncode(ns));
  p.append("/").append(resource);
  if (!name.empty()) p.append("/").append(urlEncode(name));
  if (!subresource.empty()) p.append("/").append(subresource);
  return p;
}

ResourceRef resourceFor(std::string_view apiVersion, std::string_view kind) {
  const api::ResourceInfo* info = api::findBuiltinKind(apiVersion, kind);
  if (info == nullptr) {
    std::string msg = "no built-in resource serves ";
    msg.append(apiVersion).append(" ").append(kind);
    throw std::invalid_argument(msg);
  }
  ResourceRef ref;
  ref.group = std::string(info->group);
  ref.version = std::string(info->version);
  ref.resource = std::string(info->resource);
  ref.namespaced = info->namespaced;
  ref.apiVersion = std::string(info->apiVersion);
  ref.kind = std::string(info->kind);
  return ref;
}

std::string_view contentTypeOf(PatchType type) {
  switch (type) {
    case PatchType::Json:
      return "application/json-patch+json";
    case PatchType::Merge:
      return "application/merge-patch+json";
    case PatchType::Strategic:
      return "application/strategic-merge-patch+json";
    case PatchType::Apply:
      return "application/apply-patch+yaml";
  }
  return "application/merge-patch+json";
}

namespace {

void addParam(std::string& q, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  q.append(q.empty() ? "" : "&").append(key).append("=").append(urlEncode(value));
}

std::string withQuery(std::string path, const std::string& query) {
  if (!query.empty()) path.append("?").append(query);
  return path;
}

}  // namespace

std::string listQuery(const ListOptions& o, bool watch) {
  std::string q;
  if (watch) addParam(q, "watch", "true");
  addParam(q, "labelSelector", o.labelSelector);
  addParam(q, "fieldSelector", o.fieldSelector);
  if (!watch && o.limit > 0) addParam(q, "limit", std::to_string(o.limit));
  if (!watch) addParam(q, "continue", o.continue_);
  addParam(q, "resourceVersion", o.resourceVersion);
  if (!watch) addParam(q, "resourceVersionMatch", o.resourceVersionMatch);
  if (o.timeoutSeconds) addParam(q, "timeoutSeconds", std::to_string(*o.timeoutSeconds));
  if (watch && o.allowWatchBookmarks) addParam(q, "allowWatchBookmarks", "true");
  return q;
}

std::string Client::writeQuery(const WriteOptions& o) {
  std::string q;
  addParam(q, "fieldManager", o.fieldManager);
  if (o.dryRun) addParam(q, "dryRun", "All");
  addParam(q, "fieldValidation", o.fieldValidation);
  return q;
}

std::string Client::patchQuery(const PatchOptions& o) {
  std::string q;
  addParam(q, "fieldManager", o.fieldManager);
  if (o.force) addParam(q, "force", "true");
  if (o.dryRun) addParam(q, "dryRun", "All");
  addParam(q, "fieldValidation", o.fieldValidation);
  return q;
}

Client::Client(RestConfig config) : transport_(std::move(config)) {}

Client::~Client() = default;

std::string Client::namespaceFor(const ResourceRef& ref, std::string_view ns) const {
  if (!ref.namespaced) return {};
  return ns.empty() ? defaultNamespace() : std::string(ns);
}

std::string Client::call(std::string_view method, std::string_view target, std::string body,
                         std::string_view contentType) {
  HttpRequest req;
  req.method = std::string(method);
  req.target = std::string(target);
  if (!body.empty()) {
    req.body = std::move(body);
    req.contentType = std::string(contentType);
  }
  HttpResponse res = transport_.send(req);
  if (res.status < 200 || res.status > 299) {
    throw ApiError(req.method, req.target, statusFromHttp(res.status, res.body));
  }
  return std::move(res.body);
}

RawList Client::listRaw(const ResourceRef& ref, std::string_view ns, const ListOptions& options) {
  const std::string target =
      withQuery(ref.path(ref.namespaced ? ns : ""), listQuery(options, false));
  const std::string body = call("GET", target);
  // Typed lists (ConfigMapList...) are split here: items stay JSON text for the caller's type.
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    throw TransportError("GET " + target + ": the answer is not a JSON object");
  }
  RawList out;
  if (const auto meta = doc.FindMember("metadata");
      meta != doc.MemberEnd() && meta->value.IsObject()) {
    const auto& m = meta->value;
    if (const auto rv = m.FindMember("resourceVersion");
        rv != m.MemberEnd() && rv->value.IsString()) {
      out.resourceVersion = rv->value.GetString();
    }
    if (const auto c = m.FindMember("continue"); c != m.MemberEnd() && c->value.IsString()) {
      out.continue_ = c->value.GetString();
    }
    if (const auto r = m.FindMember("remainingItemCount");
        r != m.MemberEnd() && r->value.IsInt64()) {
      out.remainingItemCount = r->value.GetInt64();
    }
  }
  if (const auto items = doc.FindMember("items");
      items != doc.MemberEnd() && items->value.IsArray()) {
    out.items.reserve(items->value.Size());
    for (const auto& item : items->value.GetArray()) {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
      item.Accept(writer);
      out.items.emplace_back(buf.GetString(), buf.GetSize());
    }
  }
  return out;
}

RawList Client::listAllRaw(const ResourceRef& ref, std::string_view ns,
                           const ListOptions& options) {
  RawList all = listRaw(ref, ns, options);
  ListOptions next = options;
  while (!all.continue_.empty()) {
    next.continue_ = all.continue_;
    // The continue token carries the snapshot; the two must not be combined.
    next.resourceVersion.clear();
    next.resourceVersionMatch.clear();
    RawList page;
    try {
      page = listRaw(ref, ns, next);
    } catch (const ApiError& e) {
      if (!e.isGone()) throw;
      // The snapshot was compacted away between pages: one consistent list without paging.
      ListOptions full = options;
      full.limit = 0;
      full.continue_.clear();
      return listRaw(ref, ns, full);
    }
    for (auto& item : page.items) all.items.push_back(std::move(item));
    all.continue_ = std::move(page.continue_);
    all.remainingItemCount = page.remainingItemCount;
  }
  all.remainingItemCount.reset();
  return all;
}

std::unique_ptr<RawWatch> Client::watchRaw(const ResourceRef& ref, std::string_view ns,
                                           const ListOptions& options) {
  HttpRequest req;
  req.target = withQuery(ref.path(ref.namespaced ? ns : ""), listQuery(options, true));
  // Silence longer than the watch's own timeout (plus a margin) means a dead connection. The
  // server sends nothing while nothing changes, so without timeoutSeconds allow a long wait.
  const auto readTimeout = options.timeoutSeconds
                               ? std::chrono::milliseconds((*options.timeoutSeconds + 30) * 1000)
                               : std::chrono::milliseconds(std::chrono::hours(24));
  return std::make_unique<RawWatch>(transport_, std::move(req), readTimeout);
}

std::string Client::writeRaw(std::string_view method, const ResourceRef& ref, std::string_view ns,
                             std::string_view name, std::string_view subresource, std::string body,
                             std::string_view contentType, const std::string& query) {
  return call(method, withQuery(ref.path(ns, name, subresource), query), std::move(body),
              contentType);
}

}  // namespace kite::client
