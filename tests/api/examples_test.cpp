// The user's seed workloads (testdata/*.yaml, verbatim copies of the seed examples): every
// document decodes strictly into its kind, and re-encoding is lossless.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kite/api/apps/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/field_errors.h"
#include "kite/api/json.h"
#include "kite/api/labels.h"
#include "kite/api/meta/v1/types.h"
#include "test_util.h"

namespace kite::api {
namespace {

using testing::readTestdata;

// Decodes strictly, checks encode/decode is lossless, returns the object.
template <class T>
T strictRoundTrip(const std::string& json) {
  T obj = decodeJson<T>(json, {.strict = true});
  const std::string out = encodeJson(obj);
  EXPECT_EQ(decodeJson<T>(out, {.strict = true}), obj) << out;
  return obj;
}

// The kinds of all documents of a seed file, each decoded strictly.
std::vector<std::string> decodeAll(const std::string& file) {
  std::vector<std::string> kinds;
  for (const auto& doc : yamlToJsonDocuments(readTestdata(file))) {
    const auto tm = decodeJson<meta::v1::TypeMeta>(doc);
    kinds.push_back(tm.kind);
    if (tm.kind == "Namespace") {
      strictRoundTrip<core::v1::Namespace>(doc);
    } else if (tm.kind == "Pod") {
      strictRoundTrip<core::v1::Pod>(doc);
    } else if (tm.kind == "Deployment") {
      strictRoundTrip<apps::v1::Deployment>(doc);
    } else if (tm.kind == "ConfigMap") {
      strictRoundTrip<core::v1::ConfigMap>(doc);
    } else if (tm.kind == "PersistentVolume") {
      strictRoundTrip<core::v1::PersistentVolume>(doc);
    } else if (tm.kind == "PersistentVolumeClaim") {
      strictRoundTrip<core::v1::PersistentVolumeClaim>(doc);
    } else if (tm.kind == "Service") {
      strictRoundTrip<core::v1::Service>(doc);
    } else {
      ADD_FAILURE() << file << ": unexpected kind " << tm.kind;
    }
  }
  return kinds;
}

TEST(Examples, EveryDocumentDecodesStrictly) {
  EXPECT_EQ(decodeAll("mysql-pod.yaml"), (std::vector<std::string>{"Namespace", "Pod"}));
  EXPECT_EQ(decodeAll("nginx-pod.yaml"), (std::vector<std::string>{"Pod"}));
  EXPECT_EQ(decodeAll("mysql-deployment.yaml"),
            (std::vector<std::string>{"Namespace", "Deployment"}));
  EXPECT_EQ(decodeAll("mysql-local-pv.yaml"),
            (std::vector<std::string>{"Namespace", "ConfigMap", "PersistentVolume",
                                      "PersistentVolumeClaim", "Deployment"}));
  EXPECT_EQ(decodeAll("services.yaml"),
            (std::vector<std::string>{"Service", "Service", "Service", "Service"}));
}

TEST(Examples, MysqlPod) {
  const auto docs = yamlToJsonDocuments(readTestdata("mysql-pod.yaml"));
  ASSERT_EQ(docs.size(), 2U);
  const auto ns = decodeJson<core::v1::Namespace>(docs[0], {.strict = true});
  EXPECT_EQ(ns.metadata.name, "mysql");
  const auto pod = decodeJson<core::v1::Pod>(docs[1], {.strict = true});
  EXPECT_EQ(pod.metadata.namespace_, "mysql");
  EXPECT_EQ(pod.metadata.labels.at("app"), "mysql");
  ASSERT_EQ(pod.spec.containers.size(), 1U);
  const auto& c = pod.spec.containers[0];
  EXPECT_EQ(c.image, "mysql:8.0.23");
  EXPECT_EQ(c.imagePullPolicy, core::v1::PullPolicy::IfNotPresent);
  ASSERT_EQ(c.env.size(), 1U);
  EXPECT_EQ(c.env[0].name, "MYSQL_ALLOW_EMPTY_PASSWORD");
  EXPECT_EQ(c.env[0].value, "yes");  // quoted in the YAML: stays a string
  EXPECT_EQ(c.ports.at(0).containerPort, 3306);
  EXPECT_EQ(c.volumeMounts.at(0).mountPath, "/var/lib/mysql");
  ASSERT_EQ(pod.spec.volumes.size(), 1U);
  ASSERT_TRUE(pod.spec.volumes[0].hostPath.has_value());
  EXPECT_EQ(pod.spec.volumes[0].hostPath->path, "/data/mysql");
  EXPECT_EQ(pod.spec.volumes[0].hostPath->type, core::v1::HostPathType::DirectoryOrCreate);
}

TEST(Examples, NginxPodWithInitContainer) {
  const auto pod = decodeJson<core::v1::Pod>(
      yamlToJsonDocuments(readTestdata("nginx-pod.yaml")).at(0), {.strict = true});
  ASSERT_EQ(pod.spec.initContainers.size(), 1U);
  EXPECT_EQ(pod.spec.initContainers[0].command,
            (std::vector<std::string>{"sh", "-c", "cp -r /etc/nginx/* /mnt/"}));
  EXPECT_EQ(pod.spec.containers.at(0).ports.at(0).containerPort, 80);
  EXPECT_TRUE(pod.metadata.namespace_.empty());
}

TEST(Examples, LocalVolumeClaimAndDeployment) {
  const auto docs = yamlToJsonDocuments(readTestdata("mysql-local-pv.yaml"));
  ASSERT_EQ(docs.size(), 5U);
  const auto cm = decodeJson<core::v1::ConfigMap>(docs[1], {.strict = true});
  EXPECT_EQ(cm.data.at("MYSQL_ALLOW_EMPTY_PASSWORD"), "yes");

  const auto pv = decodeJson<core::v1::PersistentVolume>(docs[2], {.strict = true});
  EXPECT_EQ(pv.spec.capacity.at("storage").toString(), "2Gi");
  EXPECT_EQ(pv.spec.capacity.at("storage").value(), 2LL * 1024 * 1024 * 1024);
  EXPECT_EQ(pv.spec.volumeMode, core::v1::PersistentVolumeMode::Filesystem);
  EXPECT_EQ(pv.spec.accessModes, (std::vector<std::string>{"ReadWriteOnce"}));
  EXPECT_EQ(pv.spec.persistentVolumeReclaimPolicy, "Retain");
  ASSERT_TRUE(pv.spec.local.has_value());  // from the inline PersistentVolumeSource
  EXPECT_EQ(pv.spec.local->path, "/path/to/storage");
  ASSERT_TRUE(pv.spec.nodeAffinity && pv.spec.nodeAffinity->required);
  const auto& req = pv.spec.nodeAffinity->required->nodeSelectorTerms.at(0).matchExpressions.at(0);
  EXPECT_EQ(req.key, "kubernetes.io/hostname");
  EXPECT_EQ(req.operator_, core::v1::NodeSelectorOperator::In);
  EXPECT_EQ(req.values, (std::vector<std::string>{"worker-0"}));

  const auto pvc = decodeJson<core::v1::PersistentVolumeClaim>(docs[3], {.strict = true});
  EXPECT_EQ(pvc.spec.storageClassName, "local-storage");
  EXPECT_EQ(pvc.spec.volumeName, "my-pv");
  EXPECT_EQ(pvc.spec.resources.requests.at("storage"), pv.spec.capacity.at("storage"));

  const auto dep = decodeJson<apps::v1::Deployment>(docs[4], {.strict = true});
  EXPECT_EQ(dep.spec.replicas, 1);
  EXPECT_EQ(dep.spec.strategy.type, apps::v1::DeploymentStrategyType::Recreate);
  ASSERT_TRUE(dep.spec.selector.has_value());
  EXPECT_TRUE(labels::matches(dep.spec.selector, dep.spec.template_.metadata.labels));
  const auto& c = dep.spec.template_.spec.containers.at(0);
  EXPECT_EQ(c.envFrom.at(0).configMapRef->name, "mysql-conf");
  EXPECT_EQ(dep.spec.template_.spec.volumes.at(0).persistentVolumeClaim->claimName, "my-pvc");
}

TEST(Examples, Services) {
  const auto docs = yamlToJsonDocuments(readTestdata("services.yaml"));
  ASSERT_EQ(docs.size(), 4U);
  const auto clusterIP = decodeJson<core::v1::Service>(docs[0], {.strict = true});
  EXPECT_EQ(clusterIP.spec.type, core::v1::ServiceType::ClusterIP);
  EXPECT_EQ(clusterIP.spec.selector.at("app"), "nginx");
  EXPECT_EQ(clusterIP.spec.ports.at(0).port, 80);
  EXPECT_EQ(clusterIP.spec.ports.at(0).targetPort, IntOrString(80));
  const auto nodePort = decodeJson<core::v1::Service>(docs[1], {.strict = true});
  EXPECT_EQ(nodePort.spec.ports.at(0).nodePort, 30080);
  const auto lb = decodeJson<core::v1::Service>(docs[2], {.strict = true});
  EXPECT_EQ(lb.spec.type, core::v1::ServiceType::LoadBalancer);
  EXPECT_EQ(lb.spec.ports.at(0).port, 8080);
  const auto ext = decodeJson<core::v1::Service>(docs[3], {.strict = true});
  EXPECT_EQ(ext.spec.externalName, "db.example.internal");
  EXPECT_TRUE(ext.spec.ports.empty());
}

}  // namespace
}  // namespace kite::api
