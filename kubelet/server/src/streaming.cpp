// Exec, attach and port-forward: the kubelet asks the runtime for a one-time streaming URL
// (containerd's streaming server on loopback) and relays the client's upgrade request there,
// then pipes the upgraded bytes both ways. The protocol (SPDY/3.1, or a channel.k8s.io
// WebSocket the runtime accepts) is negotiated between the client and the runtime; the
// kubelet only carries it. kubectl's WebSocket exec and attach (v5.channel.k8s.io, which
// containerd's streaming server does not speak) arrive here already turned into SPDY by the
// API server's translator (kite's, or upstream's stream translator in front of this kubelet).
#include <chrono>
#include <stdexcept>

#include "handlers.h"
#include "kite/http/client.h"
#include "runtime_lookup.h"

namespace kite::kubelet::server {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> queryValues(std::string_view query, std::string_view name) {
  std::vector<std::string> values;
  std::size_t at = 0;
  while (at <= query.size()) {
    auto end = query.find('&', at);
    if (end == std::string_view::npos) {
      end = query.size();
    }
    const std::string_view pair = query.substr(at, end - at);
    at = end + 1;
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) {
      continue;
    }
    std::string value;
    const std::string_view raw = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        value.push_back(' ');
      } else if (raw[i] == '%' && i + 2 < raw.size() &&
                 std::isxdigit(static_cast<unsigned char>(raw[i + 1])) != 0 &&
                 std::isxdigit(static_cast<unsigned char>(raw[i + 2])) != 0) {
        value.push_back(
            static_cast<char>(std::stoi(std::string(raw.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        value.push_back(raw[i]);
      }
    }
    values.push_back(std::move(value));
  }
  return values;
}

bool flag(std::string_view query, std::string_view name) {
  const auto values = queryValues(query, name);
  return !values.empty() && (values.front() == "1" || values.front() == "true");
}

std::string streamingUrl(cri::Runtime& runtime, const KubeletPath& path,
                         const http::Request& request) {
  if (path.endpoint == Endpoint::kPortForward) {
    const auto sandbox = findSandbox(runtime, path.namespace_, path.pod);
    if (!sandbox) {
      throw std::out_of_range("pod \"" + path.pod + "\" not found");
    }
    std::vector<int32_t> ports;
    for (const auto& port : queryValues(request.query, "port")) {
      ports.push_back(std::stoi(port));
    }
    return runtime.portForward(*sandbox, ports);
  }
  const auto container = findContainer(runtime, path.namespace_, path.pod, path.container, false);
  if (!container || !container->running) {
    throw std::out_of_range("container \"" + path.container + "\" in pod \"" + path.pod +
                            "\" is not running");
  }
  const bool tty = flag(request.query, "tty");
  const bool stdinWanted = flag(request.query, "input") || flag(request.query, "stdin");
  const bool stdoutWanted = flag(request.query, "output") || flag(request.query, "stdout");
  const bool stderrWanted = !tty && (flag(request.query, "error") || flag(request.query, "stderr"));
  if (path.endpoint == Endpoint::kAttach) {
    cri::v1::AttachRequest attach;
    attach.set_container_id(container->id);
    attach.set_stdin(stdinWanted);
    attach.set_tty(tty);
    attach.set_stdout(stdoutWanted);
    attach.set_stderr(stderrWanted);
    return runtime.attach(attach);
  }
  cri::v1::ExecRequest exec;
  exec.set_container_id(container->id);
  for (auto& part : queryValues(request.query, "command")) {
    exec.add_cmd(std::move(part));
  }
  if (exec.cmd().empty()) {
    throw std::invalid_argument("you must specify at least one command for the container");
  }
  exec.set_stdin(stdinWanted);
  exec.set_tty(tty);
  exec.set_stdout(stdoutWanted);
  exec.set_stderr(stderrWanted);
  return runtime.exec(exec);
}

}  // namespace

void serveStreaming(cri::Runtime& runtime, const KubeletPath& path, http::Request& request,
                    const std::shared_ptr<http::Responder>& responder) {
  if (!http::isUpgradeRequest(request)) {
    responder->respond(textResponse(400, "Upgrade request required"));
    return;
  }
  std::string url;
  try {
    url = streamingUrl(runtime, path, request);
  } catch (const std::out_of_range& e) {
    responder->respond(textResponse(404, e.what()));
    return;
  } catch (const std::invalid_argument& e) {
    responder->respond(textResponse(400, e.what()));
    return;
  } catch (const std::exception& e) {
    responder->respond(
        textResponse(500, std::string("error getting the streaming URL: ") + e.what()));
    return;
  }
  const auto target = http::parseUrl(url);
  if (!target) {
    responder->respond(textResponse(500, "the runtime returned a bad streaming URL: " + url));
    return;
  }
  http::ClientRequest forward;
  forward.method = request.method;
  forward.target = target->target;
  for (const auto& [name, value] : request.headers) {
    if (name == "authorization" || name == "host" || name == "content-length" ||
        name == "transfer-encoding") {
      continue;
    }
    forward.headers.emplace_back(name, value);
  }
  forward.body = request.body;
  std::optional<http::ClientTls> tls;
  if (target->https) {
    tls.emplace();  // a loopback streaming server with its own certificate: not verified
  }
  http::Response head;
  std::shared_ptr<http::ClientConnection> backend;
  try {
    backend = http::ClientConnection::open(target->host, target->port, tls, forward, 10s, head);
  } catch (const std::exception& e) {
    responder->respond(
        textResponse(502, std::string("error dialing the streaming server: ") + e.what()));
    return;
  }
  if (head.status != 101) {
    backend->close();
    responder->respond(textResponse(head.status, "the streaming server refused the upgrade"));
    return;
  }
  http::Response switching;
  switching.status = 101;
  for (auto& [name, value] : head.headers) {
    if (name != "connection" && name != "content-length") {
      switching.headers.emplace_back(name, value);
    }
  }
  auto tunnel = responder->upgrade(std::move(switching));
  if (!tunnel) {
    backend->close();
    return;
  }
  http::pipeTunnels(tunnel, backend);
}

}  // namespace kite::kubelet::server
