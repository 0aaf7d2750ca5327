#pragma once
// Static pods: the manifests in --pod-manifest-path turned into pods, as
// upstream does it — the name gets "-<node name>" appended, the namespace
// defaults to "default", and the uid is a hash of the file, its content and
// the node, so the same manifest is the same pod across kubelet restarts (and
// an edited manifest a new one). Documents of other kinds in a file (the
// seed's manifests start with a Namespace) are skipped; a document that does
// not decode is reported with its file and field and never stops the rest.

#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/kubelet/manifest_watcher.h"

namespace kite::kubelet {

struct StaticPods {
  std::vector<api::core::v1::Pod> pods;
  std::vector<std::string> errors;   // "<file>: <field>: <problem>"
  std::vector<std::string> skipped;  // "<file>: skipping Namespace mysql"
};

StaticPods decodeStaticPods(const std::vector<ManifestFile>& files, const std::string& nodeName);

}  // namespace kite::kubelet
