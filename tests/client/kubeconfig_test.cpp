// Kubeconfig and in-cluster configuration loading.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "kite/client/config.h"
#include "kite/client/errors.h"
#include "kite/pki/encoding.h"

namespace kite::client {
namespace {

namespace fs = std::filesystem;

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kite-kubeconfig-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }

  fs::path dir_;
};

std::string twoContexts() {
  return "apiVersion: v1\n"
         "kind: Config\n"
         "current-context: a\n"
         "clusters:\n"
         "- name: ca\n"
         "  cluster:\n"
         "    server: https://127.0.0.1:6443\n"
         "    certificate-authority-data: " +
         pki::base64Encode("CA PEM") +
         "\n"
         "- name: cb\n"
         "  cluster:\n"
         "    server: https://10.0.0.1:443/prefix\n"
         "    certificate-authority: certs/ca.crt\n"
         "    tls-server-name: api.internal\n"
         "contexts:\n"
         "- name: a\n"
         "  context: {cluster: ca, user: admin}\n"
         "- name: b\n"
         "  context: {cluster: cb, user: robot, namespace: team}\n"
         "users:\n"
         "- name: admin\n"
         "  user:\n"
         "    client-certificate-data: " +
         pki::base64Encode("CERT PEM") +
         "\n"
         "    client-key-data: " +
         pki::base64Encode("KEY PEM") +
         "\n"
         "- name: robot\n"
         "  user:\n"
         "    tokenFile: token\n";
}

TEST_F(KubeconfigTest, CurrentContextWithInlineData) {
  const auto path = write("config", twoContexts());
  const RestConfig c = loadKubeconfig(path);
  EXPECT_EQ(c.server, "https://127.0.0.1:6443");
  EXPECT_EQ(c.caPem, "CA PEM");
  EXPECT_EQ(c.clientCertificatePem, "CERT PEM");
  EXPECT_EQ(c.clientKeyPem, "KEY PEM");
  EXPECT_TRUE(c.token.empty());
  EXPECT_EQ(c.namespace_, "default");
}

TEST_F(KubeconfigTest, OtherContextWithFilesRelativeToTheKubeconfig) {
  write("certs/ca.crt", "FILE CA");
  write("token", "secret-token\n");
  const auto path = write("config", twoContexts());
  const RestConfig c = loadKubeconfig(path, {.context = "b"});
  EXPECT_EQ(c.server, "https://10.0.0.1:443/prefix");
  EXPECT_EQ(c.caPem, "FILE CA");
  EXPECT_EQ(c.tlsServerName, "api.internal");
  EXPECT_EQ(c.tokenFile, dir_ / "token");
  EXPECT_EQ(c.namespace_, "team");
}

TEST_F(KubeconfigTest, NamespaceOverride) {
  const auto path = write("config", twoContexts());
  EXPECT_EQ(loadKubeconfig(path, {.namespace_ = "other"}).namespace_, "other");
}

TEST_F(KubeconfigTest, TokenUser) {
  const RestConfig c = parseKubeconfig(
      "current-context: x\n"
      "clusters: [{name: c, cluster: {server: 'https://h:1', insecure-skip-tls-verify: true}}]\n"
      "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
      "users: [{name: u, user: {token: abc}}]\n",
      "/nowhere/config");
  EXPECT_EQ(c.token, "abc");
  EXPECT_TRUE(c.insecureSkipTlsVerify);
}

// Errors name the file and the field.
void expectError(const std::string& yaml, const std::string& part1, const std::string& part2,
                 const KubeconfigOptions& options = {}) {
  try {
    parseKubeconfig(yaml, "/etc/kite/test.kubeconfig", options);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("/etc/kite/test.kubeconfig"), std::string::npos) << msg;
    EXPECT_NE(msg.find(part1), std::string::npos) << msg;
    EXPECT_NE(msg.find(part2), std::string::npos) << msg;
  }
}

TEST(KubeconfigErrors, NameFileAndField) {
  expectError("clusters: []\n", "current-context", "not set");
  expectError("current-context: gone\ncontexts: []\n", "current-context", "\"gone\" not found");
  expectError("current-context: a\ncontexts: [{name: a, context: {cluster: nope}}]\n",
              "context cluster", "cluster \"nope\" not found");
  expectError(
      "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
      "clusters: [{name: c, cluster: {certificate-authority-data: AAAA}}]\n",
      "clusters[0].cluster.server", "missing");
  expectError(
      "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
      "clusters: [{name: c, cluster: {server: 'https://x', certificate-authority-data: '!!'}}]\n",
      "clusters[0].cluster.certificate-authority-data", "base64");
  expectError(
      "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
      "clusters: [{name: c, cluster: {server: 'https://x', certificate-authority: missing.crt}}]\n",
      "clusters[0].cluster.certificate-authority", "/etc/kite/missing.crt");
  expectError(
      "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
      "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
      "users: [{name: u, user: {client-certificate-data: QUJD}}]\n",
      "users[0].user", "without client-key");
  expectError("current-context: [\n", "not valid YAML", "");
  expectError("clusters: []\n", "context", "\"x\" not found", {.context = "x"});
}

TEST(KubeconfigErrors, MissingFile) {
  try {
    loadKubeconfig("/nonexistent/kite/config");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/kite/config"), std::string::npos);
  }
}

// Environment variables are process-wide: these tests set and restore them.
class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    if (const char* v = getenv(name)) old_ = v;
  }
  ~EnvGuard() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST_F(KubeconfigTest, DefaultPathOrder) {
  EnvGuard kc("KUBECONFIG");
  EnvGuard home("HOME");
  const auto second = write("second", "x");
  write("home/.kube/config", "x");
  setenv("HOME", (dir_ / "home").c_str(), 1);
  setenv("KUBECONFIG", ((dir_ / "missing").string() + ":" + second.string()).c_str(), 1);
  EXPECT_EQ(defaultKubeconfigPath("/explicit"), fs::path("/explicit"));
  EXPECT_EQ(defaultKubeconfigPath(), second);
  unsetenv("KUBECONFIG");
  EXPECT_EQ(defaultKubeconfigPath(), dir_ / "home/.kube/config");
  setenv("HOME", (dir_ / "nohome").c_str(), 1);
  EXPECT_TRUE(defaultKubeconfigPath().empty());
}

TEST_F(KubeconfigTest, InCluster) {
  EnvGuard host("KUBERNETES_SERVICE_HOST");
  EnvGuard port("KUBERNETES_SERVICE_PORT");
  write("sa/token", "tok\n");
  write("sa/ca.crt", "SA CA");
  write("sa/namespace", "apps\n");
  unsetenv("KUBERNETES_SERVICE_HOST");
  EXPECT_THROW(inClusterConfig(dir_ / "sa"), ConfigError);
  setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  const RestConfig c = inClusterConfig(dir_ / "sa");
  EXPECT_EQ(c.server, "https://[fd00::1]:443");
  EXPECT_EQ(c.caPem, "SA CA");
  EXPECT_EQ(c.tokenFile, dir_ / "sa/token");
  EXPECT_EQ(c.namespace_, "apps");
  EXPECT_THROW(inClusterConfig(dir_ / "nosa"), ConfigError);
}

}  // namespace
}  // namespace kite::client
