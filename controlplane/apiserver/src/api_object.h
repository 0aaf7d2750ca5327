#pragma once
// A decoded Kubernetes object of any built-in kind, behind one interface so the generic REST
// code (create, update, patch, delete, watch) handles every resource alike. TypedObject<T>
// wraps a generated type (kite/api/<group>/<version>/types.h).

#include <memory>
#include <string>

#include "kite/api/json.h"
#include "kite/api/meta/v1/types.h"

namespace kite::controlplane::apiserver {

class ApiObject {
 public:
  virtual ~ApiObject() = default;
  virtual api::meta::v1::ObjectMeta& meta() = 0;
  virtual const api::meta::v1::ObjectMeta& meta() const = 0;
  // Canonical JSON (apiVersion and kind filled in).
  virtual std::string encode() const = 0;
  virtual std::unique_ptr<ApiObject> clone() const = 0;
  // Copies the status from `from` (same kind) into this object, or does nothing for kinds
  // without a status. The main resource keeps the stored status on update; the status
  // subresource keeps everything else.
  virtual void copyStatusFrom(const ApiObject& from) = 0;
  // Whether the desired state differs (everything but metadata and status): bumps
  // metadata.generation.
  virtual bool specDiffers(const ApiObject& other) const = 0;
  virtual bool hasStatus() const = 0;
  // Kinds with a spec track metadata.generation.
  virtual bool hasSpec() const = 0;
};

template <class T>
class TypedObject final : public ApiObject {
 public:
  explicit TypedObject(T value) : value_(std::move(value)) {}

  T& value() { return value_; }
  const T& value() const { return value_; }

  api::meta::v1::ObjectMeta& meta() override { return value_.metadata; }
  const api::meta::v1::ObjectMeta& meta() const override { return value_.metadata; }
  std::string encode() const override { return api::encodeJson(value_); }
  std::unique_ptr<ApiObject> clone() const override {
    return std::make_unique<TypedObject<T>>(value_);
  }
  void copyStatusFrom(const ApiObject& from) override {
    if constexpr (requires { value_.status; }) {
      value_.status = static_cast<const TypedObject<T>&>(from).value_.status;
    }
  }
  bool hasStatus() const override {
    return requires { value_.status; };
  }
  bool hasSpec() const override {
    return requires { value_.spec; };
  }
  bool specDiffers(const ApiObject& other) const override {
    const T& o = static_cast<const TypedObject<T>&>(other).value_;
    if constexpr (requires { value_.spec; }) {
      return !(value_.spec == o.spec);
    } else {
      // Kinds without a spec (ConfigMap, Secret, ...): any non-metadata change counts, which
      // upstream does not track; no generation bump.
      (void)o;
      return false;
    }
  }

 private:
  T value_;
};

template <class T>
T& as(ApiObject& o) {
  return static_cast<TypedObject<T>&>(o).value();
}
template <class T>
const T& as(const ApiObject& o) {
  return static_cast<const TypedObject<T>&>(o).value();
}

}  // namespace kite::controlplane::apiserver
