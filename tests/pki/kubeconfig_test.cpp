#include "kite/pki/kubeconfig.h"

#include <gtest/gtest.h>

#include "kite/pki/authority.h"
#include "kite/pki/encoding.h"
#include "kite/pki/error.h"
#include "test_util.h"

namespace kite::pki {
namespace {

using testing::runCommand;
using testing::TempDir;

// What real kubectl reads from the file (it never contacts the server for this).
std::string kubectlJsonPath(const std::filesystem::path& file, const std::string& path) {
  const auto result = runCommand({"/usr/bin/kubectl", "config", "view", "--kubeconfig",
                                  file.string(), "--raw", "-o", "jsonpath=" + path});
  EXPECT_EQ(result.exitCode, 0) << result.output;
  return result.output;
}

TEST(Kubeconfig, KubectlReadsClientCertificateConfig) {
  const CertificateAuthority ca = createSelfSignedCa("kite-server-ca@1");
  const PrivateKey key = PrivateKey::generateP256();
  const Certificate cert =
      issueClientCertificate(ca, key.publicKey(), {"system:admin", {"system:masters"}});
  Kubeconfig config;
  config.server = "https://127.0.0.1:6443";
  config.certificateAuthorityPem = ca.certificate.toPem();
  config.clientCertificatePem = cert.toPem();
  config.clientKeyPem = key.toPem();
  TempDir dir;
  const auto file = dir / "admin.kubeconfig";
  config.write(file);
  EXPECT_EQ(testing::fileMode(file), 0600U);

  EXPECT_EQ(kubectlJsonPath(file, "{.current-context}"), "default");
  EXPECT_EQ(kubectlJsonPath(file, "{.clusters[0].cluster.server}"), "https://127.0.0.1:6443");
  EXPECT_EQ(base64Decode(kubectlJsonPath(file, "{.clusters[0].cluster.certificate-authority-data}"))
                .value(),
            ca.certificate.toPem());
  EXPECT_EQ(base64Decode(kubectlJsonPath(file, "{.users[0].user.client-certificate-data}")).value(),
            cert.toPem());
  EXPECT_EQ(base64Decode(kubectlJsonPath(file, "{.users[0].user.client-key-data}")).value(),
            key.toPem());
  EXPECT_EQ(kubectlJsonPath(file, "{.contexts[0].context.cluster}"), "default");
  EXPECT_EQ(kubectlJsonPath(file, "{.contexts[0].context.user}"), "default");
}

TEST(Kubeconfig, KubectlReadsTokenConfigWithOddNames) {
  Kubeconfig config;
  config.server = "https://[::1]:6443";
  config.clusterName = "kite: #1";
  config.userName = "-user\"q\"";
  config.contextName = "ctx\\x";
  config.namespaceName = "kube-system";
  config.token = "abc.def.ghi";
  TempDir dir;
  const auto file = dir / "token.kubeconfig";
  config.write(file);
  EXPECT_EQ(kubectlJsonPath(file, "{.current-context}"), "ctx\\x");
  EXPECT_EQ(kubectlJsonPath(file, "{.clusters[0].name}"), "kite: #1");
  EXPECT_EQ(kubectlJsonPath(file, "{.clusters[0].cluster.server}"), "https://[::1]:6443");
  EXPECT_EQ(kubectlJsonPath(file, "{.users[0].name}"), "-user\"q\"");
  EXPECT_EQ(kubectlJsonPath(file, "{.users[0].user.token}"), "abc.def.ghi");
  EXPECT_EQ(kubectlJsonPath(file, "{.contexts[0].context.namespace}"), "kube-system");
  EXPECT_EQ(kubectlJsonPath(file, "{.contexts[0].context.user}"), "-user\"q\"");
}

TEST(Kubeconfig, IncompleteCredentialsAreRefused) {
  Kubeconfig config;
  EXPECT_THROW((void)config.toYaml(), PkiError) << "no server";
  config.server = "https://127.0.0.1:6443";
  config.clientCertificatePem = "cert";
  EXPECT_THROW((void)config.toYaml(), PkiError) << "certificate without key";
  config.clientKeyPem = "key";
  config.token = "t";
  EXPECT_THROW((void)config.toYaml(), PkiError) << "both kinds of credentials";
}

}  // namespace
}  // namespace kite::pki
