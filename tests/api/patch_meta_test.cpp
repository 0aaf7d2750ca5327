// Generated strategic merge patch metadata: merge keys and strategies of the fields the
// API server's patch code depends on.

#include "kite/api/patch_meta.h"

#include <gtest/gtest.h>

namespace kite::api {
namespace {

TEST(PatchMeta, PodContainersMergeByName) {
  const PatchMeta* pod = patchMetaFor("v1", "Pod");
  ASSERT_NE(pod, nullptr);
  EXPECT_EQ(pod->type, PatchValueType::Object);
  const PatchMeta* spec = pod->field("spec");
  ASSERT_NE(spec, nullptr);
  const PatchMeta* containers = spec->field("containers");
  ASSERT_NE(containers, nullptr);
  EXPECT_EQ(containers->type, PatchValueType::List);
  EXPECT_EQ(containers->strategy, PatchStrategy::Merge);
  EXPECT_TRUE(containers->mergesList());
  EXPECT_EQ(containers->mergeKey, "name");
  EXPECT_EQ(containers->listType, ListType::Map);
  ASSERT_NE(containers->items, nullptr);
  EXPECT_EQ(containers->items->type, PatchValueType::Object);
  EXPECT_EQ(spec->field("initContainers")->mergeKey, "name");
}

TEST(PatchMeta, NestedListsOfContainers) {
  const PatchMeta* pod = patchMetaFor("v1", "Pod");
  const PatchMeta* ports = patchMetaAt(pod, "spec.containers.ports");
  ASSERT_NE(ports, nullptr);
  EXPECT_EQ(ports->strategy, PatchStrategy::Merge);
  EXPECT_EQ(ports->mergeKey, "containerPort");
  ASSERT_EQ(ports->listMapKeys.size(), 2U);
  EXPECT_EQ(ports->listMapKeys[1], "protocol");
  EXPECT_EQ(patchMetaAt(pod, "spec.containers.env")->mergeKey, "name");
  EXPECT_EQ(patchMetaAt(pod, "spec.containers.volumeMounts")->mergeKey, "mountPath");
  EXPECT_EQ(patchMetaAt(pod, "spec.containers.ports.containerPort")->type, PatchValueType::Integer);
  EXPECT_EQ(patchMetaAt(pod, "spec.containers.resources.limits")->type, PatchValueType::Map);
  EXPECT_EQ(patchMetaAt(pod, "spec.containers.resources.limits")->items->type,
            PatchValueType::Quantity);
  EXPECT_EQ(patchMetaAt(pod, "spec.containers.livenessProbe.httpGet.port")->type,
            PatchValueType::IntOrString);  // through the inline ProbeHandler
  EXPECT_EQ(patchMetaAt(pod, "spec.containers.nope"), nullptr);
}

TEST(PatchMeta, VolumesMergeByNameAndRetainKeys) {
  const PatchMeta* volumes = patchMetaAt(patchMetaFor("v1", "Pod"), "spec.volumes");
  ASSERT_NE(volumes, nullptr);
  EXPECT_EQ(volumes->strategy, PatchStrategy::Merge);
  EXPECT_TRUE(volumes->retainKeys);
  EXPECT_EQ(volumes->mergeKey, "name");
  // Inline VolumeSource members are fields of a volume.
  EXPECT_NE(volumes->items->field("configMap"), nullptr);
  EXPECT_EQ(volumes->items->field("configMap")->field("name")->type, PatchValueType::String);
}

TEST(PatchMeta, TolerationsAreReplacedAsAWhole) {
  const PatchMeta* tolerations = patchMetaAt(patchMetaFor("v1", "Pod"), "spec.tolerations");
  ASSERT_NE(tolerations, nullptr);
  EXPECT_EQ(tolerations->type, PatchValueType::List);
  EXPECT_EQ(tolerations->strategy, PatchStrategy::None);  // default for lists: replace
  EXPECT_FALSE(tolerations->mergesList());
  EXPECT_EQ(tolerations->listType, ListType::Atomic);
  EXPECT_TRUE(tolerations->mergeKey.empty());
}

TEST(PatchMeta, OtherKinds) {
  const PatchMeta* deploy = patchMetaFor("apps/v1", "Deployment");
  ASSERT_NE(deploy, nullptr);
  const PatchMeta* strategy = patchMetaAt(deploy, "spec.strategy");
  EXPECT_TRUE(strategy->retainKeys);
  EXPECT_EQ(strategy->type, PatchValueType::Object);
  EXPECT_EQ(patchMetaAt(deploy, "spec.template.spec.containers")->mergeKey, "name");
  EXPECT_EQ(patchMetaAt(deploy, "status.conditions")->mergeKey, "type");
  EXPECT_TRUE(patchMetaAt(deploy, "spec.selector")->atomic);

  const PatchMeta* meta = patchMetaAt(patchMetaFor("batch/v1", "CronJob"), "metadata");
  EXPECT_EQ(meta->field("ownerReferences")->mergeKey, "uid");
  EXPECT_TRUE(meta->field("finalizers")->mergesList());  // a merged set of strings
  EXPECT_EQ(meta->field("labels")->type, PatchValueType::Map);

  const PatchMeta* pdbSelector =
      patchMetaAt(patchMetaFor("policy/v1", "PodDisruptionBudget"), "spec.selector");
  EXPECT_EQ(pdbSelector->strategy, PatchStrategy::Replace);
  EXPECT_EQ(patchMetaAt(patchMetaFor("v1", "Node"), "status.addresses")->mergeKey, "type");
  EXPECT_EQ(patchMetaAt(patchMetaFor("v1", "Service"), "spec.ports")->mergeKey, "port");
  EXPECT_NE(patchMetaFor("rbac.authorization.k8s.io/v1", "ClusterRole"), nullptr);
  EXPECT_EQ(patchMetaFor("v1", "Deployment"), nullptr);
  EXPECT_EQ(patchMetaFor("apps/v2", "Deployment"), nullptr);
}

}  // namespace
}  // namespace kite::api
