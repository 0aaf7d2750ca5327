// Reading a write's body: its content type (JSON, YAML, protobuf), its apiVersion and kind
// against the URL's, decoding with fieldValidation, the kind's conversion and the namespace,
// with upstream's answers for each refusal.
#include <rapidjson/document.h>

#include <string>

#include "api_error.h"
#include "kite/api/json.h"
#include "kite/api/protobuf.h"
#include "negotiation.h"
#include "rest_handler.h"

namespace kite::controlplane::apiserver {

namespace {

struct TypeMeta {
  std::string apiVersion;
  std::string kind;
};

// apiVersion and kind of a JSON object without decoding the rest.
TypeMeta peekTypeMeta(std::string_view json) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(json.data(),
                                                                                  json.size());
  TypeMeta t;
  if (d.HasParseError() || !d.IsObject()) return t;
  if (auto it = d.FindMember("apiVersion"); it != d.MemberEnd() && it->value.IsString()) {
    t.apiVersion = it->value.GetString();
  }
  if (auto it = d.FindMember("kind"); it != d.MemberEnd() && it->value.IsString()) {
    t.kind = it->value.GetString();
  }
  return t;
}

// Upstream's answer to a patched object it cannot decode: Invalid, with no kind or name, the
// field "patch" and the patched object as the value.
[[noreturn]] void throwInvalidPatch(std::string_view patchedJson, const std::string& error) {
  api::FieldErrors errors({api::FieldError::invalid("patch", patchedJson, error)});
  auto status = errors.toStatus();
  status.message = R"( "" is invalid: )" + status.message;
  throw ApiError::invalid("", "", "", std::move(status));
}

}  // namespace

std::string RestHandler::bodyAsJson(RequestContext& ctx) {
  const auto& body = ctx.request.body;
  if (body.empty()) throw ApiError::badRequest("the request body is empty");
  const auto format = bodyFormat(ctx.request.header("content-type").value_or(""), false);
  if (format == BodyFormat::kYaml) {
    auto docs = api::yamlToJsonDocuments(body);
    if (docs.size() != 1) throw ApiError::badRequest("expected one YAML document in the body");
    return docs.front();
  }
  if (format == BodyFormat::kProtobuf) return api::protobufToJson(body);
  return body;
}

std::unique_ptr<ApiObject> RestHandler::decodeBody(RequestContext& ctx, std::string_view json,
                                                   bool patched) {
  const auto& info = ctx.type->info();
  // Upstream's words for a body its decoder refuses.
  const auto cannotHandle = [&info](const std::string& detail) {
    return ApiError::badRequest(info.kind + " in version \"" + info.version +
                                "\" cannot be handled as a " + info.kind + ": " + detail);
  };
  const TypeMeta tm = peekTypeMeta(json);
  const std::string expectedGv = info.groupVersion();
  if (!tm.apiVersion.empty() && tm.apiVersion != expectedGv) {
    throw ApiError::badRequest("the API version in the data (" + tm.apiVersion +
                               ") does not match the expected API version (" + expectedGv + ")");
  }
  if (!tm.kind.empty() && tm.kind != info.kind) {
    throw cannotHandle("the kind in the data (" + tm.kind + ") does not match the expected kind (" +
                       info.kind + ")");
  }
  api::DecodeOptions options;
  const std::string validation = ctx.query.get("fieldValidation");
  if (validation == "Strict") {
    options.strict = true;
  } else if (validation.empty() || validation == "Warn") {
    options.warnings = &ctx.warnings;
  } else if (validation != "Ignore") {
    throw ApiError::badRequest("fieldValidation: Unsupported value: \"" + validation +
                               "\": supported values: \"Ignore\", \"Strict\", \"Warn\"");
  }
  try {
    auto object = ctx.type->decode(json, options);
    if (auto error = ctx.type->conversionError(*object)) {
      if (patched) throwInvalidPatch(json, *error);
      throw cannotHandle(*error);
    }
    auto& m = object->meta();
    if (info.namespaced) {
      if (m.namespace_.empty()) {
        m.namespace_ = ctx.info.namespace_;
      } else if (!ctx.info.namespace_.empty() && m.namespace_ != ctx.info.namespace_) {
        throw ApiError::badRequest(
            "the namespace of the provided object does not match the namespace sent on the "
            "request");
      }
    } else {
      m.namespace_.clear();
    }
    return object;
  } catch (const api::ParseError& e) {
    throw cannotHandle(e.what());
  } catch (const api::FieldErrors& e) {
    std::string detail = options.strict ? "strict decoding error: " : "";
    detail.append(api::aggregateMessage(e.errors()));
    throw cannotHandle(detail);
  }
}

}  // namespace kite::controlplane::apiserver
