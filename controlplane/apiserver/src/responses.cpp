#include "responses.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>

#include "api_error.h"
#include "kite/api/json.h"

namespace kite::controlplane::apiserver {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void writeString(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void writeRaw(Writer& w, std::string_view json) {
  w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

void writeListMeta(Writer& w, Revision revision, std::string_view continueToken,
                   std::optional<std::int64_t> remaining) {
  w.Key("metadata");
  w.StartObject();
  w.Key("resourceVersion");
  writeString(w, std::to_string(revision));
  if (!continueToken.empty()) {
    w.Key("continue");
    writeString(w, continueToken);
  }
  if (remaining) {
    w.Key("remainingItemCount");
    w.Int64(*remaining);
  }
  w.EndObject();
}

std::string metadataJson(const ApiObject& object) {
  // Encode a PartialObjectMetadata to reuse the generated ObjectMeta encoder.
  api::meta::v1::PartialObjectMetadata p;
  p.metadata = object.meta();
  p.metadata.managedFields.clear();
  return api::encodeJson(p);
}

}  // namespace

http::Response jsonResponse(int code, std::string body) {
  http::Response r;
  r.status = code;
  r.headers.emplace_back("content-type", "application/json");
  r.body = std::move(body);
  return r;
}

http::Response statusResponse(const api::meta::v1::Status& status) {
  return jsonResponse(status.code == 0 ? 500 : status.code, api::encodeJson(status));
}

api::meta::v1::Status successStatus(std::string_view group, std::string_view kind,
                                    std::string_view name, std::string_view uid) {
  api::meta::v1::Status s;
  s.apiVersion = "v1";
  s.kind = "Status";
  s.status = "Success";
  s.details.emplace();
  s.details->name = std::string(name);
  s.details->group = std::string(group);
  s.details->kind = std::string(kind);
  s.details->uid = std::string(uid);
  return s;
}

std::string listJson(const ResourceInfo& info, Revision revision, std::string_view continueToken,
                     std::optional<std::int64_t> remaining, const std::vector<std::string>& items) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("kind");
  writeString(w, info.kind + "List");
  w.Key("apiVersion");
  writeString(w, info.groupVersion());
  writeListMeta(w, revision, continueToken, remaining);
  w.Key("items");
  w.StartArray();
  for (const auto& item : items) writeRaw(w, item);
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string listPrefix(const ResourceInfo& info, Revision revision, std::string_view continueToken,
                       std::optional<std::int64_t> remaining) {
  std::string json = listJson(info, revision, continueToken, remaining, {});
  json.resize(json.size() - 2);  // drop "]}"
  return json;
}

IncludeObject parseIncludeObject(std::string_view value) {
  if (value.empty() || value == "Metadata") return IncludeObject::kMetadata;
  if (value == "None") return IncludeObject::kNone;
  if (value == "Object") return IncludeObject::kObject;
  throw ApiError::badRequest("includeObject must be one of None, Metadata, Object");
}

std::string tableJson(const ResourceType& type, const std::vector<const ApiObject*>& objects,
                      Revision revision, std::string_view continueToken, IncludeObject include,
                      bool withColumns) {
  const auto now = std::chrono::system_clock::now();
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("kind");
  w.String("Table");
  w.Key("apiVersion");
  w.String("meta.k8s.io/v1");
  writeListMeta(w, revision, continueToken, std::nullopt);
  w.Key("columnDefinitions");
  w.StartArray();
  if (withColumns) {
    for (const auto& c : type.tableColumns()) {
      w.StartObject();
      w.Key("name");
      writeString(w, c.name);
      w.Key("type");
      writeString(w, c.type);
      w.Key("format");
      writeString(w, c.format);
      w.Key("description");
      writeString(w, c.description);
      w.Key("priority");
      w.Int(c.priority);
      w.EndObject();
    }
  }
  w.EndArray();
  w.Key("rows");
  w.StartArray();
  for (const ApiObject* o : objects) {
    w.StartObject();
    w.Key("cells");
    w.StartArray();
    for (const auto& cell : type.tableRow(*o, now)) {
      if (const auto* s = std::get_if<std::string>(&cell)) {
        writeString(w, *s);
      } else if (const auto* b = std::get_if<bool>(&cell)) {
        w.Bool(*b);
      } else {
        w.Int64(std::get<std::int64_t>(cell));
      }
    }
    w.EndArray();
    if (include != IncludeObject::kNone) {
      w.Key("object");
      writeRaw(w, include == IncludeObject::kObject ? o->encode() : metadataJson(*o));
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string partialMetadataJson(const ResourceInfo& info, const ApiObject& object) {
  (void)info;
  return metadataJson(object);
}

std::string partialMetadataListJson(const ResourceInfo& info,
                                    const std::vector<const ApiObject*>& objects, Revision revision,
                                    std::string_view continueToken) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("kind");
  w.String("PartialObjectMetadataList");
  w.Key("apiVersion");
  w.String("meta.k8s.io/v1");
  writeListMeta(w, revision, continueToken, std::nullopt);
  w.Key("items");
  w.StartArray();
  for (const ApiObject* o : objects) writeRaw(w, partialMetadataJson(info, *o));
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string watchEventLine(std::string_view type, std::string_view objectJson) {
  std::string out;
  out.reserve(objectJson.size() + type.size() + 24);
  out.append("{\"type\":\"").append(type).append("\",\"object\":");
  out.append(objectJson);
  out.append("}\n");
  return out;
}

}  // namespace kite::controlplane::apiserver
