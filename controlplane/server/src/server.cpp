#include "kite/controlplane/server.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "control_loops.h"
#include "kite/controlplane/apiserver.h"
#include "kite/controlplane/bootstrap_policy.h"
#include "kite/controlplane/etcd_store.h"
#include "kite/controlplane/node_authorizer.h"
#include "kite/controlplane/rbac.h"
#include "kite/controlplane/request_authenticator.h"
#include "kite/controlplane/sqlite_store.h"
#include "kite/http/server.h"
#include "kite/pki/files.h"
#include "kite/pki/kubelet_client.h"
#include "kite/pki/server_pki.h"
#include "kite/pki/service_account_token.h"
#include "node_join.h"

namespace kite::controlplane {

namespace {

// The service-account token issuer (and default audience), as upstream's default.
constexpr const char* kIssuer = "https://kubernetes.default.svc.cluster.local";

std::string firstServiceIp(const std::string& cidr) {
  // The network address + 1, for the serving certificate's SANs.
  const auto slash = cidr.find('/');
  std::string ip = cidr.substr(0, slash);
  const auto dot = ip.rfind('.');
  if (dot == std::string::npos) throw std::invalid_argument("invalid --service-cidr: " + cidr);
  const int last = std::stoi(ip.substr(dot + 1));
  return ip.substr(0, dot + 1) + std::to_string(last + 1);
}

std::unique_ptr<Store> openStore(const ServerConfig& config) {
  if (!config.datastoreEndpoint.empty()) {
    EtcdStoreOptions o;
    o.endpoints = splitEtcdEndpoints(config.datastoreEndpoint);
    spdlog::info("datastore: etcd at {}", config.datastoreEndpoint);
    return openEtcdStore(o);
  }
  const auto dir = config.dataDir / "server" / "db";
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);
  SqliteStoreOptions o;
  o.path = dir / "state.db";
  spdlog::info("datastore: SQLite at {}", o.path.string());
  return openSqliteStore(o);
}

// An external datastore (etcd) may still be starting, as when both come up at boot: wait
// for it a while instead of failing on the first call.
void waitForDatastore(Store& store) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    try {
      store.currentRevision();
      return;
    } catch (const StoreError& e) {
      if (e.code() != StoreErrorCode::kUnavailable ||
          std::chrono::steady_clock::now() >= deadline) {
        throw;
      }
      spdlog::info("waiting for the datastore: {}", e.what());
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
}

class RunningServer final : public Server {
 public:
  explicit RunningServer(const ServerConfig& config) {
    std::filesystem::create_directories(config.dataDir / "server");
    std::filesystem::permissions(config.dataDir,
                                 std::filesystem::perms::owner_all |
                                     std::filesystem::perms::group_exec |
                                     std::filesystem::perms::others_exec,
                                 std::filesystem::perm_options::replace);
    pki::ServerPkiOptions po;
    po.dataDir = config.dataDir;
    po.nodeIps = config.nodeIps;
    po.serviceIps = {firstServiceIp(config.serviceCidr)};
    po.tlsSans = config.tlsSans;
    po.token = config.token;
    pki_ = std::make_unique<pki::ServerPki>(pki::loadOrCreateServerPki(po));

    store_ = openStore(config);
    waitForDatastore(*store_);

    ApiServerOptions ao;
    ao.store = store_.get();
    RequestAuthenticatorOptions auth;
    auth.serviceAccountKeys = {pki_->serviceAccountKey.publicKey()};
    auth.issuers = {kIssuer};
    auth.joinToken = pki_->token;
    ao.authenticator = newRequestAuthenticator(std::move(auth));
    ensureBootstrapPolicy(*store_);
    auto rbac = std::make_shared<RbacAuthorizer>(*store_);
    ao.authorizer = newUnionAuthorizer({std::make_shared<NodeAuthorizer>(*store_), rbac});
    ao.rules = [rbac](const UserInfo& user, std::string_view ns) {
      auto r = rbac->rulesFor(user, ns);
      return UserRules{std::move(r.rules), std::move(r.errors)};
    };
    ao.objectAdmission = [](const UserInfo& user, const Attributes& attributes,
                            std::string_view object, std::string_view old) {
      return checkNodeRestriction(user, attributes, object, old);
    };
    ao.tokenIssuer = [this](const ServiceAccountTokenRequest& r) {
      auto claims = pki::newServiceAccountClaims(
          kIssuer, r.audiences.empty() ? std::vector<std::string>{kIssuer} : r.audiences,
          r.namespace_, r.serviceAccountName, r.serviceAccountUid,
          std::chrono::seconds(r.expirationSeconds));
      claims.podName = r.podName;
      claims.podUid = r.podUid;
      return pki::signServiceAccountToken(pki_->serviceAccountKey, claims);
    };
    const auto kubeletClient = pki::ensureKubeletClientCertificate(*pki_);
    ao.kubeletClient.certificateFile = kubeletClient.certFile.string();
    ao.kubeletClient.privateKeyFile = kubeletClient.keyFile.string();
    // Kubelets serve certificates this CA signed when they joined (as k3s passes its server CA
    // as --kubelet-certificate-authority), so logs/exec/port-forward never talk to an impostor.
    ao.kubeletClient.caFile = pki_->paths.serverCaCert.string();
    ao.serviceCidr = config.serviceCidr;
    ao.nodePortMin = config.nodePortMin;
    ao.nodePortMax = config.nodePortMax;
    ao.defaultNotReadyTolerationSeconds = config.defaultNotReadyTolerationSeconds;
    ao.defaultUnreachableTolerationSeconds = config.defaultUnreachableTolerationSeconds;
    api_ = std::make_unique<ApiServer>(std::move(ao));
    join_ = std::make_unique<NodeJoinHandler>(*pki_, *store_);

    http::ServerOptions ho;
    ho.bindAddress = config.bindAddress;
    ho.port = config.httpsPort;
    ho.tls.certificateFile = pki_->paths.servingCert.string();
    ho.tls.privateKeyFile = pki_->paths.servingKey.string();
    ho.tls.clientCaFile = pki_->paths.clientCaCert.string();
    ho.workerThreads = config.workerThreads;
    http_ = http::startServer(
        ho, [this](http::Request& request, const std::shared_ptr<http::Responder>& responder) {
          if (join_->handle(request, responder)) return;
          api_->handle(request, responder);
        });

    const std::string url = "https://127.0.0.1:" + std::to_string(http_->port());
    const auto kubeconfig = pki_->adminKubeconfig(url).toYaml();
    const auto credDir = config.dataDir / "server" / "cred";
    std::filesystem::create_directories(credDir);
    kubeconfigPath_ = credDir / "admin.kubeconfig";
    pki::writeFileAtomic(kubeconfigPath_, kubeconfig, 0600);
    if (!config.writeKubeconfig.empty()) {
      if (config.writeKubeconfig.has_parent_path()) {
        std::filesystem::create_directories(config.writeKubeconfig.parent_path());
      }
      pki::writeFileAtomic(config.writeKubeconfig, kubeconfig, config.kubeconfigMode);
      kubeconfigPath_ = config.writeKubeconfig;
    }
    spdlog::info("kite server listening on {}:{}; kubeconfig {}", config.bindAddress, http_->port(),
                 kubeconfigPath_.string());
    startControlLoops(config, url);
  }

  ~RunningServer() override { stop(); }

  std::uint16_t port() const override { return http_->port(); }
  std::filesystem::path kubeconfigPath() const override { return kubeconfigPath_; }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    if (loops_) loops_->stop();
    api_->shutdown();
    http_->stop();
    api_.reset();
    store_.reset();
  }

 private:
  void startControlLoops(const ServerConfig& config, const std::string& url) {
    if (config.disableScheduler && config.disableControllerManager) return;
    ControlLoopsConfig lc;
    lc.api.server = url;
    lc.api.caPem = pki_->serverCaBundlePem;
    lc.api.clientCertificatePem = pki_->adminCertificate.toPem();
    lc.api.clientKeyPem = pki_->adminKey.toPem();
    lc.api.userAgent = "kite-server/control-loops";
    lc.scheduler = !config.disableScheduler;
    lc.controllers = !config.disableControllerManager;
    lc.cluster.clusterCidr = config.clusterCidr;
    lc.cluster.serviceCidr = config.serviceCidr;
    lc.cluster.rootCaPem = pki_->serverCaBundlePem;
    lc.cluster.apiserverAddress = config.nodeIps.empty() ? "127.0.0.1" : config.nodeIps.front();
    lc.cluster.apiserverPort = http_->port();
    lc.cluster.localPathDir = (config.dataDir / "storage").string();
    lc.cluster.nodeMonitorGracePeriod = config.nodeMonitorGracePeriod;
    loops_ = std::make_unique<ControlLoops>(std::move(lc));
  }

  std::unique_ptr<pki::ServerPki> pki_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ApiServer> api_;
  std::unique_ptr<NodeJoinHandler> join_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<ControlLoops> loops_;
  std::filesystem::path kubeconfigPath_;
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<Server> startServer(const ServerConfig& config) {
  return std::make_unique<RunningServer>(config);
}

std::pair<int, int> parsePortRange(const std::string& text) {
  const auto dash = text.find('-');
  try {
    if (dash == std::string::npos) throw std::invalid_argument("no dash");
    std::size_t used = 0;
    const int lo = std::stoi(text.substr(0, dash), &used);
    if (used != dash) throw std::invalid_argument("junk");
    const std::string hiText = text.substr(dash + 1);
    const int hi = std::stoi(hiText, &used);
    if (used != hiText.size() || lo < 1 || hi > 65535 || lo > hi) {
      throw std::invalid_argument("range");
    }
    return {lo, hi};
  } catch (const std::exception&) {
    throw std::invalid_argument("invalid port range \"" + text +
                                "\": want FROM-TO with 1 <= FROM <= TO <= 65535");
  }
}

}  // namespace kite::controlplane
