#pragma once
// Mirror pods: for each static pod the kubelet runs, a pod object in the API
// (same namespace and name) so kubectl shows it, as upstream's mirror client
// keeps them: annotations kubernetes.io/config.mirror (the static pod's hash)
// and kubernetes.io/config.source=file, owned by the Node. A mirror pod whose
// hash no longer matches is replaced; one whose static pod is gone is deleted.
// Reconciled on its own thread when the static pods change and every period.

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/client/client.h"

namespace kite::kubelet {

class MirrorPods {
 public:
  MirrorPods(client::Client& client, std::string nodeName,
             std::chrono::milliseconds period = std::chrono::seconds(10));
  ~MirrorPods();
  MirrorPods(const MirrorPods&) = delete;
  MirrorPods& operator=(const MirrorPods&) = delete;

  void start();
  void stop();
  // The complete set of static pods.
  void setStaticPods(const std::vector<api::core::v1::Pod>& pods);
  // The uid of a static pod's mirror pod, "" while it has none.
  std::string mirrorUid(const std::string& staticPodUid) const;
  // One reconcile now, on the caller's thread (tests).
  void reconcile();

 private:
  void run(const std::stop_token& stop);
  api::core::v1::Pod mirrorOf(const api::core::v1::Pod& staticPod,
                              const std::string& nodeUid) const;

  client::Client& client_;
  std::string nodeName_;
  std::chrono::milliseconds period_;
  mutable std::mutex mutex_;
  std::condition_variable_any wake_;
  bool dirty_ = false;
  bool known_ = false;  // setStaticPods was called: mirrors of other pods may go
  std::vector<api::core::v1::Pod> staticPods_;
  std::map<std::string, std::string> mirrorUids_;  // static pod uid -> mirror pod uid
  std::jthread thread_;
};

// The static pod's hash as the mirror annotation carries it.
std::string staticPodHash(const api::core::v1::Pod& pod);

}  // namespace kite::kubelet
