// Writes: create, update (PUT), patch, delete, deletecollection. Reading a write's body is in
// rest_decode.cpp; the subresources kite serves itself are in rest_subresources.cpp.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <string>
#include <vector>

#include "api_error.h"
#include "field_manager.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/meta.h"
#include "kite/api/protobuf.h"
#include "kite/api/time.h"
#include "names.h"
#include "patch.h"
#include "priority_classes.h"
#include "responses.h"
#include "rest_handler.h"
#include "stored_json.h"

namespace kite::controlplane::apiserver {

namespace {

namespace corev1 = api::core::v1;
using api::meta::v1::DeleteOptions;

std::string conflictDetail() {
  return "the object has been modified; please apply your changes to the latest version and "
         "try again";
}

bool terminalPod(const ApiObject& o) {
  const auto& pod = as<corev1::Pod>(o);
  return pod.status.phase == "Succeeded" || pod.status.phase == "Failed";
}

bool isNamespaces(const ResourceInfo& i) { return i.group.empty() && i.resource == "namespaces"; }

// The built-in PriorityClasses stay: upstream's priorityclasses storage refuses to delete them.
bool isBuiltinPriorityClass(const ResourceInfo& i, const std::string& name) {
  return i.group == "scheduling.k8s.io" && i.resource == "priorityclasses" &&
         isSystemPriorityClass(name);
}

// An object whose deletion was requested and that nothing holds back any longer.
bool readyToRemove(const ResourceInfo& info, const ApiObject& o) {
  const auto& m = o.meta();
  if (!m.deletionTimestamp || !m.finalizers.empty()) return false;
  if (isNamespaces(info)) {
    return as<corev1::Namespace>(o).spec.finalizers.empty();
  }
  if (isPods(info)) {
    return m.deletionGracePeriodSeconds.value_or(0) == 0 || terminalPod(o) ||
           as<corev1::Pod>(o).spec.nodeName.empty();
  }
  return true;
}

// The kind's warnings for this write, each once: an update whose write conflicted runs
// prepareUpdate again.
void addWarnings(RequestContext& ctx, std::vector<std::string> warnings) {
  for (auto& w : warnings) {
    if (std::find(ctx.warnings.begin(), ctx.warnings.end(), w) == ctx.warnings.end()) {
      ctx.warnings.push_back(std::move(w));
    }
  }
}

}  // namespace

FieldOwner fieldOwner(const RequestContext& ctx) {
  const auto& info = ctx.type->info();
  FieldOwner owner;
  owner.manager = ctx.query.get("fieldManager");
  if (owner.manager.empty()) {
    owner.manager = managerFromUserAgent(ctx.request.header("user-agent").value_or(""));
  }
  owner.subresource = ctx.info.subresource;
  owner.apiVersion = info.groupVersion();
  owner.kind = info.kind;
  owner.hasStatus = std::find(info.subresources.begin(), info.subresources.end(), "status") !=
                    info.subresources.end();
  return owner;
}

void throwInvalid(const ResourceType& type, std::string_view name,
                  std::vector<api::FieldError> errors) {
  const auto& i = type.info();
  throw ApiError::invalid(i.group, i.kind, name,
                          api::FieldErrors(std::move(errors)).toStatus(i.kind, name, i.group));
}

bool isPods(const ResourceInfo& i) { return i.group.empty() && i.resource == "pods"; }

RestHandler::RestHandler(Registry& registry, Repository& repository, WatchHub& watches,
                         Admission& admission, CacheLookup caches)
    : registry_(registry),
      repository_(repository),
      watches_(watches),
      admission_(admission),
      caches_(std::move(caches)) {}

bool isDryRun(const RequestContext& ctx) {
  for (const auto& v : ctx.query.all("dryRun")) {
    if (v == "All") return true;
    if (!v.empty()) throw ApiError::badRequest("dryRun: Unsupported value: \"" + v + "\"");
  }
  return false;
}

void RestHandler::prepareNew(RequestContext& ctx, ApiObject& object) {
  const ResourceType& type = *ctx.type;
  auto& m = object.meta();
  if (m.name.empty() && !m.generateName.empty()) m.name = generateNameFrom(m.generateName);
  admission_.admitCreate(type, object, ctx.user);
  type.applyDefaults(object);
  type.prepareForCreate(object);
  if (auto errors = type.validate(object, nullptr); !errors.empty()) {
    throwInvalid(type, m.name, std::move(errors));
  }
  addWarnings(ctx, type.warnings(object, nullptr));
  m.uid = newUid();
  m.creationTimestamp = api::Time(
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
  m.resourceVersion.clear();
  m.deletionTimestamp.reset();
  m.deletionGracePeriodSeconds.reset();
  m.generation = object.hasSpec() ? 1 : 0;
  m.selfLink.clear();
}

http::Response RestHandler::create(RequestContext& ctx) {
  if (!ctx.info.subresource.empty()) return createSubresource(ctx);
  if (!ctx.info.name.empty()) {
    throw ApiError::methodNotSupported(ctx.type->info().group, ctx.type->info().resource, "create");
  }
  auto object = decodeBody(ctx, bodyAsJson(ctx));
  admitObjects(ctx, object.get(), nullptr);
  prepareNew(ctx, *object);
  recordUpdate(fieldOwner(ctx), nullptr, *object);
  if (isDryRun(ctx)) return objectResponse(ctx, 201, object->encode(), object.get());
  const std::string json = repository_.create(*ctx.type, *object);
  return objectResponse(ctx, 201, json, object.get());
}

std::unique_ptr<ApiObject> RestHandler::prepareUpdate(RequestContext& ctx,
                                                      std::unique_ptr<ApiObject> next,
                                                      const ApiObject& current) {
  const ResourceType& type = *ctx.type;
  const auto& sub = ctx.info.subresource;
  if (sub == "status") {
    auto merged = current.clone();
    merged->copyStatusFrom(*next);
    next = std::move(merged);
  } else if (sub.empty() && next->hasStatus() && current.hasStatus()) {
    next->copyStatusFrom(current);
  }
  auto& m = next->meta();
  const auto& old = current.meta();
  if (m.name.empty()) m.name = old.name;
  m.uid = old.uid;
  m.creationTimestamp = old.creationTimestamp;
  m.deletionTimestamp = old.deletionTimestamp;
  m.deletionGracePeriodSeconds = old.deletionGracePeriodSeconds;
  m.generation = old.generation;
  m.selfLink.clear();
  if (old.deletionTimestamp && !m.finalizers.empty()) {
    // Upstream: no new finalizers once deletion started.
    for (const auto& f : m.finalizers) {
      if (std::find(old.finalizers.begin(), old.finalizers.end(), f) == old.finalizers.end()) {
        throwInvalid(type, m.name,
                     {api::FieldError::forbidden("metadata.finalizers",
                                                 "no new finalizers can be added if the object is "
                                                 "being deleted, found new finalizers []string{\"" +
                                                     f + "\"}")});
      }
    }
  }
  admission_.admitUpdate(type, *next, current, ctx.user);
  type.applyDefaults(*next);
  type.prepareForUpdate(*next, current);
  if (auto errors = type.validate(*next, &current); !errors.empty()) {
    throwInvalid(type, m.name, std::move(errors));
  }
  addWarnings(ctx, type.warnings(*next, &current));
  if (next->hasSpec() && next->specDiffers(current)) m.generation = old.generation + 1;
  return next;
}

http::Response RestHandler::update(RequestContext& ctx) {
  const auto& sub = ctx.info.subresource;
  if (sub == "scale") return scale(ctx);
  if (!sub.empty() && sub != "status" && sub != "finalize") {
    throw ApiError::methodNotSupported(ctx.type->info().group, ctx.type->info().resource, "update");
  }
  const ResourceType& type = *ctx.type;
  auto proposed = decodeBody(ctx, bodyAsJson(ctx));
  const std::string& name = ctx.info.name;
  if (proposed->meta().name.empty()) proposed->meta().name = name;
  if (proposed->meta().name != name) {
    throw ApiError::badRequest("the name of the object (" + proposed->meta().name +
                               ") does not match the name on the URL (" + name + ")");
  }
  const std::string wantedRv = proposed->meta().resourceVersion;
  const bool dryRun = isDryRun(ctx);
  std::unique_ptr<ApiObject> dryResult;
  auto result = repository_.update(
      type, ctx.info.namespace_, name, [&](const ApiObject* cur) -> std::unique_ptr<ApiObject> {
        if (cur == nullptr) throw ApiError::notFound(type.info().group, type.info().resource, name);
        if (!wantedRv.empty() && wantedRv != cur->meta().resourceVersion) {
          throw ApiError::conflict(type.info().group, type.info().resource, name, conflictDetail());
        }
        std::unique_ptr<ApiObject> next;
        if (sub == "finalize") {
          // Only spec.finalizers of a Namespace change through finalize.
          next = cur->clone();
          as<corev1::Namespace>(*next).spec.finalizers =
              as<corev1::Namespace>(*proposed).spec.finalizers;
        } else {
          admitObjects(ctx, proposed.get(), cur);
          next = prepareUpdate(ctx, proposed->clone(), *cur);
        }
        recordUpdate(fieldOwner(ctx), cur, *next);
        if (dryRun) {
          dryResult = std::move(next);
          return nullptr;
        }
        return next;
      });
  if (dryRun) return objectResponse(ctx, 200, dryResult->encode(), dryResult.get());
  if (result.written && readyToRemove(type.info(), *result.object)) {
    repository_.remove(type, ctx.info.namespace_, name,
                       std::stoll(result.object->meta().resourceVersion));
  }
  return objectResponse(ctx, 200, result.json, result.object.get());
}

http::Response RestHandler::patch(RequestContext& ctx) {
  const auto& sub = ctx.info.subresource;
  if (sub == "scale") return scale(ctx);
  if (!sub.empty() && sub != "status") {
    throw ApiError::methodNotSupported(ctx.type->info().group, ctx.type->info().resource, "patch");
  }
  const ResourceType& type = *ctx.type;
  const auto format = bodyFormat(ctx.request.header("content-type").value_or(""), true);
  const std::string& name = ctx.info.name;
  std::string patchBody = ctx.request.body;
  const bool apply = format == BodyFormat::kApplyYaml;
  const FieldOwner owner = fieldOwner(ctx);
  const std::string force = ctx.query.get("force");
  if (!force.empty() && !apply) {
    throw ApiError::badRequest("force: Forbidden: may not be specified for non-apply patch");
  }
  if (apply) {
    // Server-side apply (field_manager.h): the applied configuration merges into the object
    // (created when missing) with field ownership and conflicts.
    if (ctx.query.get("fieldManager").empty()) {
      throw ApiError::badRequest(
          "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is "
          "required for apply patch");
    }
    const auto docs = api::yamlToJsonDocuments(patchBody);
    if (docs.size() != 1) throw ApiError::badRequest("an apply patch must be one YAML document");
    patchBody = docs.front();
  }
  const bool dryRun = isDryRun(ctx);
  std::unique_ptr<ApiObject> dryResult;
  auto result = repository_.update(
      type, ctx.info.namespace_, name,
      [&](const ApiObject* cur) -> std::unique_ptr<ApiObject> {
        if (cur == nullptr && !apply) {
          throw ApiError::notFound(type.info().group, type.info().resource, name);
        }
        std::vector<api::meta::v1::ManagedFieldsEntry> appliedFields;
        std::string patched;
        if (apply) {
          auto applied = applyConfiguration(owner, cur, patchBody, force == "true");
          patched = std::move(applied.json);
          appliedFields = std::move(applied.managedFields);
        } else {
          const std::string original = cur->encode();
          switch (format) {
            case BodyFormat::kJsonPatch:
              patched = applyJsonPatch(original, patchBody);
              break;
            case BodyFormat::kMergePatch:
              patched = applyMergePatch(original, patchBody);
              break;
            default:
              patched = applyStrategicMergePatch(
                  original, patchBody,
                  listMergeRulesFor(type.info().groupVersion(), type.info().kind));
              break;
          }
        }
        auto proposed = decodeBody(ctx, patched, true);
        if (cur == nullptr) {
          if (proposed->meta().name != name) {
            throw ApiError::badRequest("the name of the object (" + proposed->meta().name +
                                       ") does not match the name on the URL (" + name + ")");
          }
          prepareNew(ctx, *proposed);
          proposed->meta().managedFields = std::move(appliedFields);
          if (dryRun) {
            dryResult = std::move(proposed);
            return nullptr;
          }
          return proposed;
        }
        const std::string& wantedRv = proposed->meta().resourceVersion;
        if (!wantedRv.empty() && wantedRv != cur->meta().resourceVersion) {
          throw ApiError::conflict(type.info().group, type.info().resource, name, conflictDetail());
        }
        if (proposed->meta().name != name) {
          throw ApiError::badRequest("metadata.name: Invalid value: \"" + proposed->meta().name +
                                     "\": field is immutable");
        }
        admitObjects(ctx, proposed.get(), cur);
        auto next = prepareUpdate(ctx, std::move(proposed), *cur);
        if (apply) {
          next->meta().managedFields = std::move(appliedFields);
        } else {
          recordUpdate(owner, cur, *next);
        }
        if (dryRun) {
          dryResult = std::move(next);
          return nullptr;
        }
        return next;
      },
      apply);
  if (dryRun) return objectResponse(ctx, 200, dryResult->encode(), dryResult.get());
  if (result.created) return objectResponse(ctx, 201, result.json, result.object.get());
  if (result.written && readyToRemove(type.info(), *result.object)) {
    repository_.remove(type, ctx.info.namespace_, name,
                       std::stoll(result.object->meta().resourceVersion));
  }
  return objectResponse(ctx, 200, result.json, result.object.get());
}

DeleteOptions deleteOptionsFrom(const RequestContext& ctx) {
  DeleteOptions options;
  if (!ctx.request.body.empty()) {
    try {
      const bool protobuf = api::hasProtobufMagic(ctx.request.body);
      options = api::decodeJson<DeleteOptions>(
          protobuf ? api::protobufToJson(ctx.request.body) : ctx.request.body, {});
    } catch (const std::exception& e) {
      throw ApiError::badRequest(std::string("invalid DeleteOptions: ") + e.what());
    }
  }
  if (const auto g = ctx.query.get("gracePeriodSeconds"); !g.empty()) {
    try {
      options.gracePeriodSeconds = std::stoll(g);
    } catch (const std::exception&) {
      throw ApiError::badRequest("invalid gracePeriodSeconds: \"" + g + "\"");
    }
  }
  if (const auto p = ctx.query.get("propagationPolicy"); !p.empty()) options.propagationPolicy = p;
  if (options.propagationPolicy && *options.propagationPolicy != "Orphan" &&
      *options.propagationPolicy != "Background" && *options.propagationPolicy != "Foreground") {
    throw ApiError::badRequest("propagationPolicy: Unsupported value: \"" +
                               *options.propagationPolicy +
                               "\": supported values: \"Background\", \"Foreground\", \"Orphan\"");
  }
  return options;
}

// The finalizer the garbage collector acts on for this deletion: "orphan" (its dependents
// are orphaned first) or "foregroundDeletion" (its blocking dependents are deleted first), or
// "" for Background. Without a policy, v1 ReplicationControllers orphan (upstream keeps that
// for compatibility); everything else is deleted in the background.
static std::string garbageCollectionFinalizer(const ResourceInfo& info,
                                              const DeleteOptions& options) {
  std::string policy = "Background";
  if (options.propagationPolicy) {
    policy = *options.propagationPolicy;
  } else if (options.orphanDependents) {
    policy = *options.orphanDependents ? "Orphan" : "Background";
  } else if (info.group.empty() && info.resource == "replicationcontrollers") {
    policy = "Orphan";
  }
  if (policy == "Orphan") return "orphan";
  if (policy == "Foreground") return "foregroundDeletion";
  return "";
}

http::Response RestHandler::deleteObject(RequestContext& ctx, const std::string& name,
                                         const DeleteOptions& options) {
  const ResourceType& type = *ctx.type;
  const auto& info = type.info();
  const bool dryRun = isDryRun(ctx);
  std::unique_ptr<ApiObject> deleted;
  bool removeNow = false;
  auto result = repository_.update(
      type, ctx.info.namespace_, name, [&](const ApiObject* cur) -> std::unique_ptr<ApiObject> {
        if (cur == nullptr) throw ApiError::notFound(info.group, info.resource, name);
        admitObjects(ctx, nullptr, cur);
        const auto& m = cur->meta();
        if (options.preconditions) {
          const auto& pre = *options.preconditions;
          if (pre.uid && *pre.uid != m.uid) {
            throw ApiError::conflict(info.group, info.resource, name,
                                     "Precondition failed: UID in precondition: " + *pre.uid +
                                         ", UID in object meta: " + m.uid);
          }
          if (pre.resourceVersion && *pre.resourceVersion != m.resourceVersion) {
            throw ApiError::conflict(
                info.group, info.resource, name,
                "Precondition failed: ResourceVersion in precondition: " + *pre.resourceVersion +
                    ", ResourceVersion in object meta: " + m.resourceVersion);
          }
        }
        std::int64_t grace = 0;
        if (isPods(info)) {
          const auto& pod = as<corev1::Pod>(*cur);
          grace = options.gracePeriodSeconds.value_or(
              pod.spec.terminationGracePeriodSeconds.value_or(30));
          if (pod.spec.nodeName.empty() || terminalPod(*cur)) grace = 0;
          // Upstream's CheckGracefulDelete: a negative period (which pod validation accepts)
          // is treated as 1.
          if (grace < 0) grace = 1;
        }
        const bool namespaceDeletion = isNamespaces(info);
        const std::string gcFinalizer = garbageCollectionFinalizer(info, options);
        const bool held =
            !m.finalizers.empty() || grace > 0 || namespaceDeletion || !gcFinalizer.empty();
        if (!held) {
          removeNow = true;
          deleted = cur->clone();
          return nullptr;
        }
        auto next = cur->clone();
        auto& nm = next->meta();
        const auto now =
            std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
        if (!nm.deletionTimestamp) {
          nm.deletionTimestamp = api::Time(now + std::chrono::seconds(grace));
          nm.deletionGracePeriodSeconds = grace;
          if (!gcFinalizer.empty()) api::addFinalizer(nm, gcFinalizer);
        } else if (isPods(info) && grace < nm.deletionGracePeriodSeconds.value_or(0)) {
          // A shorter grace period may replace a longer one (kubectl delete --grace-period=0).
          nm.deletionTimestamp = api::Time(now + std::chrono::seconds(grace));
          nm.deletionGracePeriodSeconds = grace;
          if (grace == 0 && nm.finalizers.empty()) {
            removeNow = true;
            deleted = cur->clone();
            return nullptr;
          }
        } else {
          deleted = cur->clone();
          return nullptr;  // already being deleted
        }
        if (namespaceDeletion) as<corev1::Namespace>(*next).status.phase = "Terminating";
        if (dryRun) {
          deleted = std::move(next);
          return nullptr;
        }
        return next;
      });
  if (removeNow) {
    if (!dryRun) {
      const Revision expected = std::stoll(deleted->meta().resourceVersion);
      if (!repository_.remove(type, ctx.info.namespace_, name, expected)) {
        // Changed since we read it: start over on the new state.
        return deleteObject(ctx, name, options);
      }
    }
    return objectResponse(ctx, 200, deleted->encode(), deleted.get());
  }
  if (deleted) return objectResponse(ctx, 200, deleted->encode(), deleted.get());
  return objectResponse(ctx, 200, result.json, result.object.get());
}

http::Response RestHandler::remove(RequestContext& ctx) {
  if (!ctx.info.subresource.empty()) {
    throw ApiError::methodNotSupported(ctx.type->info().group, ctx.type->info().resource, "delete");
  }
  const auto& info = ctx.type->info();
  if (isBuiltinPriorityClass(info, ctx.info.name)) {
    throw ApiError::forbiddenObject(info.group, info.resource, ctx.info.name,
                                    "this is a system priority class and cannot be deleted");
  }
  return deleteObject(ctx, ctx.info.name, deleteOptionsFrom(ctx));
}

http::Response RestHandler::removeCollection(RequestContext& ctx) {
  const auto options = deleteOptionsFrom(ctx);
  // List with the request's selectors (as JSON objects), then delete each.
  RequestContext listCtx{ctx.request, ctx.query, ctx.info, ctx.type, Representation::kObject,
                         ctx.user,    {}};
  listCtx.info.verb = "list";
  const auto listed = list(listCtx);
  rapidjson::Document d;
  d.Parse(listed.body.data(), listed.body.size());
  std::vector<std::string> items;
  for (const auto& item : d["items"].GetArray()) {
    const std::string name = item["metadata"]["name"].GetString();
    if (isBuiltinPriorityClass(ctx.type->info(), name)) continue;
    try {
      items.push_back(deleteObject(ctx, name, options).body);
    } catch (const ApiError& e) {
      if (e.code() != 404) throw;
    }
  }
  return jsonResponse(200, listJson(ctx.type->info(), repository_.store().currentRevision(), {},
                                    std::nullopt, items));
}

}  // namespace kite::controlplane::apiserver
