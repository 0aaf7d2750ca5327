#include "kite/kubelet/static_pods.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace kite::kubelet {
namespace {

std::string readExample(const std::string& name) {
  std::ifstream in(std::string(KITE_EXAMPLES_DIR) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(StaticPods, SeedManifestsDecodeVerbatim) {
  const auto decoded = decodeStaticPods({{"/m/nginx-pod.yaml", readExample("nginx-pod.yaml")},
                                         {"/m/mysql-pod.yaml", readExample("mysql-pod.yaml")}},
                                        "node1");
  EXPECT_TRUE(decoded.errors.empty()) << decoded.errors.front();
  ASSERT_EQ(decoded.pods.size(), 2U);
  const auto& nginx = decoded.pods[0];
  EXPECT_EQ(nginx.metadata.name, "nginx-pod-node1");
  EXPECT_EQ(nginx.metadata.namespace_, "default");
  EXPECT_EQ(nginx.spec.nodeName, "node1");
  EXPECT_EQ(nginx.metadata.uid.size(), 32U);
  EXPECT_EQ(nginx.spec.restartPolicy, "Always");
  EXPECT_EQ(nginx.spec.containers[0].imagePullPolicy, "IfNotPresent");
  EXPECT_EQ(nginx.spec.containers[0].terminationMessagePath, "/dev/termination-log");
  EXPECT_EQ(nginx.spec.initContainers[0].command[2], "cp -r /etc/nginx/* /mnt/");
  EXPECT_EQ(decoded.pods[1].metadata.namespace_, "mysql");
  ASSERT_EQ(decoded.skipped.size(), 1U);
  EXPECT_NE(decoded.skipped[0].find("skipping Namespace"), std::string::npos);
}

TEST(StaticPods, UidIsStableAndFollowsContent) {
  const std::string text = readExample("nginx-pod.yaml");
  const auto a = decodeStaticPods({{"/m/a.yaml", text}}, "n").pods.at(0).metadata.uid;
  const auto b = decodeStaticPods({{"/m/a.yaml", text}}, "n").pods.at(0).metadata.uid;
  const auto changed =
      decodeStaticPods({{"/m/a.yaml", text + "  hostname: x\n"}}, "n").pods.at(0).metadata.uid;
  const auto otherNode = decodeStaticPods({{"/m/a.yaml", text}}, "m").pods.at(0).metadata.uid;
  EXPECT_EQ(a, b);
  EXPECT_NE(a, changed);
  EXPECT_NE(a, otherNode);
}

TEST(StaticPods, ABadFileNamesFileAndFieldAndSparesTheOthers) {
  const auto decoded = decodeStaticPods(
      {{"/m/bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containerz: []\n"},
       {"/m/broken.yaml", "kind: Pod\nspec: [unclosed\n"},
       {"/m/novol.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: why}\nspec:\n  containers:\n  - name: c\n"
        "    image: busybox\n    volumeMounts: [{name: nope, mountPath: /x}]\n"},
       {"/m/good.yaml", readExample("nginx-pod.yaml")}},
      "n");
  ASSERT_EQ(decoded.pods.size(), 1U);
  ASSERT_EQ(decoded.errors.size(), 3U);
  EXPECT_EQ(decoded.errors[0], "/m/bad.yaml: unknown field \"spec.containerz\"");
  EXPECT_TRUE(decoded.errors[1].starts_with("/m/broken.yaml: ")) << decoded.errors[1];
  EXPECT_EQ(decoded.errors[2],
            "/m/novol.yaml: spec.containers[0].volumeMounts[0].name: Not found: \"nope\"");
}

}  // namespace
}  // namespace kite::kubelet
