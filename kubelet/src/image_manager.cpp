#include "kite/kubelet/image_manager.h"

#include "kite/api/pod_defaults.h"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstdio>

namespace kite::kubelet {

namespace {

bool hasDomain(const std::string& firstComponent) {
  return firstComponent.find_first_of(".:") != std::string::npos || firstComponent == "localhost";
}

std::string base64Decode(const std::string& in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int value = 0;
  int bits = -8;
  for (char c : in) {
    if (c == '=') break;
    const auto index = kAlphabet.find(c);
    if (index == std::string::npos) throw std::invalid_argument("auth: invalid base64");
    value = (value << 6) + static_cast<int>(index);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((value >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

// Registry keys in docker configs may be URLs ("https://index.docker.io/v1/").
std::string normalizeRegistryKey(std::string key) {
  for (const char* scheme : {"https://", "http://"}) {
    if (key.starts_with(scheme)) key = key.substr(std::string(scheme).size());
  }
  key = key.substr(0, key.find('/'));
  if (key == "index.docker.io" || key == "registry-1.docker.io") key = "docker.io";
  return key;
}

// The shape the runtime's reference parser accepts: no whitespace, and a
// lower-case repository (tags and digests may hold upper case).
bool validImageReference(const std::string& image) {
  if (image.empty() || image.front() == '/' || image.back() == ':' || image.back() == '/') {
    return false;
  }
  if (std::any_of(image.begin(), image.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; })) {
    return false;
  }
  const auto lastSlash = image.rfind('/');
  auto end = image.find_first_of(":@", lastSlash == std::string::npos ? 0 : lastSlash);
  // A host:port prefix is not a tag.
  const std::string repository = image.substr(0, end);
  const auto firstSlash = repository.find('/');
  const std::string path =
      firstSlash != std::string::npos && hasDomain(repository.substr(0, firstSlash))
          ? repository.substr(firstSlash + 1)
          : repository;
  return std::none_of(path.begin(), path.end(),
                      [](char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

PullPolicy pullPolicyFor(const std::string& image, const std::string& policy) {
  if (policy == "Always") return PullPolicy::kAlways;
  if (policy == "IfNotPresent") return PullPolicy::kIfNotPresent;
  if (policy == "Never") return PullPolicy::kNever;
  if (!policy.empty()) {
    throw std::invalid_argument("imagePullPolicy: Unsupported value: \"" + policy +
                                "\": supported values: \"Always\", \"IfNotPresent\", \"Never\"");
  }
  return api::defaultPullPolicy(image) == "Always" ? PullPolicy::kAlways
                                                   : PullPolicy::kIfNotPresent;
}

std::string registryHost(const std::string& image) {
  const auto slash = image.find('/');
  if (slash == std::string::npos) return "docker.io";
  const std::string first = image.substr(0, slash);
  return hasDomain(first) ? first : "docker.io";
}

std::vector<cri::v1::AuthConfig> credentialsFor(const std::string& image,
                                                const std::vector<std::string>& dockerConfigs) {
  const std::string host = registryHost(image);
  std::vector<cri::v1::AuthConfig> out;
  for (const auto& config : dockerConfigs) {
    rapidjson::Document doc;
    doc.Parse(config.data(), config.size());
    if (doc.HasParseError() || !doc.IsObject()) {
      throw std::invalid_argument(".dockerconfigjson: not a JSON object");
    }
    // Both the current {"auths": {...}} form and the legacy bare map.
    const rapidjson::Value* auths = &doc;
    if (doc.HasMember("auths")) auths = &doc["auths"];
    if (!auths->IsObject())
      throw std::invalid_argument(".dockerconfigjson: auths is not an object");
    for (const auto& entry : auths->GetObject()) {
      if (normalizeRegistryKey(entry.name.GetString()) != host || !entry.value.IsObject()) continue;
      cri::v1::AuthConfig auth;
      const auto& v = entry.value;
      auto field = [&](const char* name) {
        return v.HasMember(name) && v[name].IsString() ? std::string(v[name].GetString()) : "";
      };
      auth.set_username(field("username"));
      auth.set_password(field("password"));
      if (const auto encoded = field("auth"); !encoded.empty()) {
        const auto decoded = base64Decode(encoded);
        const auto colon = decoded.find(':');
        if (colon == std::string::npos) {
          throw std::invalid_argument(".dockerconfigjson: auth for " + host +
                                      " is not base64 of user:password");
        }
        auth.set_username(decoded.substr(0, colon));
        auth.set_password(decoded.substr(colon + 1));
      }
      auth.set_server_address(host);
      auth.set_identity_token(field("identitytoken"));
      auth.set_registry_token(field("registrytoken"));
      out.push_back(std::move(auth));
    }
  }
  return out;
}

std::string pulledMessage(const std::string& image, const EnsuredImage& ensured) {
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.3fs",
                static_cast<double>(ensured.pullTime.count()) / 1000);
  const std::string took = buffer.data();
  return "Successfully pulled image \"" + image + "\" in " + took + " (" + took +
         " including waiting). Image size: " + std::to_string(ensured.size) + " bytes.";
}

std::pair<std::string, std::string> pullFailureEvent(const ImagePullError& error) {
  if (error.reason() == "ImagePullBackOff") return {"Normal", "BackOff"};
  if (error.reason() == "ErrImageNeverPull") return {"Warning", "ErrImageNeverPull"};
  if (error.reason() == "InvalidImageName") return {"Warning", "InspectFailed"};
  return {"Warning", "Failed"};
}

ImageManager::ImageManager(cri::Images& images, const base::Clock& clock)
    : images_(images),
      clock_(clock),
      backoff_(clock, std::chrono::seconds(10), std::chrono::minutes(5)) {}

EnsuredImage ImageManager::ensureImage(const std::string& backoffKey, const std::string& image,
                                       PullPolicy policy,
                                       const std::vector<cri::v1::AuthConfig>& credentials,
                                       const cri::v1::PodSandboxConfig& sandbox) {
  if (!validImageReference(image)) {
    throw ImagePullError("InvalidImageName", "Failed to apply default image tag \"" + image +
                                                 "\": couldn't parse image name \"" + image +
                                                 "\": invalid reference format");
  }
  const auto present = images_.imageStatus(cri::imageSpec(image));
  if (policy == PullPolicy::kNever) {
    if (present) return {.id = present->id(), .size = present->size(), .image = present};
    throw ImagePullError("ErrImageNeverPull", "Container image \"" + image +
                                                  "\" is not present with pull policy of Never");
  }
  if (present && policy == PullPolicy::kIfNotPresent) {
    return {.id = present->id(), .size = present->size(), .image = present};
  }

  const std::string key = backoffKey + "/" + image;
  if (backoff_.isInBackoffSinceUpdate(key)) {
    throw ImagePullError("ImagePullBackOff", "Back-off pulling image \"" + image + "\"");
  }
  std::string lastError;
  // Without credentials try anonymously; with some, try each in turn.
  std::vector<cri::v1::AuthConfig> attempts = credentials;
  if (attempts.empty()) attempts.emplace_back();
  const auto started = clock_.now();
  for (const auto& auth : attempts) {
    try {
      images_.pullImage(cri::imageSpec(image), auth, &sandbox);
      backoff_.reset(key);
      const auto pulled = images_.imageStatus(cri::imageSpec(image));
      if (!pulled) throw ImagePullError("ErrImagePull", "image " + image + " vanished after pull");
      return {
          .id = pulled->id(),
          .pulled = true,
          .pullTime = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started),
          .size = pulled->size(),
          .image = pulled};
    } catch (const cri::Error& e) {
      lastError = e.runtimeMessage();
    }
  }
  backoff_.next(key);
  throw ImagePullError("ErrImagePull", "Failed to pull image \"" + image + "\": " + lastError);
}

}  // namespace kite::kubelet
