// GET of one object, lists (pagination, selectors, tables) and watches.
#include <charconv>

#include "api_error.h"
#include "continue_token.h"
#include "field_selector.h"
#include "kite/api/labels.h"
#include "responses.h"
#include "rest_handler.h"
#include "stored_json.h"

namespace kite::controlplane::apiserver {

namespace {

Revision parseRevision(const std::string& text, const char* what) {
  Revision rv = 0;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, rv);
  if (ec != std::errc() || p != end || rv < 0) {
    throw ApiError::badRequest(std::string("invalid ") + what + ": \"" + text + "\"");
  }
  return rv;
}

api::labels::Selector labelSelectorOf(const RequestContext& ctx) {
  try {
    return api::labels::Selector::parse(ctx.query.get("labelSelector"));
  } catch (const std::invalid_argument& e) {
    throw ApiError::badRequest(std::string("unable to parse requirement: ") + e.what());
  }
}

std::int64_t parseLimit(const std::string& text) {
  if (text.empty()) return 0;
  std::int64_t v = 0;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end) throw ApiError::badRequest("invalid limit: \"" + text + "\"");
  return v < 0 ? 0 : v;
}

}  // namespace

http::Response RestHandler::objectResponse(RequestContext& ctx, int code, const std::string& json,
                                           const ApiObject* object) {
  if (ctx.representation == Representation::kObject) return jsonResponse(code, json);
  std::unique_ptr<ApiObject> decoded;
  if (object == nullptr) {
    decoded = ctx.type->decode(json, {});
    object = decoded.get();
  }
  const Revision rv = object->meta().resourceVersion.empty()
                          ? 0
                          : parseRevision(object->meta().resourceVersion, "resourceVersion");
  if (ctx.representation == Representation::kTable) {
    return jsonResponse(code, tableJson(*ctx.type, {object}, rv, {},
                                        parseIncludeObject(ctx.query.get("includeObject")), true));
  }
  return jsonResponse(code, partialMetadataJson(ctx.type->info(), *object));
}

http::Response RestHandler::get(RequestContext& ctx) {
  const auto& i = ctx.info;
  auto kv = repository_.getRaw(*ctx.type, i.namespace_, i.name);
  if (!kv) throw ApiError::notFound(ctx.type->info().group, ctx.type->info().resource, i.name);
  return objectResponse(ctx, 200, withResourceVersion(kv->value, kv->modRevision), nullptr);
}

http::Response RestHandler::list(RequestContext& ctx) {
  const ResourceType& type = *ctx.type;
  const auto labels = labelSelectorOf(ctx);
  const auto fields = FieldSelector::parse(ctx.query.get("fieldSelector"), type);
  const std::int64_t limit = parseLimit(ctx.query.get("limit"));
  const std::string continueParam = ctx.query.get("continue");
  const std::string rvParam = ctx.query.get("resourceVersion");
  const std::string rvMatch = ctx.query.get("resourceVersionMatch");
  if (!rvMatch.empty() && rvMatch != "Exact" && rvMatch != "NotOlderThan") {
    throw ApiError::badRequest("resourceVersionMatch: Unsupported value: \"" + rvMatch +
                               "\": supported values: \"Exact\", \"NotOlderThan\"");
  }
  if (!rvMatch.empty() && rvParam.empty()) {
    throw ApiError::badRequest(
        "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless "
        "resourceVersion is provided");
  }

  if (continueParam.empty() && rvMatch != "Exact") {
    if (auto r = listFromCache(ctx, labels, fields, limit)) return std::move(*r);
  }

  RangeRequest req;
  req.prefix = Repository::prefix(type.info(), ctx.info.namespace_);
  if (!continueParam.empty()) {
    if (!rvParam.empty() && rvParam != "0") {
      throw ApiError::badRequest("specifying resource version is not allowed when using continue");
    }
    auto token = ContinueToken::decode(continueParam);
    if (token.lastKey.rfind(req.prefix, 0) != 0) {
      throw ApiError::badRequest("continue key is not valid for this request");
    }
    req.startAfter = token.lastKey;
    req.revision = token.revision;
  } else if (!rvParam.empty() && rvMatch == "Exact") {
    req.revision = parseRevision(rvParam, "resourceVersion");
  } else if (!rvParam.empty()) {
    parseRevision(rvParam, "resourceVersion");
  }

  const bool needDecode = !labels.matchesEverything() || !fields.empty() ||
                          ctx.representation != Representation::kObject;
  std::vector<std::string> items;
  std::vector<std::unique_ptr<ApiObject>> objects;
  Revision readAt = 0;
  std::string nextToken;
  std::optional<std::int64_t> remaining;
  try {
    while (true) {
      RangeRequest page = req;
      if (limit > 0) page.limit = limit - static_cast<std::int64_t>(items.size());
      RangeResult r = repository_.store().range(page);
      readAt = r.revision;
      req.revision = r.revision;  // later pages read the same snapshot
      for (auto& kv : r.items) {
        req.startAfter = kv.key;
        if (needDecode) {
          auto loaded = Repository::decodeStored(type, kv);
          if (!labels.matches(loaded.object->meta().labels) ||
              !fields.matches(type, *loaded.object)) {
            continue;
          }
          if (ctx.representation == Representation::kObject) {
            items.push_back(withResourceVersion(kv.value, kv.modRevision));
          } else {
            objects.push_back(std::move(loaded.object));
          }
        } else {
          items.push_back(withResourceVersion(kv.value, kv.modRevision));
        }
      }
      const std::size_t have = needDecode && ctx.representation != Representation::kObject
                                   ? objects.size()
                                   : items.size();
      if (!r.more) break;
      if (limit > 0 && static_cast<std::int64_t>(have) >= limit) {
        nextToken = ContinueToken{readAt, req.startAfter}.encode();
        if (!needDecode) {
          remaining = repository_.store().count(req.prefix) - static_cast<std::int64_t>(have);
          if (*remaining <= 0) remaining.reset();
        }
        break;
      }
    }
  } catch (const StoreError& e) {
    if (e.code() == StoreErrorCode::kCompacted && !continueParam.empty()) {
      throw ApiError::gone(
          "The provided continue parameter is too old to display a consistent list result. "
          "You can start a new list without the continue parameter, or use the continue token "
          "in this response to retrieve the remainder of the results. Continuing with the "
          "provided token results in an inconsistent list - objects that were created, "
          "modified, or deleted between the time the first chunk was returned and now may show "
          "up in the list.");
    }
    if (e.code() == StoreErrorCode::kCompacted) {
      throw ApiError::gone("too old resource version: " + rvParam);
    }
    if (e.code() == StoreErrorCode::kFutureRevision) {
      throw ApiError::timeout("Too large resource version: " + rvParam);
    }
    throw;
  }

  if (ctx.representation == Representation::kObject) {
    return jsonResponse(200, listJson(type.info(), readAt, nextToken, remaining, items));
  }
  std::vector<const ApiObject*> view;
  view.reserve(objects.size());
  for (const auto& o : objects) view.push_back(o.get());
  if (ctx.representation == Representation::kTable) {
    return jsonResponse(200, tableJson(type, view, readAt, nextToken,
                                       parseIncludeObject(ctx.query.get("includeObject")), true));
  }
  return jsonResponse(200, partialMetadataListJson(type.info(), view, readAt, nextToken));
}

std::optional<http::Response> RestHandler::listFromCache(RequestContext& ctx,
                                                         const api::labels::Selector& labels,
                                                         const FieldSelector& fields,
                                                         std::int64_t limit) {
  ResourceCache* cache = caches_ ? caches_(ctx.type) : nullptr;
  if (cache == nullptr) return std::nullopt;
  const std::string rvParam = ctx.query.get("resourceVersion");
  constexpr auto kWait = std::chrono::seconds(3);
  if (rvParam.empty()) {
    // A consistent read: the cache must have caught up with the Store's newest revision.
    if (!cache->waitFor(repository_.store().currentRevision(), kWait)) return std::nullopt;
  } else if (rvParam != "0") {
    if (!cache->waitFor(parseRevision(rvParam, "resourceVersion"), kWait)) return std::nullopt;
  } else if (!cache->healthy()) {
    return std::nullopt;
  }
  const ResourceType& type = *ctx.type;
  ResourceCache::Filter filter;
  if (!labels.matchesEverything() || !fields.empty()) {
    filter = [&](const CachedObject& o) {
      return labels.matches(o.labels) && fields.matches(o.fields);
    };
  }
  auto page = cache->list(Repository::prefix(type.info(), ctx.info.namespace_), filter, limit);
  std::string token;
  if (page.more && !page.items.empty()) {
    token = ContinueToken{page.revision, page.items.back()->key}.encode();
  }
  if (ctx.representation == Representation::kObject) {
    // One string, sized once: a list of 10k pods is ~10 MB and copies cost more than the rest.
    std::size_t size = 256 + token.size();
    for (const auto& o : page.items) size += o->json.size() + 48;
    std::string body;
    body.reserve(size);
    body.append(listPrefix(type.info(), page.revision, token, page.remaining));
    bool first = true;
    for (const auto& o : page.items) {
      if (!first) body.push_back(',');
      first = false;
      appendWithResourceVersion(body, o->json, o->revision);
    }
    body.append("]}");
    return jsonResponse(200, std::move(body));
  }
  std::vector<std::unique_ptr<ApiObject>> objects;
  std::vector<const ApiObject*> view;
  objects.reserve(page.items.size());
  for (const auto& o : page.items) {
    objects.push_back(type.decode(o->json, {}));
    objects.back()->meta().resourceVersion = std::to_string(o->revision);
    view.push_back(objects.back().get());
  }
  if (ctx.representation == Representation::kTable) {
    return jsonResponse(200, tableJson(type, view, page.revision, token,
                                       parseIncludeObject(ctx.query.get("includeObject")), true));
  }
  return jsonResponse(200, partialMetadataListJson(type.info(), view, page.revision, token));
}

void RestHandler::watch(RequestContext& ctx, const std::shared_ptr<http::Responder>& responder) {
  const ResourceType& type = *ctx.type;
  WatchSpec spec;
  spec.type = &type;
  spec.prefix = Repository::prefix(type.info(), ctx.info.namespace_);
  spec.labels = labelSelectorOf(ctx);
  spec.fields = FieldSelector::parse(ctx.query.get("fieldSelector"), type);
  if (!ctx.info.name.empty()) {
    // GET .../pods/NAME?watch=true: a watch on one object.
    spec.fields = FieldSelector::parse("metadata.name=" + ctx.info.name, type);
  }
  const std::string rv = ctx.query.get("resourceVersion");
  if (rv.empty() || rv == "0") {
    spec.sendInitialState = true;
  } else {
    spec.after = parseRevision(rv, "resourceVersion");
  }
  spec.bookmarks = ctx.query.get("allowWatchBookmarks") == "true";
  if (const std::string t = ctx.query.get("timeoutSeconds"); !t.empty()) {
    const std::int64_t secs = parseLimit(t);
    spec.timeout = std::chrono::seconds(std::clamp<std::int64_t>(secs, 1, std::int64_t{24} * 3600));
  }
  spec.representation = ctx.representation;
  spec.include = parseIncludeObject(ctx.query.get("includeObject"));
  if (spec.after > 0 && spec.after < repository_.store().compactedRevision()) {
    throw ApiError::gone("too old resource version: " + rv + " (" +
                         std::to_string(repository_.store().compactedRevision()) + ")");
  }
  http::Headers headers{{"content-type", "application/json"}};
  for (const auto& w : ctx.warnings) headers.emplace_back("warning", "299 - \"" + w + "\"");
  auto stream = responder->startStream(200, std::move(headers));
  watches_.start(std::move(spec), stream, caches_ ? caches_(ctx.type) : nullptr);
}

}  // namespace kite::controlplane::apiserver
