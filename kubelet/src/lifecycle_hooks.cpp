#include "kite/kubelet/lifecycle_hooks.h"

#include <thread>

#include "kite/kubelet/named_port.h"
#include "kite/kubelet/probe_handlers.h"

namespace kite::kubelet {

std::string runLifecycleHook(cri::Runtime& runtime, const api::core::v1::LifecycleHandler& handler,
                             const api::core::v1::Container& container,
                             const std::string& containerId, const std::string& podIP,
                             std::chrono::seconds timeout) {
  ProbeOutcome outcome{ProbeResult::kSuccess, ""};
  if (handler.exec) {
    outcome = probeExec(runtime, containerId, handler.exec->command, timeout);
  } else if (handler.httpGet) {
    const auto& get = *handler.httpGet;
    std::multimap<std::string, std::string> headers;
    for (const auto& h : get.httpHeaders) headers.emplace(h.name, h.value);
    outcome =
        probeHttp(get.scheme.empty() ? "HTTP" : get.scheme, get.host.empty() ? podIP : get.host,
                  resolvePort(get.port, container), get.path, headers, timeout);
  } else if (handler.tcpSocket) {
    outcome = probeTcp(handler.tcpSocket->host.empty() ? podIP : handler.tcpSocket->host,
                       resolvePort(handler.tcpSocket->port, container), timeout);
  } else if (handler.sleep) {
    std::this_thread::sleep_for(std::min(timeout, std::chrono::seconds(handler.sleep->seconds)));
  }
  return outcome.result == ProbeResult::kSuccess ? "" : outcome.output;
}

}  // namespace kite::kubelet
