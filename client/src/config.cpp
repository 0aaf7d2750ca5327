#include "kite/client/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "kite/client/errors.h"
#include "kite/pki/encoding.h"

namespace kite::client {

namespace fs = std::filesystem;

namespace {

std::string readFile(const fs::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(what + ": cannot read " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One kubeconfig document and where it came from, for error messages.
class Kubeconfig {
 public:
  Kubeconfig(std::string_view yaml, fs::path origin) : origin_(std::move(origin)) {
    try {
      root_ = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
      fail("", std::string("not valid YAML: ") + e.what());
    }
    if (!root_.IsMap()) fail("", "not a kubeconfig (expected a mapping at the top)");
  }

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    std::string msg = "kubeconfig ";
    msg.append(origin_.empty() ? std::string("<text>") : origin_.string());
    if (!field.empty()) msg.append(": ").append(field);
    msg.append(": ").append(what);
    throw ConfigError(msg);
  }

  std::string scalar(const YAML::Node& node, const std::string& field) const {
    if (!node || node.IsNull()) return {};
    if (!node.IsScalar()) fail(field, "expected a string");
    return node.as<std::string>();
  }

  bool boolean(const YAML::Node& node, const std::string& field) const {
    if (!node || node.IsNull()) return false;
    try {
      return node.as<bool>();
    } catch (const YAML::Exception&) {
      fail(field, "expected true or false");
    }
  }

  // The entry named `name` of the list `section` (clusters, users, contexts) and its path.
  std::pair<YAML::Node, std::string> named(const std::string& section, const std::string& inner,
                                           const std::string& name,
                                           const std::string& referrer) const {
    const YAML::Node list = root_[section];
    if (list && !list.IsNull() && !list.IsSequence()) fail(section, "expected a list");
    if (list && list.IsSequence()) {
      for (std::size_t i = 0; i < list.size(); ++i) {
        std::string path = section;
        path.append("[").append(std::to_string(i)).append("]");
        if (scalar(list[i]["name"], path + ".name") == name) {
          const YAML::Node body = list[i][inner];
          std::string bodyPath = path;
          bodyPath.append(".").append(inner);
          if (body && !body.IsNull() && !body.IsMap()) fail(bodyPath, "expected a mapping");
          return {body, bodyPath};
        }
      }
    }
    fail(referrer,
         section.substr(0, section.size() - 1) + " \"" + name + "\" not found in " + section);
  }

  // Inline *-data (base64) or a file path relative to the kubeconfig's folder.
  std::string dataOrFile(const YAML::Node& body, const std::string& path,
                         const std::string& key) const {
    const std::string dataField = key + "-data";
    const std::string data = scalar(body[dataField], path + "." + dataField);
    if (!data.empty()) {
      auto decoded = pki::base64Decode(data);
      if (!decoded) fail(path + "." + dataField, "not valid base64");
      return *decoded;
    }
    const std::string file = scalar(body[key], path + "." + key);
    if (file.empty()) return {};
    const fs::path p = resolve(file);
    std::ifstream in(p, std::ios::binary);
    if (!in) fail(path + "." + key, "cannot read " + p.string());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  fs::path resolve(const std::string& file) const {
    fs::path p(file);
    if (p.is_relative() && !origin_.empty()) p = origin_.parent_path() / p;
    return p;
  }

  const YAML::Node& root() const { return root_; }

 private:
  fs::path origin_;
  YAML::Node root_;
};

std::string env(const char* name) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read at start-up
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace

RestConfig parseKubeconfig(std::string_view yaml, const fs::path& origin,
                           const KubeconfigOptions& options) {
  Kubeconfig kc(yaml, origin);
  const std::string contextName = options.context.empty()
                                      ? kc.scalar(kc.root()["current-context"], "current-context")
                                      : options.context;
  std::string clusterName = options.cluster;
  std::string userName = options.user;
  std::string ns = options.namespace_;
  if (contextName.empty()) {
    if (clusterName.empty()) kc.fail("current-context", "not set and no context given");
  } else {
    const auto [context, path] = kc.named("contexts", "context", contextName,
                                          options.context.empty() ? "current-context" : "context");
    if (clusterName.empty()) clusterName = kc.scalar(context["cluster"], path + ".cluster");
    if (userName.empty()) userName = kc.scalar(context["user"], path + ".user");
    if (ns.empty()) ns = kc.scalar(context["namespace"], path + ".namespace");
    if (clusterName.empty()) kc.fail(path + ".cluster", "context names no cluster");
  }

  RestConfig config;
  const auto [cluster, cpath] = kc.named("clusters", "cluster", clusterName, "context cluster");
  config.server = kc.scalar(cluster["server"], cpath + ".server");
  if (config.server.empty()) kc.fail(cpath + ".server", "missing");
  config.caPem = kc.dataOrFile(cluster, cpath, "certificate-authority");
  config.insecureSkipTlsVerify =
      kc.boolean(cluster["insecure-skip-tls-verify"], cpath + ".insecure-skip-tls-verify");
  config.tlsServerName = kc.scalar(cluster["tls-server-name"], cpath + ".tls-server-name");

  if (!userName.empty()) {
    const auto [user, upath] = kc.named("users", "user", userName, "context user");
    if (user) {
      config.clientCertificatePem = kc.dataOrFile(user, upath, "client-certificate");
      config.clientKeyPem = kc.dataOrFile(user, upath, "client-key");
      if (config.clientCertificatePem.empty() != config.clientKeyPem.empty()) {
        kc.fail(upath, config.clientKeyPem.empty() ? "client-certificate without client-key"
                                                   : "client-key without client-certificate");
      }
      config.token = kc.scalar(user["token"], upath + ".token");
      const std::string tokenFile = kc.scalar(user["tokenFile"], upath + ".tokenFile");
      if (!tokenFile.empty() && config.token.empty()) {
        config.tokenFile = kc.resolve(tokenFile);
        if (!fs::exists(config.tokenFile)) {
          kc.fail(upath + ".tokenFile", "cannot read " + config.tokenFile.string());
        }
      }
      if (user["exec"] || user["auth-provider"]) {
        kc.fail(upath, "exec and auth-provider credentials are not supported");
      }
      if (user["username"] || user["password"]) {
        kc.fail(upath, "basic authentication is not supported");
      }
    }
  }
  if (!ns.empty()) config.namespace_ = ns;
  return config;
}

RestConfig loadKubeconfig(const fs::path& path, const KubeconfigOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("kubeconfig " + path.string() + ": cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parseKubeconfig(ss.str(), path, options);
}

fs::path defaultKubeconfigPath(const fs::path& explicitPath) {
  if (!explicitPath.empty()) return explicitPath;
  const std::string list = env("KUBECONFIG");
  std::size_t start = 0;
  while (start <= list.size() && !list.empty()) {
    const auto colon = list.find(':', start);
    const std::string item =
        list.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::error_code ec;
    if (!item.empty() && fs::exists(item, ec)) return item;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  const std::string home = env("HOME");
  if (!home.empty()) {
    fs::path p = fs::path(home) / ".kube" / "config";
    std::error_code ec;
    if (fs::exists(p, ec)) return p;
  }
  return {};
}

RestConfig inClusterConfig(const fs::path& serviceAccountDir) {
  const std::string host = env("KUBERNETES_SERVICE_HOST");
  const std::string port = env("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    throw ConfigError(
        "in-cluster configuration: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be "
        "set (not running in a pod?)");
  }
  RestConfig config;
  config.server = "https://";
  if (host.find(':') != std::string::npos) {
    config.server.append("[").append(host).append("]");
  } else {
    config.server.append(host);
  }
  config.server.append(":").append(port);
  config.tokenFile = serviceAccountDir / "token";
  std::error_code ec;
  if (!fs::exists(config.tokenFile, ec)) {
    throw ConfigError("in-cluster configuration: cannot read the token file " +
                      config.tokenFile.string());
  }
  config.caPem = readFile(serviceAccountDir / "ca.crt", "in-cluster configuration: CA");
  if (fs::exists(serviceAccountDir / "namespace", ec)) {
    std::string ns =
        readFile(serviceAccountDir / "namespace", "in-cluster configuration: namespace");
    while (!ns.empty() && (ns.back() == '\n' || ns.back() == ' ')) ns.pop_back();
    if (!ns.empty()) config.namespace_ = ns;
  }
  return config;
}

RestConfig loadDefaultConfig(const fs::path& explicitPath, const KubeconfigOptions& options) {
  const fs::path path = defaultKubeconfigPath(explicitPath);
  if (!path.empty()) return loadKubeconfig(path, options);
  if (!env("KUBERNETES_SERVICE_HOST").empty()) return inClusterConfig();
  throw ConfigError(
      "no kubeconfig: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config or run in a pod");
}

}  // namespace kite::client
