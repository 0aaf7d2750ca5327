// The subresources the API server answers by proxying to the pod's kubelet: pods/log,
// pods/exec, pods/attach, pods/portforward, and nodes/NAME/proxy/... . The node comes from the
// pod's spec.nodeName; its address from the Node's status (InternalIP first, then the other
// address kinds) and status.daemonEndpoints.kubeletEndpoint.Port. The hop is HTTPS with the API
// server's kubelet client certificate.
//
// Upgrades (exec, attach, port-forward) are relayed byte for byte once the kubelet answers
// 101: SPDY/3.1 passes through. kubectl's WebSocket port-forward ("SPDY/3.1+portforward.k8s.io":
// SPDY carried in binary messages) is unwrapped here and goes on as SPDY. WebSocket exec and
// attach (v5.channel.k8s.io, kubectl's default since 1.30; v4; the base64 and v1 variants
// client libraries use) are translated here into the SPDY remotecommand protocol
// v4.channel.k8s.io toward the kubelet, as the upstream API server's stream translator does: here
// because kubelets and the runtimes' streaming servers (containerd 1.6's included) speak SPDY for
// exec and attach, so any kubelet works behind it, and v5's stdin close maps onto a SPDY
// half-close, which a WebSocket hop could not carry. The same goes for the kubelet's own
// streaming routes reached through nodes/NAME/proxy/ (exec/NS/POD[/UID]/CONTAINER, attach/...,
// portForward/NS/POD[/UID]): a WebSocket upgrade there is translated or unwrapped the same way.
// Other WebSocket upgrades are refused with 400 before any hop, naming what is served; kubectl
// then falls back to SPDY on its own.
#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "api_error.h"
#include "kite/api/core/v1/types.h"
#include "kite/http/client.h"
#include "kite/http/remote_command_pipe.h"
#include "kite/http/websocket.h"
#include "rest_handler.h"

namespace kite::controlplane::apiserver {
namespace {

namespace corev1 = api::core::v1;
using namespace std::chrono_literals;

constexpr std::string_view kPortForwardTunnel = "SPDY/3.1+portforward.k8s.io";
// The WebSocket remotecommand protocols translated to SPDY, preferred first (the kubelet's
// WebSocket server's set: client libraries other than kubectl offer the base64 ones).
constexpr std::array<std::string_view, 5> kChannelProtocols = {
    "v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io", "base64.channel.k8s.io",
    "channel.k8s.io"};
// What the translator speaks toward the kubelet.
constexpr std::string_view kSpdyRemoteCommand = "v4.channel.k8s.io";

struct KubeletTarget {
  std::string host;
  std::uint16_t port = 10250;
};

std::string queryWithout(std::string_view query, std::string_view name) {
  std::string out;
  std::size_t at = 0;
  while (at < query.size()) {
    auto end = query.find('&', at);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(at, end - at);
    at = end + 1;
    if (pair.empty() || pair.substr(0, pair.find('=')) == name) continue;
    if (!out.empty()) out.push_back('&');
    out.append(pair);
  }
  return out;
}

std::string segmentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((std::isalnum(u) != 0) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4U]);
      out.push_back(kHex[u & 15U]);
    }
  }
  return out;
}

// A boolean exec/attach parameter as the kubelet reads it ("1" or "true"; the old names
// input/output/error too).
bool streamFlag(const Query& query, std::string_view name, std::string_view oldName) {
  for (const auto key : {name, oldName}) {
    const std::string value = query.get(key);
    if (value == "1" || value == "true") return true;
  }
  return false;
}

// Collects a short answer (an error the kubelet gave instead of 101) from the backend.
std::string readShortBody(const std::shared_ptr<http::ClientConnection>& backend,
                          std::size_t length) {
  struct State {
    std::mutex mutex;
    std::condition_variable done;
    std::string body;
    bool ended = false;
  };
  auto state = std::make_shared<State>();
  backend->start(
      [state](const std::string& data) {
        const std::lock_guard lock(state->mutex);
        state->body += data;
        state->done.notify_all();
      },
      [state] {
        const std::lock_guard lock(state->mutex);
        state->ended = true;
        state->done.notify_all();
      });
  std::unique_lock lock(state->mutex);
  state->done.wait_for(lock, 5s, [&] { return state->ended || state->body.size() >= length; });
  std::string body = state->body.substr(0, length);
  lock.unlock();
  backend->close();
  return body;
}

// The streaming kind a kubelet path names when it arrives through nodes/NAME/proxy/...: "exec"
// or "attach" for /exec|attach/NS/POD[/UID]/CONTAINER, "portforward" for
// /portForward/NS/POD[/UID] (the kubelet's own routes, so the same upgrades and translations
// as pods/exec, pods/attach and pods/portforward apply); empty for any other path.
std::string nodeProxyStreamKind(const std::vector<std::string>& parts) {
  // parts: nodes, NAME, proxy, then the kubelet path's segments.
  constexpr std::size_t kFirst = 3;
  if (parts.size() <= kFirst) return {};
  const std::size_t rest = parts.size() - kFirst - 1;  // segments after the route's name
  const bool named = std::all_of(parts.begin() + kFirst + 1, parts.end(),
                                 [](const std::string& part) { return !part.empty(); });
  if (!named) return {};
  const std::string& route = parts[kFirst];
  if ((route == "exec" || route == "attach") && (rest == 3 || rest == 4)) return route;
  if (route == "portForward" && (rest == 2 || rest == 3)) return "portforward";
  return {};
}

}  // namespace

bool isKubeletProxySubresource(const RequestContext& ctx) {
  const auto& info = ctx.type->info();
  const auto& sub = ctx.info.subresource;
  if (isPods(info)) {
    return sub == "log" || sub == "exec" || sub == "attach" || sub == "portforward";
  }
  return info.group.empty() && info.resource == "nodes" && sub == "proxy";
}

void RestHandler::proxyToKubelet(RequestContext& ctx,
                                 const std::shared_ptr<http::Responder>& responder) {
  const auto& request = ctx.request;
  const bool upgrade = http::isUpgradeRequest(request);
  const bool nodeProxy = !isPods(ctx.type->info());
  // What the request streams: the pod subresource, or the kubelet route a nodes/proxy path
  // names, so a WebSocket upgrade through either gets the same treatment.
  const std::string streamKind = nodeProxy ? nodeProxyStreamKind(ctx.info.parts) : std::string();
  const std::string& sub = nodeProxy ? streamKind : ctx.info.subresource;
  bool tunnelled = false;       // WebSocket port-forward: SPDY inside binary messages
  std::string channelProtocol;  // WebSocket exec/attach: translated to SPDY, below
  if (upgrade) {
    std::string protocol(request.header("upgrade").value_or(""));
    for (auto& c : protocol) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (protocol == "websocket") {
      const auto offered =
          http::webSocketProtocols(request.header("sec-websocket-protocol").value_or(""));
      const auto offers = [&offered](std::string_view name) {
        return std::find(offered.begin(), offered.end(), name) != offered.end();
      };
      const bool keyed = request.header("sec-websocket-key").has_value();
      tunnelled = sub == "portforward" && keyed && offers(kPortForwardTunnel);
      if (keyed && (sub == "exec" || sub == "attach")) {
        for (const auto name : kChannelProtocols) {
          if (channelProtocol.empty() && offers(name)) channelProtocol = name;
        }
      }
      if (nodeProxy && sub.empty()) {
        throw ApiError::badRequest(
            "kite serves WebSocket upgrades through nodes/proxy only to the kubelet's "
            "exec/NAMESPACE/POD/CONTAINER, attach/NAMESPACE/POD/CONTAINER and "
            "portForward/NAMESPACE/POD paths; use SPDY for others");
      }
      if (!tunnelled && channelProtocol.empty()) {
        throw ApiError::badRequest(
            "kite serves WebSocket " + sub + " with " +
            (sub == "portforward" ? std::string(kPortForwardTunnel)
                                  : "v5.channel.k8s.io, v4.channel.k8s.io, "
                                    "v4.base64.channel.k8s.io, base64.channel.k8s.io or "
                                    "channel.k8s.io") +
            ", which the request does not offer; use SPDY (kubectl falls back to it on its own)");
      }
    }
  }
  const bool translated = !channelProtocol.empty();
  if (!nodeProxy && (sub == "exec" || sub == "attach" || sub == "portforward") && !upgrade) {
    throw ApiError::badRequest("Upgrade request required");
  }
  if (sub == "log" && request.method != "GET") {
    throw ApiError::methodNotSupported("", "pods/log", ctx.info.verb);
  }
  if (hooks_.kubeletClient.certificateFile.empty()) {
    throw ApiError::serviceUnavailable("no kubelet client certificate is configured");
  }

  std::string nodeName;
  std::string target;
  if (!nodeProxy) {
    const auto loaded = repository_.get(*ctx.type, ctx.info.namespace_, ctx.info.name);
    const auto& pod = as<corev1::Pod>(*loaded.object);
    nodeName = pod.spec.nodeName;
    if (nodeName.empty()) {
      throw ApiError::badRequest("pod " + ctx.info.name + " does not have a host assigned");
    }
    const std::string prefix =
        "/" + segmentEncode(ctx.info.namespace_) + "/" + segmentEncode(ctx.info.name);
    if (sub == "portforward") {
      target = "/portForward" + prefix;
    } else {
      std::string container = ctx.query.get("container");
      if (container.empty()) {
        if (pod.spec.containers.size() != 1) {
          std::string names;
          for (const auto& c : pod.spec.containers) names += (names.empty() ? "" : " ") + c.name;
          throw ApiError::badRequest("a container name must be specified for pod " + ctx.info.name +
                                     ", choose one of: [" + names + "]");
        }
        container = pod.spec.containers.front().name;
      }
      const char* endpoint =
          sub == "log" ? "/containerLogs" : (sub == "exec" ? "/exec" : "/attach");
      target = endpoint + prefix + "/" + segmentEncode(container);
    }
    const std::string query = queryWithout(request.query, "container");
    if (!query.empty()) target += "?" + query;
  } else {
    nodeName = ctx.info.name;
    target = "/";
    for (std::size_t i = 3; i < ctx.info.parts.size(); ++i) {
      target += (i == 3 ? "" : "/") + segmentEncode(ctx.info.parts[i]);
    }
    if (!request.query.empty()) target += "?" + request.query;
  }

  const ResourceType* nodes = registry_.find("", "v1", "nodes");
  const auto node = repository_.get(*nodes, "", nodeName);
  const auto& status = as<corev1::Node>(*node.object).status;
  KubeletTarget kubelet;
  for (const char* kind : {"InternalIP", "ExternalIP", "Hostname"}) {
    for (const auto& address : status.addresses) {
      if (kubelet.host.empty() && address.type == kind) kubelet.host = address.address;
    }
  }
  if (kubelet.host.empty()) {
    throw ApiError::internal("node " + nodeName + " has no address to reach its kubelet at");
  }
  if (status.daemonEndpoints.kubeletEndpoint.Port > 0) {
    kubelet.port = static_cast<std::uint16_t>(status.daemonEndpoints.kubeletEndpoint.Port);
  }

  http::ClientRequest forward;
  forward.method = request.method;
  forward.target = target;
  forward.http10 = !upgrade;  // a plain answer's body then ends with the connection
  for (const auto& [name, value] : request.headers) {
    if (tunnelled || translated) break;  // the kubelet gets a plain SPDY upgrade, below
    if (name == "authorization" || name == "host" || name == "content-length" ||
        name == "transfer-encoding" || name.rfind("impersonate-", 0) == 0 ||
        (!upgrade && (name == "connection" || name == "upgrade"))) {
      continue;
    }
    forward.headers.emplace_back(name, value);
  }
  if (tunnelled) {
    forward.method = "POST";
    forward.headers = {{"connection", "Upgrade"},
                       {"upgrade", "SPDY/3.1"},
                       {"x-stream-protocol-version", "portforward.k8s.io"}};
  }
  if (translated) {
    forward.method = "POST";
    forward.headers = {{"connection", "Upgrade"},
                       {"upgrade", "SPDY/3.1"},
                       {"x-stream-protocol-version", std::string(kSpdyRemoteCommand)}};
  }
  const auto& options = hooks_.kubeletClient;
  http::ClientTls tls{options.caFile, options.certificateFile, options.privateKeyFile, ""};
  http::Response head;
  std::shared_ptr<http::ClientConnection> backend;
  try {
    backend = http::ClientConnection::open(kubelet.host, kubelet.port, tls, forward, 15s, head);
  } catch (const std::exception& e) {
    throw ApiError::internal(std::string("error dialing backend: ") + e.what());
  }
  http::Headers headers;
  std::size_t contentLength = 0;
  for (auto& [name, value] : head.headers) {
    if (name == "content-length") {
      contentLength = static_cast<std::size_t>(std::strtoull(value.c_str(), nullptr, 10));
    }
    if (name == "connection" || name == "content-length" || name == "transfer-encoding") continue;
    headers.emplace_back(name, value);
  }
  if (tunnelled && head.status == 101) {
    http::Headers switching{
        {"upgrade", "websocket"},
        {"sec-websocket-accept",
         http::webSocketAccept(request.header("sec-websocket-key").value_or(""))},
        {"sec-websocket-protocol", std::string(kPortForwardTunnel)}};
    auto tunnel = responder->upgrade({101, std::move(switching), {}});
    if (!tunnel) {
      backend->close();
      return;
    }
    http::pipeWebSocketToRaw(tunnel, backend);
    return;
  }
  if (translated && head.status == 101) {
    std::string agreed;
    for (const auto& [name, value] : head.headers) {
      if (name == "x-stream-protocol-version") agreed = value;
    }
    if (agreed != kSpdyRemoteCommand) {
      backend->close();
      throw ApiError::internal("the kubelet agreed to remotecommand protocol \"" + agreed +
                               "\", not " + std::string(kSpdyRemoteCommand));
    }
    http::Headers switching{
        {"upgrade", "websocket"},
        {"sec-websocket-accept",
         http::webSocketAccept(request.header("sec-websocket-key").value_or(""))},
        {"sec-websocket-protocol", channelProtocol}};
    auto tunnel = responder->upgrade({101, std::move(switching), {}});
    if (!tunnel) {
      backend->close();
      return;
    }
    const http::RemoteCommandStreams streams{
        streamFlag(ctx.query, "stdin", "input"), streamFlag(ctx.query, "stdout", "output"),
        streamFlag(ctx.query, "stderr", "error"), streamFlag(ctx.query, "tty", "tty"),
        http::channelProtocolNamed(channelProtocol).value_or(http::ChannelProtocol::kV5)};
    http::pipeRemoteCommand(tunnel, backend, streams);
    return;
  }
  if (upgrade && head.status == 101) {
    auto tunnel = responder->upgrade({101, std::move(headers), {}});
    if (!tunnel) {
      backend->close();
      return;
    }
    http::pipeTunnels(tunnel, backend);
    return;
  }
  if (upgrade) {
    // The kubelet refused: hand its short answer on (kubectl shows it).
    http::Response refused{head.status, std::move(headers), readShortBody(backend, contentLength)};
    responder->respond(std::move(refused));
    return;
  }
  auto stream = responder->startStream(head.status, std::move(headers));
  stream->onClose([backend] { backend->close(); });
  backend->start([stream](std::string data) { stream->write(std::move(data)); },
                 [stream] { stream->close(); });
}

}  // namespace kite::controlplane::apiserver
