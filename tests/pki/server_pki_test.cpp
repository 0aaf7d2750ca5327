#include "kite/pki/server_pki.h"

#include <gtest/gtest.h>

#include "kite/pki/error.h"
#include "kite/pki/files.h"
#include "kite/pki/service_account_token.h"
#include "kite/pki/verify.h"
#include "test_util.h"

namespace kite::pki {
namespace {

using testing::fileMode;
using testing::runCommand;
using testing::TempDir;

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

class ServerPkiTest : public ::testing::Test {
 protected:
  TempDir dir_;

  ServerPkiOptions options() const {
    ServerPkiOptions o;
    o.dataDir = dir_.path();
    o.hostname = "Node-1";
    o.nodeIps = {"192.168.5.10"};
    o.serviceIps = {"10.43.0.1"};
    o.tlsSans = {"api.example", "203.0.113.9"};
    return o;
  }

  // Every file's bytes, to prove a restart changed nothing.
  std::map<std::string, std::string> snapshot(const ServerPkiPaths& p) const {
    std::map<std::string, std::string> files;
    for (const auto& path :
         {p.serverCaCert, p.serverCaKey, p.clientCaCert, p.clientCaKey, p.servingCert, p.servingKey,
          p.adminCert, p.adminKey, p.serviceAccountKey, p.token}) {
      files[path.filename().string()] = readFile(path);
    }
    return files;
  }
};

TEST_F(ServerPkiTest, FirstStartCreatesEverythingWithTightModes) {
  const ServerPki pki = loadOrCreateServerPki(options());
  const ServerPkiPaths& p = pki.paths;
  EXPECT_TRUE(pki.createdCas);
  EXPECT_TRUE(pki.servingReissued);
  EXPECT_EQ(p.tlsDir, dir_.path() / "server" / "tls");
  EXPECT_EQ(p.token, dir_.path() / "server" / "token");
  EXPECT_EQ(fileMode(dir_.path() / "server"), 0700U);
  EXPECT_EQ(fileMode(p.tlsDir), 0700U);
  for (const auto& key :
       {p.serverCaKey, p.clientCaKey, p.servingKey, p.adminKey, p.serviceAccountKey, p.token}) {
    EXPECT_EQ(fileMode(key), 0600U) << key;
  }
  EXPECT_EQ(fileMode(p.serverCaCert), 0644U);

  // Two distinct CAs, named as k3s names them.
  EXPECT_TRUE(pki.serverCa.certificate.subjectCommonName().starts_with("kite-server-ca@"));
  EXPECT_TRUE(pki.clientCa.certificate.subjectCommonName().starts_with("kite-client-ca@"));
  EXPECT_FALSE(pki.serverCa.certificate == pki.clientCa.certificate);
  EXPECT_EQ(pki.serverCaBundlePem, readFile(p.serverCaCert));

  // Serving certificate: every wanted SAN, chained to the server CA, checked by openssl.
  const Certificate& serving = pki.servingCertificate;
  for (const char* dns : {"localhost", "node-1", "api.example", "kubernetes", "kubernetes.default",
                          "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}) {
    EXPECT_TRUE(contains(serving.dnsNames(), dns)) << dns;
  }
  for (const char* ip : {"127.0.0.1", "::1", "192.168.5.10", "10.43.0.1", "203.0.113.9"}) {
    EXPECT_TRUE(contains(serving.ipAddresses(), ip)) << ip;
  }
  const auto verified = runCommand({"openssl", "verify", "-purpose", "sslserver", "-CAfile",
                                    p.serverCaCert.string(), p.servingCert.string()});
  EXPECT_EQ(verified.exitCode, 0) << verified.output;
  VerifyOptions serverAuth;
  serverAuth.purpose = Purpose::kServerAuth;
  serverAuth.host = "10.43.0.1";
  EXPECT_TRUE(verifyCertificate(serving, {pki.serverCa.certificate}, serverAuth));
  EXPECT_FALSE(verifyCertificate(serving, {pki.clientCa.certificate}, serverAuth));

  // Admin client certificate from the client CA.
  EXPECT_EQ(pki.adminCertificate.subjectCommonName(), "system:admin");
  EXPECT_EQ(pki.adminCertificate.subjectOrganizations(),
            std::vector<std::string>{"system:masters"});
  const auto admin = runCommand({"openssl", "verify", "-purpose", "sslclient", "-CAfile",
                                 p.clientCaCert.string(), p.adminCert.string()});
  EXPECT_EQ(admin.exitCode, 0) << admin.output;

  // The join token names the server CA bundle, and is what the file holds.
  const JoinToken fromFile = JoinToken::parse(readFile(p.token));
  EXPECT_EQ(fromFile.toString(), pki.token.toString());
  EXPECT_EQ(checkCaAgainstToken(fromFile, readFile(p.serverCaCert)), CaCheck::kMatch);
  EXPECT_EQ(checkCaAgainstToken(fromFile, readFile(p.clientCaCert)), CaCheck::kMismatch);
  EXPECT_EQ(fromFile.username, "server");

  // The service-account key signs tokens that verify.
  EXPECT_TRUE(pki.serviceAccountKey.isP256());
  const auto claims = newServiceAccountClaims("https://kubernetes.default.svc", {"api"}, "default",
                                              "default", "u", std::chrono::hours(1));
  TokenVerifyOptions tokenOptions;
  tokenOptions.issuers = {"https://kubernetes.default.svc"};
  tokenOptions.audiences = {"api"};
  EXPECT_TRUE(verifyServiceAccountToken(signServiceAccountToken(pki.serviceAccountKey, claims),
                                        {PrivateKey::load(p.serviceAccountKey).publicKey()},
                                        tokenOptions)
                  .ok());
}

TEST_F(ServerPkiTest, RestartLoadsEverythingUnchanged) {
  const ServerPki first = loadOrCreateServerPki(options());
  const auto before = snapshot(first.paths);
  const ServerPki second = loadOrCreateServerPki(options());
  EXPECT_FALSE(second.createdCas);
  EXPECT_FALSE(second.servingReissued);
  EXPECT_FALSE(second.adminReissued);
  EXPECT_EQ(snapshot(second.paths), before);
  EXPECT_EQ(second.token.toString(), first.token.toString());
  EXPECT_TRUE(second.serverCa.certificate == first.serverCa.certificate);
  EXPECT_TRUE(second.servingCertificate == first.servingCertificate);
}

TEST_F(ServerPkiTest, ChangedSansReissueOnlyTheServingCertificate) {
  const ServerPki first = loadOrCreateServerPki(options());
  auto before = snapshot(first.paths);
  ServerPkiOptions changed = options();
  changed.tlsSans.emplace_back("new.example");
  changed.nodeIps = {"192.168.5.11"};
  const ServerPki second = loadOrCreateServerPki(changed);
  EXPECT_TRUE(second.servingReissued);
  EXPECT_FALSE(second.adminReissued);
  EXPECT_TRUE(contains(second.servingCertificate.dnsNames(), "new.example"));
  EXPECT_TRUE(contains(second.servingCertificate.ipAddresses(), "192.168.5.11"));
  EXPECT_FALSE(contains(second.servingCertificate.ipAddresses(), "192.168.5.10"));
  auto after = snapshot(second.paths);
  EXPECT_NE(after["serving-kube-apiserver.crt"], before["serving-kube-apiserver.crt"]);
  before.erase("serving-kube-apiserver.crt");
  after.erase("serving-kube-apiserver.crt");
  EXPECT_EQ(after, before) << "CAs, keys, admin certificate and token unchanged";
  const auto verified =
      runCommand({"openssl", "verify", "-CAfile", second.paths.serverCaCert.string(),
                  second.paths.servingCert.string()});
  EXPECT_EQ(verified.exitCode, 0) << verified.output;
  // The same SANs in another order are no change.
  ServerPkiOptions reordered = changed;
  std::reverse(reordered.tlsSans.begin(), reordered.tlsSans.end());
  EXPECT_FALSE(loadOrCreateServerPki(reordered).servingReissued);
}

TEST_F(ServerPkiTest, ServingCertificateExpiringWithin90DaysIsRenewed) {
  ServerPkiOptions shortLived = options();
  shortLived.certValidity = Days{60};
  const ServerPki first = loadOrCreateServerPki(shortLived);
  EXPECT_TRUE(first.adminReissued);
  const ServerPki second = loadOrCreateServerPki(options());
  EXPECT_TRUE(second.servingReissued);
  EXPECT_TRUE(second.adminReissued) << "the admin certificate expired soon too";
  EXPECT_GT(second.servingCertificate.notAfter() - std::chrono::system_clock::now(), Days{300});
  EXPECT_TRUE(second.serverCa.certificate == first.serverCa.certificate);
  EXPECT_EQ(second.token.toString(), first.token.toString());
  EXPECT_FALSE(loadOrCreateServerPki(options()).servingReissued);
}

TEST_F(ServerPkiTest, DamagedServingCertificateIsReplacedButAHalfCaIsAnError) {
  const ServerPki first = loadOrCreateServerPki(options());
  testing::writeText(first.paths.servingCert, "garbage");
  EXPECT_TRUE(loadOrCreateServerPki(options()).servingReissued);
  std::filesystem::remove(first.paths.serverCaKey);
  try {
    loadOrCreateServerPki(options());
    FAIL() << "replaced a CA whose key was missing";
  } catch (const PkiError& e) {
    EXPECT_NE(std::string(e.what()).find("server-ca.key"), std::string::npos) << e.what();
  }
}

TEST_F(ServerPkiTest, GivenTokenSecretIsUsedAndMustStayTheSame) {
  ServerPkiOptions o = options();
  o.token = "my-cluster-secret";
  const ServerPki first = loadOrCreateServerPki(o);
  EXPECT_EQ(first.token.secret, "my-cluster-secret");
  EXPECT_TRUE(first.token.hasCaHash());
  EXPECT_EQ(loadOrCreateServerPki(o).token.toString(), first.token.toString());
  o.token = first.token.toString();  // the full form is accepted too
  EXPECT_EQ(loadOrCreateServerPki(o).token.toString(), first.token.toString());
  o.token = "another-secret";
  EXPECT_THROW(loadOrCreateServerPki(o), PkiError);
  o.token = "K10" + std::string(64, 'a') + "::server:my-cluster-secret";
  EXPECT_THROW(loadOrCreateServerPki(o), PkiError) << "hash of another CA";
}

TEST_F(ServerPkiTest, AdminKubeconfigIsReadByKubectl) {
  const ServerPki pki = loadOrCreateServerPki(options());
  const auto file = dir_ / "admin.kubeconfig";
  pki.adminKubeconfig("https://127.0.0.1:6443").write(file);
  const auto result =
      runCommand({"/usr/bin/kubectl", "config", "view", "--kubeconfig", file.string(), "--raw",
                  "-o", "jsonpath={.clusters[0].cluster.server}"});
  EXPECT_EQ(result.exitCode, 0) << result.output;
  EXPECT_EQ(result.output, "https://127.0.0.1:6443");
}

}  // namespace
}  // namespace kite::pki
