#pragma once
// Objects of every resource in the Store: where each lives (/registry/<group>/<resource>/
// <namespace>/<name>), the bookkeeping every write does (uid, creationTimestamp, generation,
// resourceVersion), and optimistic read-modify-write with compare-and-swap.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api_object.h"
#include "kite/controlplane/store.h"
#include "resource_type.h"

namespace kite::controlplane::apiserver {

struct Loaded {
  std::unique_ptr<ApiObject> object;  // metadata.resourceVersion set
  Revision revision = 0;
};

class Repository {
 public:
  explicit Repository(Store& store) : store_(store) {}

  Store& store() { return store_; }

  static std::string key(const ResourceInfo& info, std::string_view ns, std::string_view name);
  // All objects of the resource in the namespace (every namespace when ns is empty).
  static std::string prefix(const ResourceInfo& info, std::string_view ns);

  // Decodes a stored value (trusted, written by this server) and sets its resourceVersion.
  static Loaded decodeStored(const ResourceType& type, const KeyValue& kv);

  std::optional<KeyValue> getRaw(const ResourceType& type, std::string_view ns,
                                 std::string_view name);
  // Throws ApiError NotFound.
  Loaded get(const ResourceType& type, std::string_view ns, std::string_view name);

  // Stores a new object (metadata already complete but for resourceVersion); throws
  // ApiError AlreadyExists. Returns the stored JSON with its resourceVersion.
  std::string create(const ResourceType& type, ApiObject& object);

  // Read-modify-write: `mutate` gets the current object (nullptr when absent; it may throw
  // ApiError, e.g. NotFound or Conflict) and returns the object to store, or nullptr to
  // leave things as they are. Retries on a concurrent change (the mutation runs again on
  // the new state). Returns what is stored afterwards and whether it was written.
  struct UpdateResult {
    std::string json;
    std::unique_ptr<ApiObject> object;
    bool written = false;
    bool created = false;
  };
  using Mutation = std::function<std::unique_ptr<ApiObject>(const ApiObject* current)>;
  UpdateResult update(const ResourceType& type, std::string_view ns, std::string_view name,
                      const Mutation& mutate, bool allowCreate = false);

  // Removes the object if its revision is still `expected` (0: any); returns the removal
  // revision, or nullopt when it changed or vanished meanwhile.
  std::optional<Revision> remove(const ResourceType& type, std::string_view ns,
                                 std::string_view name, Revision expected);

 private:
  Store& store_;
};

// The stored JSON of an object: canonical, without resourceVersion.
std::string encodeForStorage(const ApiObject& object);

}  // namespace kite::controlplane::apiserver
