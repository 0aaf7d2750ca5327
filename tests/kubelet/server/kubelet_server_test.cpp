// The kubelet server over real TLS on loopback, with the fake CRI runtime and a fake API
// server for the reviews: authentication (401), authorization (403), and the endpoints that
// need no streaming server.
#include "kite/kubelet/kubelet_server.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "fakes/fake_runtime.h"
#include "kite/http/client.h"
#include "kite/kubelet/labels.h"
#include "test_certificates.h"

namespace kite::kubelet {
namespace {

using namespace std::chrono_literals;

// Tokens: "alice-token" is alice, "bob-token" is bob; only alice may use the node.
class FakeAuth final : public KubeletAuthApi {
 public:
  std::optional<KubeletUser> reviewToken(const std::string& token) override {
    if (token == "alice-token") return KubeletUser{"alice", "", {"system:authenticated"}};
    if (token == "bob-token") return KubeletUser{"bob", "", {"system:authenticated"}};
    return std::nullopt;
  }
  std::pair<bool, std::string> reviewAccess(const KubeletUser& user, const std::string& verb,
                                            const std::string& nodeName,
                                            const std::string& subresource) override {
    const std::lock_guard lock(mutex);
    asked.push_back(user.name + " " + verb + " " + nodeName + " " + subresource);
    return {user.name == "alice", ""};
  }
  std::mutex mutex;
  std::vector<std::string> asked;
};

struct Reply {
  int status = 0;
  std::string body;
};

class KubeletServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kite-kls-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    logFile_ = (std::filesystem::path(dir_) / "0.log").string();
    std::ofstream(logFile_) << "2024-01-01T00:00:01Z stdout F first\n"
                            << "2024-01-01T00:00:02Z stderr F second\n";

    cri::v1::PodSandboxConfig sandbox;
    sandbox.mutable_metadata()->set_name("web");
    sandbox.mutable_metadata()->set_namespace_("default");
    sandbox.mutable_metadata()->set_uid("uid-1");
    (*sandbox.mutable_labels())[labels::kPodNamespace] = "default";
    (*sandbox.mutable_labels())[labels::kPodName] = "web";
    const auto sandboxId = runtime_.runPodSandbox(sandbox, "");
    cri::v1::ContainerConfig container;
    container.mutable_metadata()->set_name("app");
    container.mutable_image()->set_image("busybox:1.35");
    container.set_log_path(logFile_);
    (*container.mutable_labels())[labels::kPodNamespace] = "default";
    (*container.mutable_labels())[labels::kPodName] = "web";
    (*container.mutable_labels())[labels::kContainerName] = "app";
    runtime_.addLocalImage("busybox:1.35");
    containerId_ = runtime_.createContainer(sandboxId, container, sandbox);
    runtime_.startContainer(containerId_);

    KubeletServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.tlsCertFile = certs_.serverCert;
    options.tlsPrivateKeyFile = certs_.serverKey;
    options.clientCaFile = certs_.caCert;
    options.authenticationTokenWebhook = true;
    options.nodeName = "node-1";
    KubeletServerSources sources;
    sources.runtime = &runtime_;
    sources.authApi = auth_;
    server_ = startKubeletServer(options, sources);
  }
  void TearDown() override {
    server_->stop();
    std::filesystem::remove_all(dir_);
  }

  Reply get(const std::string& target, const std::string& token = {},
            const http::Headers& extra = {}) {
    http::ClientRequest request;
    request.target = target;
    request.http10 = true;
    request.headers = extra;
    if (!token.empty()) request.headers.emplace_back("authorization", "Bearer " + token);
    http::Response head;
    auto connection = http::ClientConnection::open("127.0.0.1", server_->port(),
                                                   http::ClientTls{certs_.caCert, "", "", ""},
                                                   request, 10s, head);
    std::mutex mutex;
    std::condition_variable done;
    Reply reply{head.status, {}};
    bool ended = false;
    connection->start(
        [&](const std::string& data) {
          const std::lock_guard lock(mutex);
          reply.body += data;
        },
        [&] {
          const std::lock_guard lock(mutex);
          ended = true;
          done.notify_all();
        });
    std::unique_lock lock(mutex);
    EXPECT_TRUE(done.wait_for(lock, 10s, [&] { return ended; })) << target;
    return reply;
  }

  http::testing::TestCertificates certs_;
  testing::FakeRuntime runtime_;
  std::shared_ptr<FakeAuth> auth_ = std::make_shared<FakeAuth>();
  std::string dir_;
  std::string logFile_;
  std::string containerId_;
  std::unique_ptr<KubeletServer> server_;
};

TEST_F(KubeletServerTest, AnonymousAndUnknownTokensGet401) {
  EXPECT_EQ(get("/healthz").status, 401);
  EXPECT_EQ(get("/pods", "nobody").status, 401);
  EXPECT_EQ(get("/containerLogs/default/web/app").status, 401);
}

TEST_F(KubeletServerTest, AuthorizationIsASubjectAccessReviewOnTheNode) {
  const auto denied = get("/containerLogs/default/web/app", "bob-token");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.body, "Forbidden (user=bob, verb=get, resource=nodes, subresource=proxy)\n");
  EXPECT_EQ(get("/stats/summary", "alice-token").status, 200);
  const std::lock_guard lock(auth_->mutex);
  EXPECT_EQ(auth_->asked,
            (std::vector<std::string>{"bob get node-1 proxy", "alice get node-1 stats"}));
}

TEST_F(KubeletServerTest, ServesLogsHealthPodsStatsAndMetrics) {
  EXPECT_EQ(get("/healthz", "alice-token").body, "ok\n");
  EXPECT_EQ(get("/containerLogs/default/web/app", "alice-token").body, "first\nsecond\n");
  EXPECT_EQ(get("/containerLogs/default/web/app?tailLines=1&timestamps=true", "alice-token").body,
            "2024-01-01T00:00:02Z second\n");
  const auto bad = get("/containerLogs/default/web/app?tailLines=x", "alice-token");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("tailLines"), std::string::npos);
  EXPECT_EQ(get("/containerLogs/default/web/nope", "alice-token").status, 404);
  EXPECT_EQ(get("/containerLogs/default/web/app?previous=true", "alice-token").status, 404);
  const auto pods = get("/pods", "alice-token");
  EXPECT_NE(pods.body.find("\"name\":\"web\""), std::string::npos) << pods.body;
  const auto stats = get("/stats/summary", "alice-token");
  EXPECT_NE(stats.body.find("\"nodeName\":\"node-1\""), std::string::npos) << stats.body;
  EXPECT_NE(stats.body.find("\"podRef\":{\"name\":\"web\""), std::string::npos) << stats.body;
  const auto metrics = get("/metrics", "alice-token");
  EXPECT_NE(metrics.body.find("kubelet_running_pods 1\n"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("kubelet_running_containers{container_state=\"running\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(get("/nothing", "alice-token").status, 404);
}

TEST_F(KubeletServerTest, FollowEndsWhenTheContainerExits) {
  std::thread exiter([&] {
    std::this_thread::sleep_for(300ms);
    std::ofstream(logFile_, std::ios::app) << "2024-01-01T00:00:03Z stdout F last words\n";
    runtime_.exitContainer(containerId_, 0);
  });
  const auto reply = get("/containerLogs/default/web/app?follow=true", "alice-token");
  exiter.join();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "first\nsecond\nlast words\n");
}

TEST_F(KubeletServerTest, StreamingEndpointsNeedAnUpgrade) {
  const auto reply = get("/exec/default/web/app?command=ls", "alice-token");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body, "Upgrade request required\n");
}

TEST_F(KubeletServerTest, ClientCertificatesAuthenticate) {
  http::ClientRequest request;
  request.target = "/healthz";
  request.http10 = true;
  http::Response head;
  // The test CA's client certificate is alice.
  auto connection = http::ClientConnection::open(
      "127.0.0.1", server_->port(),
      http::ClientTls{certs_.caCert, certs_.clientCert, certs_.clientKey, ""}, request, 10s, head);
  EXPECT_EQ(head.status, 200);
  connection->close();
}

}  // namespace
}  // namespace kite::kubelet
