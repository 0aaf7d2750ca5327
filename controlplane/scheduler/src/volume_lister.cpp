// The scheduler's view of claims, volumes and classes: the informers' caches plus its own
// reservations of volumes it is binding.
#include <utility>

#include "scheduler_impl.h"

namespace kite::controlplane {

std::shared_ptr<const corev1::PersistentVolumeClaim> InformerVolumeLister::claim(
    const std::string& ns, const std::string& name) const {
  return claims_.cache().get(ns, name);
}

std::shared_ptr<const corev1::PersistentVolume> InformerVolumeLister::volume(
    const std::string& name) const {
  auto pv = volumes_.cache().get("", name);
  return pv ? withReservation(std::move(pv)) : nullptr;
}

std::vector<std::shared_ptr<const corev1::PersistentVolume>> InformerVolumeLister::volumes() const {
  auto all = volumes_.cache().list();
  for (auto& pv : all) pv = withReservation(std::move(pv));
  return all;
}

std::shared_ptr<const storagev1::StorageClass> InformerVolumeLister::storageClass(
    const std::string& name) const {
  return name.empty() ? nullptr : classes_.cache().get("", name);
}

void InformerVolumeLister::reserve(const std::string& volume,
                                   const corev1::ObjectReference& claim) {
  std::lock_guard lock(mutex_);
  reserved_[volume] = claim;
}

void InformerVolumeLister::release(const std::string& volume) {
  std::lock_guard lock(mutex_);
  reserved_.erase(volume);
}

std::shared_ptr<const corev1::PersistentVolume> InformerVolumeLister::withReservation(
    std::shared_ptr<const corev1::PersistentVolume> pv) const {
  if (pv->spec.claimRef) return pv;
  std::lock_guard lock(mutex_);
  const auto it = reserved_.find(pv->metadata.name);
  if (it == reserved_.end()) return pv;
  auto copy = std::make_shared<corev1::PersistentVolume>(*pv);
  copy->spec.claimRef = it->second;
  return copy;
}

}  // namespace kite::controlplane
