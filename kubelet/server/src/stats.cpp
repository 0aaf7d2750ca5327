// /stats/summary and /metrics from the runtime's own numbers (CRI ListContainerStats and the
// sandboxes' labels): CPU and memory per container and per pod (the sum of its containers).
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <map>
#include <sstream>

#include "handlers.h"
#include "kite/client/request_metrics.h"
#include "kite/kubelet/labels.h"

namespace kite::kubelet::server {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

std::string rfc3339(std::int64_t unixNanos) {
  const std::time_t seconds = static_cast<std::time_t>(unixNanos / 1000000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string label(const google::protobuf::Map<std::string, std::string>& labelsMap,
                  const char* key) {
  const auto it = labelsMap.find(key);
  return it == labelsMap.end() ? std::string() : it->second;
}

struct Usage {
  std::int64_t time = 0;
  std::uint64_t cpuNanoSeconds = 0;
  std::uint64_t cpuNanoCores = 0;
  std::uint64_t workingSet = 0;
  std::uint64_t usage = 0;
  bool hasCpu = false;
  bool hasMemory = false;
};

Usage usageOf(const cri::v1::ContainerStats& stats) {
  Usage usage;
  if (stats.has_cpu()) {
    usage.hasCpu = true;
    usage.time = stats.cpu().timestamp();
    usage.cpuNanoSeconds = stats.cpu().usage_core_nano_seconds().value();
    usage.cpuNanoCores = stats.cpu().usage_nano_cores().value();
  }
  if (stats.has_memory()) {
    usage.hasMemory = true;
    usage.time = std::max(usage.time, stats.memory().timestamp());
    usage.workingSet = stats.memory().working_set_bytes().value();
    usage.usage = stats.memory().usage_bytes().value();
  }
  return usage;
}

void writeUsage(Writer& w, const Usage& usage) {
  const std::string time = rfc3339(usage.time);
  if (usage.hasCpu) {
    w.Key("cpu");
    w.StartObject();
    w.Key("time");
    w.String(time.c_str());
    w.Key("usageNanoCores");
    w.Uint64(usage.cpuNanoCores);
    w.Key("usageCoreNanoSeconds");
    w.Uint64(usage.cpuNanoSeconds);
    w.EndObject();
  }
  if (usage.hasMemory) {
    w.Key("memory");
    w.StartObject();
    w.Key("time");
    w.String(time.c_str());
    w.Key("usageBytes");
    w.Uint64(usage.usage);
    w.Key("workingSetBytes");
    w.Uint64(usage.workingSet);
    w.EndObject();
  }
}

struct PodStats {
  std::string name, namespace_, uid;
  std::vector<std::pair<std::string, Usage>> containers;
  Usage total;
};

std::map<std::string, PodStats> collect(cri::Runtime& runtime) {
  std::map<std::string, PodStats> pods;  // by sandbox id
  for (const auto& sandbox : runtime.listPodSandbox()) {
    if (sandbox.state() != cri::v1::SANDBOX_READY) {
      continue;
    }
    auto& pod = pods[sandbox.id()];
    pod.name = sandbox.metadata().name();
    pod.namespace_ = sandbox.metadata().namespace_();
    pod.uid = sandbox.metadata().uid();
  }
  std::map<std::string, std::string> sandboxOf;
  for (const auto& container : runtime.listContainers()) {
    sandboxOf[container.id()] = container.pod_sandbox_id();
  }
  for (const auto& stats : runtime.listContainerStats()) {
    const auto it = pods.find(sandboxOf[stats.attributes().id()]);
    if (it == pods.end()) {
      continue;
    }
    const Usage usage = usageOf(stats);
    auto& pod = it->second;
    std::string name = stats.attributes().metadata().name();
    if (name.empty()) {
      name = label(stats.attributes().labels(), labels::kContainerName);
    }
    pod.containers.emplace_back(name, usage);
    pod.total.time = std::max(pod.total.time, usage.time);
    pod.total.hasCpu = pod.total.hasCpu || usage.hasCpu;
    pod.total.hasMemory = pod.total.hasMemory || usage.hasMemory;
    pod.total.cpuNanoSeconds += usage.cpuNanoSeconds;
    pod.total.cpuNanoCores += usage.cpuNanoCores;
    pod.total.workingSet += usage.workingSet;
    pod.total.usage += usage.usage;
  }
  return pods;
}

}  // namespace

http::Response statsSummary(cri::Runtime& runtime, const std::string& nodeName) {
  const auto pods = collect(runtime);
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("node");
  w.StartObject();
  w.Key("nodeName");
  w.String(nodeName.c_str());
  w.EndObject();
  w.Key("pods");
  w.StartArray();
  for (const auto& [id, pod] : pods) {
    w.StartObject();
    w.Key("podRef");
    w.StartObject();
    w.Key("name");
    w.String(pod.name.c_str());
    w.Key("namespace");
    w.String(pod.namespace_.c_str());
    w.Key("uid");
    w.String(pod.uid.c_str());
    w.EndObject();
    w.Key("containers");
    w.StartArray();
    for (const auto& [name, usage] : pod.containers) {
      w.StartObject();
      w.Key("name");
      w.String(name.c_str());
      writeUsage(w, usage);
      w.EndObject();
    }
    w.EndArray();
    writeUsage(w, pod.total);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  http::Response response;
  response.headers.emplace_back("content-type", "application/json");
  response.body = buffer.GetString();
  return response;
}

http::Response metrics(cri::Runtime& runtime, const std::string& nodeName) {
  std::size_t runningPods = 0;
  for (const auto& sandbox : runtime.listPodSandbox()) {
    runningPods += sandbox.state() == cri::v1::SANDBOX_READY ? 1 : 0;
  }
  std::map<std::string, std::size_t> containersByState;
  for (const auto& container : runtime.listContainers()) {
    switch (container.state()) {
      case cri::v1::CONTAINER_CREATED:
        ++containersByState["created"];
        break;
      case cri::v1::CONTAINER_RUNNING:
        ++containersByState["running"];
        break;
      case cri::v1::CONTAINER_EXITED:
        ++containersByState["exited"];
        break;
      default:
        ++containersByState["unknown"];
        break;
    }
  }
  std::ostringstream out;
  out << "# HELP kubelet_node_name [ALPHA] The node's name. The count is always 1.\n"
      << "# TYPE kubelet_node_name gauge\n"
      << "kubelet_node_name{node=\"" << nodeName << "\"} 1\n"
      << "# HELP kubelet_running_pods [ALPHA] Number of pods that have a running pod sandbox\n"
      << "# TYPE kubelet_running_pods gauge\n"
      << "kubelet_running_pods " << runningPods << "\n"
      << "# HELP kubelet_running_containers [ALPHA] Number of containers currently running\n"
      << "# TYPE kubelet_running_containers gauge\n";
  for (const auto& [state, count] : containersByState) {
    out << "kubelet_running_containers{container_state=\"" << state << "\"} " << count << "\n";
  }
  // This process's API requests (the kubelet's, in `kite agent`).
  out << kite::client::requestMetricsText();
  http::Response response;
  response.headers.emplace_back("content-type", "text/plain; version=0.0.4; charset=utf-8");
  response.body = out.str();
  return response;
}

std::string podsFromRuntime(cri::Runtime& runtime) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("kind");
  w.String("PodList");
  w.Key("apiVersion");
  w.String("v1");
  w.Key("metadata");
  w.StartObject();
  w.EndObject();
  w.Key("items");
  w.StartArray();
  for (const auto& sandbox : runtime.listPodSandbox()) {
    if (sandbox.state() != cri::v1::SANDBOX_READY) {
      continue;
    }
    w.StartObject();
    w.Key("metadata");
    w.StartObject();
    w.Key("name");
    w.String(sandbox.metadata().name().c_str());
    w.Key("namespace");
    w.String(sandbox.metadata().namespace_().c_str());
    w.Key("uid");
    w.String(sandbox.metadata().uid().c_str());
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

}  // namespace kite::kubelet::server
