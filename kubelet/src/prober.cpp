#include "kite/kubelet/prober.h"

#include <condition_variable>
#include <thread>

#include "kite/kubelet/named_port.h"
#include "kite/kubelet/probe_handlers.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;
using namespace std::chrono_literals;

namespace {

ProbeOutcome runProbe(cri::Runtime& runtime, const corev1::Probe& probe,
                      const corev1::Container& container, const std::string& containerId,
                      const std::string& podIP) {
  const auto timeout = std::chrono::seconds(std::max(probe.timeoutSeconds, 1));
  if (probe.exec) return probeExec(runtime, containerId, probe.exec->command, timeout);
  if (probe.httpGet) {
    std::multimap<std::string, std::string> headers;
    for (const auto& h : probe.httpGet->httpHeaders) headers.emplace(h.name, h.value);
    return probeHttp(probe.httpGet->scheme.empty() ? "HTTP" : probe.httpGet->scheme,
                     probe.httpGet->host.empty() ? podIP : probe.httpGet->host,
                     resolvePort(probe.httpGet->port, container), probe.httpGet->path, headers,
                     timeout);
  }
  if (probe.tcpSocket) {
    return probeTcp(probe.tcpSocket->host.empty() ? podIP : probe.tcpSocket->host,
                    resolvePort(probe.tcpSocket->port, container), timeout);
  }
  if (probe.grpc) {
    return probeGrpc(podIP, probe.grpc->port, probe.grpc->service.value_or(""), timeout);
  }
  return {ProbeResult::kUnknown, "probe has no handler"};
}

}  // namespace

// One probe of one container instance, on its own thread.
class Prober::Worker {
 public:
  Worker(Prober& prober, Key key, corev1::Probe probe, corev1::Container container,
         std::string containerId, std::string podIP)
      : containerId_(containerId),
        thread_([this, &prober, key = std::move(key), probe = std::move(probe),
                 container = std::move(container), containerId = std::move(containerId),
                 podIP = std::move(podIP)](const std::stop_token& stop) {
          run(stop, prober, key, probe, container, containerId, podIP);
        }) {}
  const std::string& containerId() const { return containerId_; }

 private:
  void run(const std::stop_token& stop, Prober& prober, const Key& key, const corev1::Probe& probe,
           const corev1::Container& container, const std::string& containerId,
           const std::string& podIP) {
    std::mutex m;
    std::condition_variable_any cv;
    auto sleep = [&](std::chrono::milliseconds d) {
      std::unique_lock lock(m);
      cv.wait_for(lock, stop, d, [] { return false; });
      return !stop.stop_requested();
    };
    if (!sleep(std::chrono::seconds(probe.initialDelaySeconds))) return;
    int successes = 0;
    int failures = 0;
    std::optional<bool> last;
    const int successThreshold = std::max(probe.successThreshold, 1);
    const int failureThreshold = std::max(probe.failureThreshold, 1);
    while (!stop.stop_requested()) {
      // Readiness and liveness wait until the startup probe (if any) passed.
      const auto startup = prober.results(key.podUid).started;
      const bool gated =
          key.kind != "startup" && startup.contains(key.container) && !startup.at(key.container);
      if (!gated) {
        const auto outcome = runProbe(prober.runtime_, probe, container, containerId, podIP);
        const bool ok = outcome.result == ProbeResult::kSuccess;
        successes = ok ? successes + 1 : 0;
        failures = ok ? 0 : failures + 1;
        std::optional<bool> now = last;
        if (ok && successes >= successThreshold) now = true;
        if (!ok && failures >= failureThreshold) now = false;
        if (!ok && prober.event_) {
          std::string kind = key.kind;
          kind[0] = static_cast<char>(std::toupper(kind[0]));
          prober.event_(key.podUid, key.container, kind + " probe failed: " + outcome.output);
        }
        if (now != last && now.has_value()) {
          last = now;
          prober.record(key, containerId, *now, outcome.output);
        }
        // A startup probe stops once it passed; a failed liveness/startup
        // probe stops too: the container will be replaced.
        if ((key.kind == "startup" && last == true) || (key.kind != "readiness" && last == false)) {
          return;
        }
      }
      if (!sleep(std::chrono::seconds(std::max(probe.periodSeconds, 1)))) return;
    }
  }

  std::string containerId_;
  std::jthread thread_;
};

Prober::Prober(cri::Runtime& runtime, Changed changed, Event event)
    : runtime_(runtime), changed_(std::move(changed)), event_(std::move(event)) {}

Prober::~Prober() {
  std::map<Key, std::unique_ptr<Worker>> workers;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  workers.clear();  // joins outside the lock: workers call results()/record()
}

void Prober::update(const corev1::Pod& pod, const RuntimePod& runtime) {
  const std::string& uid = pod.metadata.uid;
  const std::string podIP = runtime.sandboxReady() ? runtime.newestSandbox()->network().ip() : "";
  std::vector<std::unique_ptr<Worker>> retired;
  {
    std::lock_guard lock(mutex_);
    std::set<Key> wanted;
    auto consider = [&](const corev1::Container& c) {
      const auto* latest = runtime.latest(c.name);
      if (latest == nullptr || !latest->running()) return;
      const std::pair<const char*, const std::optional<corev1::Probe>*> probes[] = {
          {"liveness", &c.livenessProbe},
          {"readiness", &c.readinessProbe},
          {"startup", &c.startupProbe}};
      for (const auto& [kind, probe] : probes) {
        if (!probe->has_value()) continue;
        Key key{uid, c.name, kind};
        wanted.insert(key);
        auto it = workers_.find(key);
        if (it != workers_.end() && it->second->containerId() == latest->id()) continue;
        if (it != workers_.end()) retired.push_back(std::move(it->second));
        // A new instance starts unready / not started, whatever the old one was.
        if (std::string(kind) != "liveness") results_[key] = false;
        failed_.erase(key);
        workers_[key] = std::make_unique<Worker>(*this, key, **probe, c, latest->id(), podIP);
      }
    };
    for (const auto& c : pod.spec.initContainers) consider(c);
    for (const auto& c : pod.spec.containers) consider(c);
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->first.podUid == uid && !wanted.contains(it->first)) {
        retired.push_back(std::move(it->second));
        results_.erase(it->first);
        failed_.erase(it->first);
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
  }
  retired.clear();  // joins outside the lock
}

void Prober::forget(const std::string& podUid) {
  std::vector<std::unique_ptr<Worker>> retired;
  {
    std::lock_guard lock(mutex_);
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->first.podUid == podUid) {
        retired.push_back(std::move(it->second));
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
    std::erase_if(results_, [&](const auto& kv) { return kv.first.podUid == podUid; });
    std::erase_if(failed_, [&](const Key& key) { return key.podUid == podUid; });
  }
}

ProbeResults Prober::results(const std::string& podUid) const {
  std::lock_guard lock(mutex_);
  ProbeResults out;
  for (const auto& [key, value] : results_) {
    if (key.podUid != podUid) continue;
    if (key.kind == "readiness") out.ready[key.container] = value;
    if (key.kind == "startup") out.started[key.container] = value;
  }
  for (const auto& key : failed_) {
    if (key.podUid == podUid) out.unhealthy.insert(key.container);
  }
  return out;
}

void Prober::record(const Key& key, const std::string& containerId, bool success,
                    const std::string& /*output*/) {
  {
    std::lock_guard lock(mutex_);
    auto worker = workers_.find(key);
    if (worker == workers_.end() || worker->second->containerId() != containerId) return;  // stale
    if (key.kind != "liveness") results_[key] = success;
    if (key.kind != "readiness") {
      if (success) {
        failed_.erase(key);
      } else {
        failed_.insert(key);
      }
    }
  }
  if (changed_) changed_(key.podUid);
}

}  // namespace kite::kubelet
