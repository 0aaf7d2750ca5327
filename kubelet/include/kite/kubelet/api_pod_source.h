#pragma once
// The "api" pod source: the pods bound to this node (fieldSelector
// spec.nodeName=<node>), from an informer. Every change a sync acts on (not a
// status write) hands the complete set to the kubelet, also once after the
// first list (so an empty set counts as seen). Mirror pods are left out: they
// stand for static pods the kubelet already runs from files.

#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/client/client.h"
#include "kite/client/informer.h"

namespace kite::kubelet {

class ApiPodSource {
 public:
  using Sink = std::function<void(const std::vector<api::core::v1::Pod>&)>;

  ApiPodSource(client::Client& client, const std::string& nodeName, Sink sink);
  ~ApiPodSource();
  ApiPodSource(const ApiPodSource&) = delete;
  ApiPodSource& operator=(const ApiPodSource&) = delete;

  void start();
  void stop();
  // The pods as the kubelet gets them (tests).
  std::vector<api::core::v1::Pod> pods() const;

 private:
  void push();

  client::Informer<api::core::v1::Pod> informer_;
  Sink sink_;
  std::mutex pushMutex_;
  std::jthread firstSync_;
};

// Marks a pod as coming from the API (annotation kubernetes.io/config.source=api).
constexpr const char* kConfigSourceAnnotation = "kubernetes.io/config.source";
constexpr const char* kConfigMirrorAnnotation = "kubernetes.io/config.mirror";

}  // namespace kite::kubelet
