// The subresources kite serves itself: pods/binding, pods/eviction,
// serviceaccounts/token, the review kinds, and the object admission (NodeRestriction) every
// write passes.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api_error.h"
#include "kite/api/authentication/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/meta.h"
#include "kite/api/time.h"
#include "responses.h"
#include "rest_handler.h"
#include "reviews.h"

namespace kite::controlplane::apiserver {

namespace corev1 = api::core::v1;
using api::meta::v1::DeleteOptions;

http::Response RestHandler::createSubresource(RequestContext& ctx) {
  const auto& info = ctx.type->info();
  const auto& sub = ctx.info.subresource;
  const std::string& name = ctx.info.name;
  if (isPods(info) && sub == "binding") {
    const std::string body = bodyAsJson(ctx);
    corev1::Binding binding;
    try {
      binding = api::decodeJson<corev1::Binding>(body, {});
    } catch (const std::exception& e) {
      throw ApiError::badRequest(std::string("invalid Binding: ") + e.what());
    }
    if (binding.target.name.empty()) {
      throwInvalid(*ctx.type, name, {api::FieldError::required("target.name", "")});
    }
    repository_.update(
        *ctx.type, ctx.info.namespace_, name,
        [&](const ApiObject* cur) -> std::unique_ptr<ApiObject> {
          if (cur == nullptr) throw ApiError::notFound(info.group, info.resource, name);
          const auto& pod = as<corev1::Pod>(*cur);
          if (pod.metadata.deletionTimestamp) {
            throw ApiError::conflict(
                info.group, info.resource, name,
                "pod " + name + " is being deleted, cannot be assigned to a host");
          }
          if (!pod.spec.nodeName.empty()) {
            throw ApiError::conflict(
                info.group, "pods/binding", name,
                "pod " + name + " is already assigned to node \"" + pod.spec.nodeName + "\"");
          }
          auto next = cur->clone();
          auto& p = as<corev1::Pod>(*next);
          p.spec.nodeName = binding.target.name;
          corev1::PodCondition scheduled;
          scheduled.type = "PodScheduled";
          scheduled.status = "True";
          scheduled.lastTransitionTime = api::Time::now();
          if (auto* c = api::findCondition(p.status.conditions, "PodScheduled")) {
            *c = scheduled;
          } else {
            p.status.conditions.push_back(scheduled);
          }
          return next;
        });
    return jsonResponse(201, api::encodeJson(successStatus("", "", "", "")));
  }
  if (isPods(info) && sub == "eviction") {
    DeleteOptions options;
    const std::string evictionJson = bodyAsJson(ctx);
    rapidjson::Document d;
    d.Parse(evictionJson.data(), evictionJson.size());
    if (!d.HasParseError() && d.IsObject() && d.HasMember("deleteOptions")) {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      d["deleteOptions"].Accept(w);
      options = api::decodeJson<DeleteOptions>(std::string_view(buf.GetString(), buf.GetSize()));
    }
    deleteObject(ctx, name, options);
    return jsonResponse(201, api::encodeJson(successStatus("", "", "", "")));
  }
  if (info.group.empty() && info.resource == "serviceaccounts" && sub == "token") {
    return createToken(ctx);
  }
  throw ApiError::methodNotSupported(info.group, info.resource + "/" + sub, "create");
}

http::Response RestHandler::createToken(RequestContext& ctx) {
  namespace authnv1 = api::authentication::v1;
  if (!hooks_.tokenIssuer) throw ApiError::serviceUnavailable("this server issues no tokens");
  authnv1::TokenRequest request;
  try {
    request = api::decodeJson<authnv1::TokenRequest>(bodyAsJson(ctx), {});
  } catch (const ApiError&) {
    throw;
  } catch (const std::exception& e) {
    throw ApiError::badRequest(std::string("invalid TokenRequest: ") + e.what());
  }
  const std::string& name = ctx.info.name;
  auto sa = repository_.get(*ctx.type, ctx.info.namespace_, name);
  ServiceAccountTokenRequest want;
  want.namespace_ = ctx.info.namespace_;
  want.serviceAccountName = name;
  want.serviceAccountUid = sa.object->meta().uid;
  want.audiences = request.spec.audiences;
  want.expirationSeconds = request.spec.expirationSeconds.value_or(3600);
  if (want.expirationSeconds < 600) {
    api::FieldErrors errors(
        {api::FieldError::invalid("spec.expirationSeconds", want.expirationSeconds,
                                  "may not specify a duration less than 10 minutes")});
    throw ApiError::invalid("authentication.k8s.io", "TokenRequest", name,
                            errors.toStatus("TokenRequest", name, "authentication.k8s.io"));
  }
  if (const auto& ref = request.spec.boundObjectRef; ref && ref->kind == "Pod") {
    const ResourceType* pods = registry_.find("", "v1", "pods");
    auto pod = repository_.get(*pods, ctx.info.namespace_, ref->name);
    if (!ref->uid.empty() && ref->uid != pod.object->meta().uid) {
      throw ApiError::conflict("", "pods", ref->name,
                               "the UID in the bound object reference (" + ref->uid +
                                   ") does not match the UID in record");
    }
    want.podName = ref->name;
    want.podUid = pod.object->meta().uid;
  }
  authnv1::TokenRequest answer = request;
  answer.apiVersion = "authentication.k8s.io/v1";
  answer.kind = "TokenRequest";
  answer.metadata.name = name;
  answer.metadata.namespace_ = ctx.info.namespace_;
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  answer.metadata.creationTimestamp = api::Time(now);
  answer.spec.expirationSeconds = want.expirationSeconds;
  answer.status.token = hooks_.tokenIssuer(want);
  answer.status.expirationTimestamp = api::Time(now + std::chrono::seconds(want.expirationSeconds));
  return jsonResponse(201, api::encodeJson(answer));
}

http::Response RestHandler::review(RequestContext& ctx) {
  if (ctx.info.verb != "create" || !ctx.info.name.empty()) {
    throw ApiError::methodNotSupported(ctx.type->info().group, ctx.type->info().resource,
                                       ctx.info.verb);
  }
  ReviewContext rc;
  rc.authorizer = hooks_.authorizer;
  rc.authenticator = hooks_.authenticator;
  rc.rules = hooks_.rules;
  rc.namespace_ = ctx.info.namespace_;
  return jsonResponse(201, reviewJson(ctx.type->info().kind, bodyAsJson(ctx), ctx.user, rc));
}

void RestHandler::admitObjects(const RequestContext& ctx, const ApiObject* object,
                               const ApiObject* old) const {
  if (!hooks_.objectAdmission) return;
  Attributes a;
  a.verb = ctx.info.verb;
  a.group = ctx.info.group;
  a.version = ctx.info.version;
  a.resource = ctx.info.resource;
  a.subresource = ctx.info.subresource;
  a.namespace_ = ctx.info.namespace_;
  a.name = ctx.info.name;
  if (a.name.empty() && object != nullptr) a.name = object->meta().name;
  const std::string reason = hooks_.objectAdmission(
      ctx.user, a, object ? object->encode() : std::string(), old ? old->encode() : std::string());
  if (reason.empty()) return;
  throw ApiError::failure(
      403, "Forbidden",
      qualifiedResource(a.group, a.resource) + " \"" + a.name + "\" is forbidden: " + reason);
}

}  // namespace kite::controlplane::apiserver
