// VolumeManager on a real temporary root directory with a fake mounter (no
// mount is needed for the volume kinds tested here): projected volumes from
// every source, downwardAPI formatting, and the emptyDir size check that
// drives eviction.

#include "kite/kubelet/volume_manager.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include "config_test_util.h"
#include "fake_volume_deps.h"

namespace kite::kubelet {
namespace {

namespace corev1 = api::core::v1;
namespace fs = std::filesystem;
using testing::basicPod;
using testing::MapConfigSource;
using testing::NoMounts;
using testing::TempDir;

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint32_t modeOf(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error("stat " + path.string());
  return st.st_mode & 07777;
}

corev1::KeyToPath item(const std::string& key, const std::string& path) {
  corev1::KeyToPath k;
  k.key = key;
  k.path = path;
  return k;
}

corev1::DownwardAPIVolumeFile fieldFile(const std::string& path, const std::string& fieldPath) {
  corev1::DownwardAPIVolumeFile file;
  file.path = path;
  file.fieldRef.emplace();
  file.fieldRef->fieldPath = fieldPath;
  return file;
}

class VolumeManagerTest : public ::testing::Test {
 protected:
  VolumeManagerTest() : manager_(mounter_, root_.path(), config_, 1LL << 30) {
    pod_ = basicPod();
    pod_.metadata.labels = {{"app", "web"}, {"tier", "front \"end\""}};
    facts_.podIP = "10.88.0.7";
    facts_.nodeName = "node-a";
  }

  corev1::Volume& addProjected(const std::string& name) {
    corev1::Volume volume;
    volume.name = name;
    volume.projected.emplace();
    pod_.spec.volumes.push_back(volume);
    return pod_.spec.volumes.back();
  }

  TempDir root_;
  NoMounts mounter_;
  MapConfigSource config_;
  VolumeManager manager_;
  corev1::Pod pod_;
  PodRuntimeFacts facts_;
};

TEST_F(VolumeManagerTest, ProjectedVolumeMergesEverySource) {
  config_.configMaps["shop/settings"] = {{"color", "blue"}, {"size", "L"}};
  config_.secrets["shop/creds"] = {{"password", "hunter2"}};
  config_.token = "eyJ.token";
  pod_.spec.serviceAccountName = "builder";
  auto& volume = addProjected("all-in-one");
  volume.projected->defaultMode = 0640;
  corev1::VolumeProjection cm;
  cm.configMap.emplace();
  cm.configMap->name = "settings";
  cm.configMap->items = {item("color", "conf/color")};
  corev1::VolumeProjection secret;
  secret.secret.emplace();
  secret.secret->name = "creds";
  corev1::VolumeProjection downward;
  downward.downwardAPI.emplace();
  downward.downwardAPI->items = {fieldFile("name", "metadata.name"),
                                 fieldFile("ip", "status.podIP")};
  downward.downwardAPI->items[1].mode = 0600;
  corev1::VolumeProjection token;
  token.serviceAccountToken.emplace();
  token.serviceAccountToken->path = "token";
  token.serviceAccountToken->audience = "vault";
  token.serviceAccountToken->expirationSeconds = 7200;
  volume.projected->sources = {cm, secret, downward, token};

  const auto paths = manager_.setUp(pod_, facts_);

  const fs::path dir = paths.at("all-in-one");
  EXPECT_EQ(dir,
            root_.path() / "pods" / "uid-1" / "volumes" / "kubernetes.io~projected" / "all-in-one");
  EXPECT_TRUE(fs::is_symlink(dir / "..data"));
  EXPECT_EQ(readFile(dir / "conf" / "color"), "blue");
  EXPECT_FALSE(fs::exists(dir / "size"));  // only the listed item
  EXPECT_EQ(readFile(dir / "password"), "hunter2");
  EXPECT_EQ(readFile(dir / "name"), "web");
  EXPECT_EQ(readFile(dir / "ip"), "10.88.0.7");
  EXPECT_EQ(readFile(dir / "token"), "eyJ.token");
  EXPECT_EQ(modeOf(dir / "password"), 0640U);
  EXPECT_EQ(modeOf(dir / "ip"), 0600U);
  ASSERT_EQ(config_.tokenRequests.size(), 1U);
  EXPECT_EQ(config_.tokenRequests[0].serviceAccountName, "builder");
  EXPECT_EQ(config_.tokenRequests[0].audience, "vault");
  EXPECT_EQ(config_.tokenRequests[0].expirationSeconds, 7200);
  EXPECT_EQ(config_.tokenRequests[0].podUid, "uid-1");
  EXPECT_EQ(config_.tokenRequests[0].ns, "shop");
}

TEST_F(VolumeManagerTest, ProjectedVolumeIsRewrittenWhenItsSourceChanges) {
  config_.configMaps["shop/settings"] = {{"color", "blue"}};
  auto& volume = addProjected("conf");
  corev1::VolumeProjection cm;
  cm.configMap.emplace();
  cm.configMap->name = "settings";
  volume.projected->sources = {cm};
  const fs::path dir = manager_.setUp(pod_, facts_).at("conf");
  EXPECT_EQ(readFile(dir / "color"), "blue");

  config_.configMaps["shop/settings"] = {{"shape", "round"}};
  manager_.setUp(pod_, facts_);
  EXPECT_EQ(readFile(dir / "shape"), "round");
  EXPECT_FALSE(fs::exists(dir / "color"));
}

TEST_F(VolumeManagerTest, ProjectedMissingConfigMapFailsTheMountUnlessOptional) {
  auto& volume = addProjected("conf");
  corev1::VolumeProjection cm;
  cm.configMap.emplace();
  cm.configMap->name = "absent";
  volume.projected->sources = {cm};
  try {
    manager_.setUp(pod_, facts_);
    FAIL() << "a missing configMap must fail the mount";
  } catch (const ContainerConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("volume \"conf\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("configmap \"absent\" not found"), std::string::npos)
        << e.what();
  }
  pod_.spec.volumes.back().projected->sources[0].configMap->optional = true;
  const auto paths = manager_.setUp(pod_, facts_);
  EXPECT_TRUE(fs::is_directory(paths.at("conf")));
}

TEST_F(VolumeManagerTest, ProjectedMissingSecretKeyIsNamed) {
  config_.secrets["shop/creds"] = {{"user", "u"}};
  auto& volume = addProjected("creds");
  corev1::VolumeProjection secret;
  secret.secret.emplace();
  secret.secret->name = "creds";
  secret.secret->items = {item("password", "pw")};
  volume.projected->sources = {secret};
  try {
    manager_.setUp(pod_, facts_);
    FAIL() << "a missing key must fail the mount";
  } catch (const ContainerConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("password"), std::string::npos) << e.what();
  }
}

TEST_F(VolumeManagerTest, ServiceAccountTokenWithoutATokenSourceFailsClearly) {
  NoConfigSource none;
  VolumeManager manager(mounter_, root_.path(), none, 1LL << 30);
  auto& volume = addProjected("kube-api-access");
  corev1::VolumeProjection token;
  token.serviceAccountToken.emplace();
  token.serviceAccountToken->path = "token";
  volume.projected->sources = {token};
  try {
    manager.setUp(pod_, facts_);
    FAIL() << "no token can be issued without an API server";
  } catch (const ContainerConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("service account \"default\""), std::string::npos)
        << e.what();
  }
}

TEST_F(VolumeManagerTest, StaticPodProjectedDownwardAPIWorksWithNoConfigSource) {
  NoConfigSource none;
  VolumeManager manager(mounter_, root_.path(), none, 1LL << 30);
  auto& volume = addProjected("podinfo");
  corev1::VolumeProjection downward;
  downward.downwardAPI.emplace();
  downward.downwardAPI->items = {fieldFile("labels", "metadata.labels"),
                                 fieldFile("app", "metadata.labels['app']")};
  corev1::DownwardAPIVolumeFile limit;
  limit.path = "mem";
  limit.resourceFieldRef.emplace();
  limit.resourceFieldRef->containerName = "app";
  limit.resourceFieldRef->resource = "limits.memory";
  limit.resourceFieldRef->divisor = api::Quantity::parse("1Mi");
  pod_.spec.containers[0].resources.limits["memory"] = api::Quantity::parse("64Mi");
  downward.downwardAPI->items.push_back(limit);
  volume.projected->sources = {downward};

  const fs::path dir = manager.setUp(pod_, facts_).at("podinfo");
  // All labels: key="value" lines sorted by key, values quoted as Go's %q.
  EXPECT_EQ(readFile(dir / "labels"), "app=\"web\"\ntier=\"front \\\"end\\\"\"");
  EXPECT_EQ(readFile(dir / "app"), "web");
  EXPECT_EQ(readFile(dir / "mem"), "64");
}

TEST_F(VolumeManagerTest, UnsupportedProjectedSourceIsRefused) {
  auto& volume = addProjected("bundle");
  corev1::VolumeProjection bundle;
  bundle.clusterTrustBundle.emplace();
  volume.projected->sources = {bundle};
  EXPECT_THROW(manager_.setUp(pod_, facts_), ContainerConfigError);
}

TEST_F(VolumeManagerTest, DiskEmptyDirOverItsSizeLimitIsReported) {
  corev1::Volume cache;
  cache.name = "cache";
  cache.emptyDir.emplace();
  cache.emptyDir->sizeLimit = api::Quantity::parse("64Ki");
  corev1::Volume unlimited;
  unlimited.name = "scratch";
  unlimited.emptyDir.emplace();
  pod_.spec.volumes = {cache, unlimited};
  const auto paths = manager_.setUp(pod_, facts_);
  EXPECT_TRUE(manager_.emptyDirsOverLimit(pod_).empty());

  std::ofstream(fs::path(paths.at("scratch")) / "big") << std::string(256UL * 1024, 'x');
  EXPECT_TRUE(manager_.emptyDirsOverLimit(pod_).empty());  // no limit, no eviction

  std::ofstream(fs::path(paths.at("cache")) / "big") << std::string(128UL * 1024, 'x');
  EXPECT_EQ(manager_.emptyDirsOverLimit(pod_), std::vector<std::string>{"cache"});
}

}  // namespace
}  // namespace kite::kubelet
