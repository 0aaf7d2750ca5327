// The kubelet server: TLS (kite/http), then authentication (client certificate, bearer token
// by TokenReview, or anonymous when allowed), authorization (SubjectAccessReview on
// nodes/<subresource>), then the endpoint.
#include "kite/kubelet/kubelet_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <stdexcept>

#include "handlers.h"
#include "kite/http/server.h"
#include "kite/kubelet/server/request_path.h"

namespace kite::kubelet {
namespace {

using server::Endpoint;
using server::textResponse;

class KubeletServerImpl final : public KubeletServer {
 public:
  KubeletServerImpl(const KubeletServerOptions& options, KubeletServerSources sources)
      : options_(options), sources_(std::move(sources)) {
    if (sources_.runtime == nullptr) {
      throw std::invalid_argument("kubelet server: no container runtime");
    }
    if ((options_.authenticationTokenWebhook || options_.authorizeWithWebhook) &&
        !sources_.authApi) {
      throw std::invalid_argument(
          "kubelet server: webhook authentication or authorization needs an API server "
          "connection (--kubeconfig)");
    }
    http::ServerOptions serverOptions;
    serverOptions.bindAddress = options_.address;
    serverOptions.port = options_.port;
    serverOptions.tls.certificateFile = options_.tlsCertFile;
    serverOptions.tls.privateKeyFile = options_.tlsPrivateKeyFile;
    serverOptions.tls.clientCaFile = options_.clientCaFile;
    serverOptions.enableHttp2 = false;  // exec, attach and port-forward need HTTP/1.1 upgrades
    serverOptions.ioThreads = 1;
    serverOptions.workerThreads = 8;
    serverOptions.idleTimeout = std::chrono::seconds(4 * 60 * 60);  // quiet exec sessions
    server_ = http::startServer(
        serverOptions,
        [this](http::Request& request, const std::shared_ptr<http::Responder>& responder) {
          handle(request, responder);
        });
  }

  ~KubeletServerImpl() override { stop(); }
  KubeletServerImpl(const KubeletServerImpl&) = delete;
  KubeletServerImpl& operator=(const KubeletServerImpl&) = delete;

  std::uint16_t port() const override { return server_->port(); }

  void stop() override {
    server_->stop();
    followers_->stop(std::chrono::seconds(5));
  }

 private:
  std::optional<KubeletUser> authenticate(const http::Request& request) {
    if (request.peer) {
      return KubeletUser{request.peer->commonName, "", request.peer->organizations};
    }
    const auto authorization = request.header("authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (authorization && authorization->substr(0, kBearer.size()) == kBearer &&
        options_.authenticationTokenWebhook) {
      auto user = sources_.authApi->reviewToken(std::string(authorization->substr(kBearer.size())));
      if (user) {
        return user;
      }
      return std::nullopt;
    }
    if (options_.anonymousAuth) {
      return KubeletUser{"system:anonymous", "", {"system:unauthenticated"}};
    }
    return std::nullopt;
  }

  void handle(http::Request& request, const std::shared_ptr<http::Responder>& responder) {
    try {
      const auto user = authenticate(request);
      if (!user) {
        responder->respond(textResponse(401, "Unauthorized"));
        return;
      }
      const auto attributes = server::nodeAttributesFor(request.method, request.path);
      if (options_.authorizeWithWebhook) {
        const auto [allowed, reason] = sources_.authApi->reviewAccess(
            *user, attributes.verb, options_.nodeName, attributes.subresource);
        if (!allowed) {
          responder->respond(textResponse(
              403, "Forbidden (user=" + user->name + ", verb=" + attributes.verb +
                       ", resource=nodes, subresource=" + attributes.subresource + ")"));
          return;
        }
      }
      route(request, responder);
    } catch (const std::exception& e) {
      spdlog::warn("kubelet server: {} {}: {}", request.method, request.path, e.what());
      responder->respond(textResponse(500, e.what()));
    }
  }

  void route(http::Request& request, const std::shared_ptr<http::Responder>& responder) {
    auto& runtime = *sources_.runtime;
    const auto path = server::parseKubeletPath(request.path);
    switch (path.endpoint) {
      case Endpoint::kHealthz:
        responder->respond(textResponse(200, "ok"));
        return;
      case Endpoint::kPods: {
        http::Response response;
        response.headers.emplace_back("content-type", "application/json");
        response.body = sources_.podsJson ? sources_.podsJson() : server::podsFromRuntime(runtime);
        responder->respond(std::move(response));
        return;
      }
      case Endpoint::kContainerLogs:
        server::serveContainerLogs(runtime, path, request, responder, followers_);
        return;
      case Endpoint::kExec:
      case Endpoint::kAttach:
      case Endpoint::kPortForward:
        server::serveStreaming(runtime, path, request, responder);
        return;
      case Endpoint::kMetrics:
        responder->respond(server::metrics(runtime, options_.nodeName));
        return;
      case Endpoint::kStatsSummary:
        responder->respond(server::statsSummary(runtime, options_.nodeName));
        return;
      case Endpoint::kNotFound:
        break;
    }
    responder->respond(textResponse(404, "404 page not found"));
  }

  const KubeletServerOptions options_;
  const KubeletServerSources sources_;
  const std::shared_ptr<server::LogFollowers> followers_ = std::make_shared<server::LogFollowers>();
  std::unique_ptr<http::Server> server_;  // last: stopped first
};

}  // namespace

std::unique_ptr<KubeletServer> startKubeletServer(const KubeletServerOptions& options,
                                                  KubeletServerSources sources) {
  return std::make_unique<KubeletServerImpl>(options, std::move(sources));
}

}  // namespace kite::kubelet
