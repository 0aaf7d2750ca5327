// `kite cri`: a small crictl for kite's own CRI client. It is how a user (and
// the README's run command) exercises a runtime before the cluster exists.

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>

#include "commands.h"
#include "kite/cri/grpc_client.h"

namespace kite::cmd {

namespace {

namespace v1 = cri::v1;

struct CriFlags {
  std::string endpoint;
  int timeoutSeconds = 120;
};

cri::Client connectFrom(const CriFlags& flags) {
  cri::ClientOptions options;
  options.endpoint = flags.endpoint;
  options.requestTimeout = std::chrono::seconds(flags.timeoutSeconds);
  return cri::connect(options);
}

std::string toJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = false;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::string shortId(const std::string& id) { return id.substr(0, 13); }

std::string age(int64_t createdAtNanos) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                           now - std::chrono::nanoseconds(createdAtNanos))
                           .count();
  if (seconds < 120) return std::to_string(seconds) + "s";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds / 3600) + "h";
}

std::string randomUid() {
  std::random_device device;
  std::ostringstream out;
  out << std::hex << std::setfill('0');
  for (int i = 0; i < 4; ++i) out << std::setw(8) << device();
  return out.str();
}

struct RunFlags {
  std::string name;
  std::string ns = "default";
  std::string image;
  std::string cgroupParent;
  std::string logDir;
  std::vector<std::string> command;
};

// Builds the smallest sandbox + container a pod needs and starts it.
void runPod(const CriFlags& flags, const RunFlags& run) {
  auto client = connectFrom(flags);
  v1::PodSandboxConfig sandbox;
  auto* meta = sandbox.mutable_metadata();
  meta->set_name(run.name);
  meta->set_namespace_(run.ns);
  meta->set_uid(randomUid());
  sandbox.set_hostname(run.name);
  (*sandbox.mutable_labels())["io.kubernetes.pod.name"] = run.name;
  (*sandbox.mutable_labels())["io.kubernetes.pod.namespace"] = run.ns;
  (*sandbox.mutable_labels())["io.kubernetes.pod.uid"] = meta->uid();
  if (!run.logDir.empty()) sandbox.set_log_directory(run.logDir);
  if (!run.cgroupParent.empty()) {
    sandbox.mutable_linux()->set_cgroup_parent(run.cgroupParent + "/pod" + meta->uid());
  }

  if (!client.images->imageStatus(cri::imageSpec(run.image))) {
    std::cerr << "pulling " << run.image << "\n";
    client.images->pullImage(cri::imageSpec(run.image), {}, &sandbox);
  }
  const std::string podId = client.runtime->runPodSandbox(sandbox);

  v1::ContainerConfig container;
  container.mutable_metadata()->set_name(run.name);
  container.mutable_image()->set_image(run.image);
  for (const auto& arg : run.command) container.add_command(arg);
  if (!run.logDir.empty()) container.set_log_path(run.name + "/0.log");
  const std::string containerId = client.runtime->createContainer(podId, container, sandbox);
  client.runtime->startContainer(containerId);

  const auto status = client.runtime->podSandboxStatus(podId);
  std::cout << "pod " << podId << "\ncontainer " << containerId << "\nip "
            << status.status().network().ip() << "\n";
}

void removePods(const CriFlags& flags, const std::vector<std::string>& ids) {
  auto client = connectFrom(flags);
  for (const auto& id : ids) {
    client.runtime->stopPodSandbox(id);
    client.runtime->removePodSandbox(id);
    std::cout << "removed " << id << "\n";
  }
}

}  // namespace

void addCriCommand(CLI::App& root) {
  auto flags = std::make_shared<CriFlags>();
  auto* cri = root.add_subcommand("cri", "Talk to a CRI runtime directly (a small crictl)");
  cri->require_subcommand(1);
  cri->add_option("--container-runtime-endpoint", flags->endpoint,
                  "CRI endpoint, e.g. unix:///run/containerd/containerd.sock")
      ->envname("CONTAINER_RUNTIME_ENDPOINT")
      ->required();
  cri->add_option("--timeout", flags->timeoutSeconds, "Deadline of each call in seconds")
      ->check(CLI::Range(1, 3600));

  cri->add_subcommand("version", "Runtime name and version")->callback([flags] {
    const auto v = connectFrom(*flags).runtime->version();
    std::cout << "RuntimeName: " << v.runtime_name() << "\nRuntimeVersion: " << v.runtime_version()
              << "\nRuntimeApiVersion: " << v.runtime_api_version() << "\n";
  });

  cri->add_subcommand("info", "Runtime status and conditions (JSON)")->callback([flags] {
    std::cout << toJson(connectFrom(*flags).runtime->status(true));
  });

  cri->add_subcommand("pods", "List pod sandboxes")->callback([flags] {
    std::cout << std::left << std::setw(15) << "POD ID" << std::setw(10) << "CREATED"
              << std::setw(20) << "STATE" << std::setw(30) << "NAME"
              << "NAMESPACE\n";
    for (const auto& pod : connectFrom(*flags).runtime->listPodSandbox()) {
      std::cout << std::setw(15) << shortId(pod.id()) << std::setw(10) << age(pod.created_at())
                << std::setw(20) << v1::PodSandboxState_Name(pod.state()) << std::setw(30)
                << pod.metadata().name() << pod.metadata().namespace_() << "\n";
    }
  });

  cri->add_subcommand("ps", "List containers")->callback([flags] {
    std::cout << std::left << std::setw(15) << "CONTAINER" << std::setw(10) << "CREATED"
              << std::setw(20) << "STATE" << std::setw(20) << "NAME" << std::setw(15) << "POD ID"
              << "IMAGE\n";
    for (const auto& c : connectFrom(*flags).runtime->listContainers()) {
      std::cout << std::setw(15) << shortId(c.id()) << std::setw(10) << age(c.created_at())
                << std::setw(20) << v1::ContainerState_Name(c.state()) << std::setw(20)
                << c.metadata().name() << std::setw(15) << shortId(c.pod_sandbox_id())
                << c.image().image() << "\n";
    }
  });

  cri->add_subcommand("images", "List images")->callback([flags] {
    std::cout << std::left << std::setw(50) << "IMAGE" << std::setw(15) << "IMAGE ID"
              << "SIZE\n";
    for (const auto& image : connectFrom(*flags).images->listImages()) {
      const std::string tag = image.repo_tags().empty() ? "<none>" : image.repo_tags(0);
      std::cout << std::setw(50) << tag << std::setw(15) << shortId(image.id()) << image.size()
                << "\n";
    }
  });

  auto pull = std::make_shared<std::pair<std::string, std::string>>();
  auto* pullCommand = cri->add_subcommand("pull", "Pull an image");
  pullCommand->add_option("image", pull->first, "Image reference")->required();
  pullCommand->add_option("--creds", pull->second, "Registry credentials USER:PASSWORD");
  pullCommand->callback([flags, pull] {
    v1::AuthConfig auth;
    if (const auto colon = pull->second.find(':'); colon != std::string::npos) {
      auth.set_username(pull->second.substr(0, colon));
      auth.set_password(pull->second.substr(colon + 1));
    }
    std::cout << connectFrom(*flags).images->pullImage(cri::imageSpec(pull->first), auth) << "\n";
  });

  auto id = std::make_shared<std::string>();
  auto* inspectp = cri->add_subcommand("inspectp", "Pod sandbox status (JSON)");
  inspectp->add_option("id", *id, "Pod sandbox ID")->required();
  inspectp->callback([flags, id] {
    std::cout << toJson(connectFrom(*flags).runtime->podSandboxStatus(*id, true));
  });
  auto* inspect = cri->add_subcommand("inspect", "Container status (JSON)");
  inspect->add_option("id", *id, "Container ID")->required();
  inspect->callback([flags, id] {
    std::cout << toJson(connectFrom(*flags).runtime->containerStatus(*id, true));
  });

  auto run = std::make_shared<RunFlags>();
  auto* runCommand = cri->add_subcommand("run", "Run a one-container pod and print its IP");
  runCommand->add_option("--name", run->name, "Pod and container name")->required();
  runCommand->add_option("--namespace", run->ns, "Pod namespace");
  runCommand->add_option("--image", run->image, "Image reference")->required();
  runCommand->add_option("--cgroup-parent", run->cgroupParent, "Parent cgroup of the pod");
  runCommand->add_option("--log-dir", run->logDir, "Directory for the container's log");
  runCommand->add_option("command", run->command, "Command (after --)");
  runCommand->callback([flags, run] { runPod(*flags, *run); });

  auto ids = std::make_shared<std::vector<std::string>>();
  auto* rmp = cri->add_subcommand("rmp", "Stop and remove pod sandboxes (with their containers)");
  rmp->add_option("ids", *ids, "Pod sandbox IDs")->required();
  rmp->callback([flags, ids] { removePods(*flags, *ids); });

  auto execArgs = std::make_shared<std::vector<std::string>>();
  auto* exec = cri->add_subcommand("exec", "Run a command in a container and wait for it");
  exec->add_option("id", *id, "Container ID")->required();
  exec->add_option("command", *execArgs, "Command (after --)")->required();
  exec->callback([flags, id, execArgs] {
    const auto result =
        connectFrom(*flags).runtime->execSync(*id, *execArgs, std::chrono::seconds(0));
    std::cout << result.stdoutData;
    std::cerr << result.stderrData;
    if (result.exitCode != 0) throw ExitStatus{result.exitCode};
  });
}

}  // namespace kite::cmd
