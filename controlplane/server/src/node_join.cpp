#include "node_join.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "kite/pki/csr.h"
#include "kite/pki/encoding.h"
#include "kite/pki/error.h"
#include "kite/pki/join_token.h"
#include "kite/pki/random.h"

namespace kite::controlplane {

namespace {

constexpr std::string_view kClientPath = "/v1-kite/client-kubelet.crt";
constexpr std::string_view kServingPath = "/v1-kite/serving-kubelet.crt";
constexpr std::string_view kNodeGroup = "system:nodes";
constexpr std::string_view kNodeUserPrefix = "system:node:";

// A refusal, answered as a Kubernetes Status so kubectl-minded tools read it as usual.
struct Refusal : std::runtime_error {
  Refusal(int status, std::string why, const std::string& message)
      : std::runtime_error(message), code(status), reason(std::move(why)) {}
  int code;
  std::string reason;
};

http::Response statusResponse(int code, const std::string& reason, const std::string& message) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("kind");
  w.String("Status");
  w.Key("apiVersion");
  w.String("v1");
  w.Key("metadata");
  w.StartObject();
  w.EndObject();
  w.Key("status");
  w.String("Failure");
  w.Key("message");
  w.String(message.c_str(), static_cast<rapidjson::SizeType>(message.size()));
  w.Key("reason");
  w.String(reason.c_str(), static_cast<rapidjson::SizeType>(reason.size()));
  w.Key("code");
  w.Int(code);
  w.EndObject();
  http::Response r;
  r.status = code;
  r.headers = {{"content-type", "application/json"}};
  r.body = buffer.GetString();
  return r;
}

// A node name is a DNS subdomain (RFC 1123), as Node names are.
bool validNodeName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  char previous = '.';
  for (const char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '.') return false;
    if (c == '.' && (previous == '.' || previous == '-')) return false;
    if (c == '-' && previous == '.') return false;
    previous = c;
  }
  return previous != '-' && previous != '.';
}

std::string nowRfc3339() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string newUid() {
  std::string hex = pki::randomHex(16);
  hex[12] = '4';
  std::string out;
  for (std::size_t i = 0; i < hex.size(); ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    out.push_back(hex[i]);
  }
  return out;
}

std::vector<std::string> splitList(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto end = comma == std::string_view::npos ? text.size() : comma;
    std::string item(text.substr(start, end - start));
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string header(const http::Request& request, std::string_view name) {
  const auto value = request.header(name);
  return value ? std::string(*value) : std::string();
}

}  // namespace

NodeJoinHandler::NodeJoinHandler(const pki::ServerPki& pki, Store& store)
    : pki_(pki), store_(store) {}

bool NodeJoinHandler::handle(const http::Request& request,
                             const std::shared_ptr<http::Responder>& responder) {
  const bool cacerts = request.path == "/cacerts";
  const bool client = request.path == kClientPath;
  const bool serving = request.path == kServingPath;
  if (!cacerts && !client && !serving) return false;
  if (cacerts) {
    if (request.method != "GET") {
      responder->respond(statusResponse(405, "MethodNotAllowed", "GET /cacerts only"));
      return true;
    }
    http::Response r;
    r.headers = {{"content-type", "text/plain"}};
    r.body = pki_.serverCaBundlePem;
    responder->respond(std::move(r));
    return true;
  }
  if (request.method != "POST") {
    responder->respond(
        statusResponse(405, "MethodNotAllowed", "POST a certificate signing request"));
    return true;
  }
  try {
    responder->respond(issue(request, serving));
  } catch (const Refusal& e) {
    spdlog::warn("node join from {} refused: {}", request.remoteAddress, e.what());
    responder->respond(statusResponse(e.code, e.reason, e.what()));
  } catch (const std::exception& e) {
    spdlog::error("node join from {} failed: {}", request.remoteAddress, e.what());
    responder->respond(statusResponse(500, "InternalError", e.what()));
  }
  return true;
}

http::Response NodeJoinHandler::issue(const http::Request& request, bool serving) {
  const std::string authorization = header(request, "authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.rfind(kBearer, 0) != 0) {
    throw Refusal(401, "Unauthorized", "the join token is required as a bearer token");
  }
  pki::JoinToken token;
  try {
    token = pki::JoinToken::parse(std::string_view(authorization).substr(kBearer.size()));
  } catch (const pki::PkiError&) {
    throw Refusal(401, "Unauthorized", "the join token is not valid");
  }
  if (!token.sameSecret(pki_.token)) {
    throw Refusal(401, "Unauthorized", "the join token is not valid");
  }
  const std::string node = header(request, "kite-node-name");
  if (!validNodeName(node)) {
    throw Refusal(400, "BadRequest",
                  "Kite-Node-Name: Invalid value: \"" + node +
                      "\": a node name must be a lowercase RFC 1123 subdomain");
  }
  const std::string password = header(request, "kite-node-password");
  if (password.size() < 16 || password.size() > 256) {
    throw Refusal(400, "BadRequest",
                  "Kite-Node-Password: Invalid value: a node password has 16 to 256 characters");
  }
  pki::CertificateRequest csr = [&] {
    try {
      return pki::CertificateRequest::fromPem(request.body);
    } catch (const pki::PkiError& e) {
      throw Refusal(400, "BadRequest", std::string("body: not a certificate request: ") + e.what());
    }
  }();
  if (!csr.signatureValid()) {
    throw Refusal(400, "BadRequest", "body: the certificate request's signature does not verify");
  }
  checkNodePassword(node, password);

  pki::Certificate cert = [&] {
    if (serving) {
      std::vector<std::string> ips;
      for (auto& ip : splitList(header(request, "kite-node-ip"))) {
        if (!pki::isIpAddress(ip)) {
          throw Refusal(400, "BadRequest",
                        "Kite-Node-Ip: Invalid value: \"" + ip + "\": not an IP address");
        }
        ips.push_back(std::move(ip));
      }
      return pki::signServingCsr(pki_.serverCa, csr, {node, "localhost"}, ips);
    }
    const std::string user = std::string(kNodeUserPrefix) + node;
    const auto groups = csr.organizations();
    if (csr.commonName() != user || groups.size() != 1 || groups.front() != kNodeGroup) {
      throw Refusal(403, "Forbidden",
                    "a node's client certificate request must be for CN " + user + ", O " +
                        std::string(kNodeGroup));
    }
    return pki::signClientCsr(pki_.clientCa, csr);
  }();
  spdlog::info("node {} joined: issued its {} certificate (serial {})", node,
               serving ? "serving" : "client", cert.serialHex());
  http::Response r;
  r.headers = {{"content-type", "application/x-pem-file"}};
  // The issuing CA follows the certificate, so the agent can present or check the chain.
  r.body = cert.toPem() + (serving ? pki_.serverCa : pki_.clientCa).certificate.toPem();
  return r;
}

void NodeJoinHandler::checkNodePassword(const std::string& node, const std::string& password) {
  const std::string name = node + ".node-password.kite";
  const std::string key = "/registry/core/secrets/kube-system/" + name;
  const std::string hash = pki::sha256Hex(password);
  if (const auto existing = store_.get(key)) {
    rapidjson::Document d;
    d.Parse(existing->value.data(), existing->value.size());
    std::string stored;
    if (!d.HasParseError() && d.IsObject() && d.HasMember("data") && d["data"].IsObject() &&
        d["data"].HasMember("hash") && d["data"]["hash"].IsString()) {
      stored = pki::base64Decode(d["data"]["hash"].GetString()).value_or("");
    }
    if (!pki::constantTimeEquals(stored, hash)) {
      throw Refusal(403, "Forbidden",
                    "node " + node +
                        " has joined before with another node password; delete the Secret "
                        "kube-system/" +
                        name + " to let a new machine take the name");
    }
    return;
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  const std::string uid = newUid();
  const std::string created = nowRfc3339();
  const std::string encoded = pki::base64Encode(hash);
  w.StartObject();
  w.Key("kind");
  w.String("Secret");
  w.Key("apiVersion");
  w.String("v1");
  w.Key("metadata");
  w.StartObject();
  w.Key("name");
  w.String(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
  w.Key("namespace");
  w.String("kube-system");
  w.Key("uid");
  w.String(uid.c_str(), static_cast<rapidjson::SizeType>(uid.size()));
  w.Key("creationTimestamp");
  w.String(created.c_str(), static_cast<rapidjson::SizeType>(created.size()));
  w.EndObject();
  w.Key("type");
  w.String("kite.io/node-password");
  w.Key("data");
  w.StartObject();
  w.Key("hash");
  w.String(encoded.c_str(), static_cast<rapidjson::SizeType>(encoded.size()));
  w.EndObject();
  w.EndObject();
  if (!store_.create(key, buffer.GetString()).succeeded) {
    // Another join of the same name won the race: check against what it stored.
    checkNodePassword(node, password);
  }
}

}  // namespace kite::controlplane
