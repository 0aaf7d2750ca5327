#include "kite/kubelet/static_pods.h"

#include <rapidjson/document.h>

#include <cstdio>
#include <set>

#include "kite/api/field_errors.h"
#include "kite/api/json.h"
#include "kite/api/pod_defaults.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;

namespace {

std::string fnv128Hex(const std::string& data) {
  // Two independent 64-bit FNV-1a lanes make a uid-sized, stable identifier.
  uint64_t a = 1469598103934665603ULL;
  uint64_t b = 1099511628211ULL ^ 0x9e3779b97f4a7c15ULL;
  for (const unsigned char c : data) {
    a = (a ^ c) * 1099511628211ULL;
    b = (b ^ c) * 0x100000001b3ULL + 0x2545F4914F6CDD1DULL;
  }
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return text;
}

std::string kindOf(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("kind") || !doc["kind"].IsString()) {
    return "";
  }
  return doc["kind"].GetString();
}

}  // namespace

StaticPods decodeStaticPods(const std::vector<ManifestFile>& files, const std::string& nodeName) {
  StaticPods out;
  std::set<std::string> seen;
  for (const auto& file : files) {
    const std::string where = file.path.string();
    std::vector<std::string> documents;
    try {
      documents = api::yamlToJsonDocuments(file.content);
    } catch (const api::ParseError& e) {
      out.errors.push_back(where + ": " + e.what());
      continue;
    }
    for (std::size_t i = 0; i < documents.size(); ++i) {
      const std::string docWhere =
          documents.size() > 1 ? where + " (document " + std::to_string(i + 1) + ")" : where;
      const std::string kind = kindOf(documents[i]);
      if (kind != "Pod") {
        out.skipped.push_back(docWhere + ": skipping " +
                              (kind.empty() ? "a document without kind" : kind) +
                              ": only Pods run as static pods");
        continue;
      }
      try {
        auto pod = api::decodeJson<corev1::Pod>(documents[i], {.strict = true});
        api::applyPodDefaults(pod);
        api::validatePod(pod);
        pod.metadata.name.append("-").append(nodeName);
        if (pod.metadata.uid.empty()) {
          std::string identity = nodeName;
          identity.append("\n").append(where).append("\n").append(documents[i]);
          pod.metadata.uid = fnv128Hex(identity);
        }
        pod.spec.nodeName = nodeName;
        pod.metadata.annotations["kubernetes.io/config.source"] = "file";
        pod.metadata.annotations["kubernetes.io/config.hash"] = pod.metadata.uid;
        const std::string key = pod.metadata.namespace_ + "/" + pod.metadata.name;
        if (!seen.insert(key).second) {
          std::string error = docWhere;
          error.append(": pod ").append(key).append(" is defined more than once; ignored");
          out.errors.push_back(std::move(error));
          continue;
        }
        out.pods.push_back(std::move(pod));
      } catch (const api::FieldErrors& e) {
        for (const auto& error : e.errors())
          out.errors.push_back(docWhere + ": " + error.message());
      } catch (const std::exception& e) {
        out.errors.push_back(docWhere + ": " + e.what());
      }
    }
  }
  return out;
}

}  // namespace kite::kubelet
