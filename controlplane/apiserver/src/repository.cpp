#include "repository.h"

#include "api_error.h"
#include "stored_json.h"

namespace kite::controlplane::apiserver {

std::string Repository::key(const ResourceInfo& info, std::string_view ns, std::string_view name) {
  std::string k = prefix(info, ns);
  k.append(name);
  return k;
}

std::string Repository::prefix(const ResourceInfo& info, std::string_view ns) {
  std::string k = "/registry/";
  k.append(info.group.empty() ? "core" : info.group);
  k.append("/").append(info.resource).append("/");
  if (info.namespaced && !ns.empty()) k.append(ns).append("/");
  return k;
}

std::string encodeForStorage(const ApiObject& object) {
  auto copy = object.clone();
  copy->meta().resourceVersion.clear();
  return copy->encode();
}

Loaded Repository::decodeStored(const ResourceType& type, const KeyValue& kv) {
  Loaded out;
  out.object = type.decode(kv.value, {});
  out.object->meta().resourceVersion = std::to_string(kv.modRevision);
  out.revision = kv.modRevision;
  return out;
}

std::optional<KeyValue> Repository::getRaw(const ResourceType& type, std::string_view ns,
                                           std::string_view name) {
  return store_.get(key(type.info(), ns, name));
}

Loaded Repository::get(const ResourceType& type, std::string_view ns, std::string_view name) {
  auto kv = getRaw(type, ns, name);
  if (!kv) throw ApiError::notFound(type.info().group, type.info().resource, name);
  return decodeStored(type, *kv);
}

std::string Repository::create(const ResourceType& type, ApiObject& object) {
  const std::string json = encodeForStorage(object);
  const auto& m = object.meta();
  auto result = store_.create(key(type.info(), m.namespace_, m.name), json);
  if (!result.succeeded) {
    throw ApiError::alreadyExists(type.info().group, type.info().resource, m.name);
  }
  object.meta().resourceVersion = std::to_string(result.revision);
  return withResourceVersion(json, result.revision);
}

Repository::UpdateResult Repository::update(const ResourceType& type, std::string_view ns,
                                            std::string_view name, const Mutation& mutate,
                                            bool allowCreate) {
  const std::string k = key(type.info(), ns, name);
  std::optional<KeyValue> current = store_.get(k);
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<ApiObject> currentObject;
    if (current) currentObject = decodeStored(type, *current).object;
    std::unique_ptr<ApiObject> next = mutate(currentObject.get());
    UpdateResult out;
    if (!next) {
      if (currentObject) out.json = withResourceVersion(current->value, current->modRevision);
      out.object = std::move(currentObject);
      return out;
    }
    const std::string json = encodeForStorage(*next);
    WriteResult w;
    if (current) {
      if (json == current->value) {
        // Nothing changed: upstream answers with the object as is, without a write.
        out.json = withResourceVersion(current->value, current->modRevision);
        out.object = std::move(currentObject);
        return out;
      }
      w = store_.update(k, json, current->modRevision);
    } else {
      if (!allowCreate) throw ApiError::notFound(type.info().group, type.info().resource, name);
      w = store_.create(k, json);
      out.created = true;
    }
    if (w.succeeded) {
      next->meta().resourceVersion = std::to_string(w.revision);
      out.json = withResourceVersion(json, w.revision);
      out.object = std::move(next);
      out.written = true;
      return out;
    }
    if (attempt > 100) {
      throw ApiError::conflict(type.info().group, type.info().resource, name,
                               "too many concurrent changes; please try again");
    }
    current = std::move(w.current);
  }
}

std::optional<Revision> Repository::remove(const ResourceType& type, std::string_view ns,
                                           std::string_view name, Revision expected) {
  auto w = store_.remove(key(type.info(), ns, name), expected);
  if (!w.succeeded) return std::nullopt;
  return w.revision;
}

}  // namespace kite::controlplane::apiserver
