// The scale subresource (deployments, replicasets, statefulsets): an autoscaling/v1 Scale
// view of spec.replicas, status.replicas and the selector, as `kubectl scale` reads and
// patches it.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api_error.h"
#include "kite/api/labels.h"
#include "patch.h"
#include "responses.h"
#include "rest_handler.h"
#include "stored_json.h"

namespace kite::controlplane::apiserver {

namespace {

using rapidjson::Document;
using rapidjson::Value;

std::string serialize(const Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

// Scale JSON from the workload's stored JSON (with its resourceVersion).
std::string scaleOf(const std::string& workloadJson) {
  Document d;
  d.Parse(workloadJson.data(), workloadJson.size());
  Document s(rapidjson::kObjectType);
  auto& a = s.GetAllocator();
  s.AddMember("kind", "Scale", a);
  s.AddMember("apiVersion", "autoscaling/v1", a);
  Value meta(rapidjson::kObjectType);
  const Value& m = d["metadata"];
  for (const char* k : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"}) {
    if (m.HasMember(k)) meta.AddMember(Value(k, a), Value(m[k], a), a);
  }
  s.AddMember("metadata", meta, a);
  std::int64_t replicas = 1;
  std::string selector;
  if (d.HasMember("spec")) {
    const Value& spec = d["spec"];
    if (spec.HasMember("replicas") && spec["replicas"].IsInt64())
      replicas = spec["replicas"].GetInt64();
    if (spec.HasMember("selector")) {
      api::meta::v1::LabelSelector ls =
          api::decodeJson<api::meta::v1::LabelSelector>(serialize(spec["selector"]));
      try {
        selector = api::labels::Selector::fromLabelSelector(ls).toString();
      } catch (const std::invalid_argument&) {
      }
    }
  }
  std::int64_t current = 0;
  if (d.HasMember("status") && d["status"].HasMember("replicas") &&
      d["status"]["replicas"].IsInt64()) {
    current = d["status"]["replicas"].GetInt64();
  }
  Value spec(rapidjson::kObjectType);
  spec.AddMember("replicas", replicas, a);
  s.AddMember("spec", spec, a);
  Value status(rapidjson::kObjectType);
  status.AddMember("replicas", current, a);
  status.AddMember("selector", Value(selector.c_str(), a), a);
  s.AddMember("status", status, a);
  return serialize(s);
}

}  // namespace

http::Response RestHandler::scale(RequestContext& ctx) {
  const auto& info = ctx.type->info();
  if (std::find(info.subresources.begin(), info.subresources.end(), "scale") ==
      info.subresources.end()) {
    throw ApiError::notFound(info.group, info.resource + "/scale", ctx.info.name);
  }
  const std::string& name = ctx.info.name;
  const std::string method = ctx.request.method;
  if (method == "GET") {
    auto kv = repository_.getRaw(*ctx.type, ctx.info.namespace_, name);
    if (!kv) throw ApiError::notFound(info.group, info.resource, name);
    return jsonResponse(200, scaleOf(withResourceVersion(kv->value, kv->modRevision)));
  }
  const bool isPatch = method == "PATCH";
  const auto format = bodyFormat(ctx.request.header("content-type").value_or(""), isPatch);
  auto result = repository_.update(
      *ctx.type, ctx.info.namespace_, name,
      [&](const ApiObject* cur) -> std::unique_ptr<ApiObject> {
        if (cur == nullptr) throw ApiError::notFound(info.group, info.resource, name);
        const std::string current = scaleOf(cur->encode());
        std::string wanted = ctx.request.body;
        if (isPatch) {
          wanted = format == BodyFormat::kJsonPatch ? applyJsonPatch(current, wanted)
                   : format == BodyFormat::kMergePatch
                       ? applyMergePatch(current, wanted)
                       : applyStrategicMergePatch(current, wanted,
                                                  listMergeRulesFor("autoscaling/v1", "Scale"));
        }
        Document d;
        d.Parse(wanted.data(), wanted.size());
        if (d.HasParseError() || !d.IsObject() || !d.HasMember("spec") || !d["spec"].IsObject()) {
          throw ApiError::badRequest("the body is not a valid Scale");
        }
        std::int64_t replicas = 0;
        if (d["spec"].HasMember("replicas")) {
          if (!d["spec"]["replicas"].IsInt64())
            throw ApiError::badRequest("spec.replicas must be an integer");
          replicas = d["spec"]["replicas"].GetInt64();
        }
        if (replicas < 0 || replicas > 1000000) {
          api::FieldErrors errors({api::FieldError::invalid("spec.replicas", replicas,
                                                            "must be greater than or equal to 0")});
          throw ApiError::invalid("autoscaling", "Scale", name,
                                  errors.toStatus("Scale", name, "autoscaling"));
        }
        if (d.HasMember("metadata") && d["metadata"].HasMember("resourceVersion") &&
            d["metadata"]["resourceVersion"].IsString() &&
            std::string(d["metadata"]["resourceVersion"].GetString()) !=
                cur->meta().resourceVersion &&
            !std::string(d["metadata"]["resourceVersion"].GetString()).empty()) {
          throw ApiError::conflict(info.group, info.resource, name,
                                   "the object has been modified; please apply your changes to the "
                                   "latest version and try again");
        }
        const std::string patched = applyMergePatch(
            cur->encode(), "{\"spec\":{\"replicas\":" + std::to_string(replicas) + "}}");
        auto next = ctx.type->decode(patched, {});
        RequestContext mainCtx{ctx.request,        ctx.query, ctx.info, ctx.type,
                               ctx.representation, ctx.user,  {}};
        mainCtx.info.subresource.clear();
        auto prepared = prepareUpdate(mainCtx, std::move(next), *cur);
        // Recorded as upstream's scale handler does: the writer owns spec.replicas through
        // subresource "scale", which a later apply of another replica count conflicts with.
        recordUpdate(fieldOwner(ctx), cur, *prepared);
        return prepared;
      });
  return jsonResponse(200, scaleOf(result.json));
}

}  // namespace kite::controlplane::apiserver
