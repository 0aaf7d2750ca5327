#include "kite/pki/kubeconfig.h"

#include <array>
#include <cstdio>

#include "kite/pki/encoding.h"
#include "kite/pki/error.h"
#include "kite/pki/files.h"

namespace kite::pki {
namespace {

// A YAML double-quoted scalar: safe for any name or URL (colons, '#', leading '-', ...).
std::string quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u == 0x7F) {
      std::array<char, 8> escape{};
      std::snprintf(escape.data(), escape.size(), "\\x%02x", u);
      out.append(escape.data());
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace

std::string Kubeconfig::toYaml() const {
  if (server.empty()) throw PkiError("kubeconfig needs a server URL");
  const bool hasCert = !clientCertificatePem.empty() || !clientKeyPem.empty();
  if (hasCert && (clientCertificatePem.empty() || clientKeyPem.empty())) {
    throw PkiError("kubeconfig needs both the client certificate and its key");
  }
  if (hasCert && !token.empty()) {
    throw PkiError("kubeconfig takes a client certificate or a token, not both");
  }
  std::string y;
  y.append("apiVersion: v1\nkind: Config\nclusters:\n- name: ").append(quote(clusterName));
  y.append("\n  cluster:\n    server: ").append(quote(server)).append("\n");
  if (!certificateAuthorityPem.empty()) {
    y.append("    certificate-authority-data: ")
        .append(base64Encode(certificateAuthorityPem))
        .append("\n");
  }
  y.append("contexts:\n- name: ").append(quote(contextName));
  y.append("\n  context:\n    cluster: ").append(quote(clusterName));
  y.append("\n    user: ").append(quote(userName)).append("\n");
  if (!namespaceName.empty()) y.append("    namespace: ").append(quote(namespaceName)).append("\n");
  y.append("current-context: ").append(quote(contextName)).append("\n");
  y.append("preferences: {}\nusers:\n- name: ").append(quote(userName)).append("\n  user:");
  if (hasCert) {
    y.append("\n    client-certificate-data: ").append(base64Encode(clientCertificatePem));
    y.append("\n    client-key-data: ").append(base64Encode(clientKeyPem)).append("\n");
  } else if (!token.empty()) {
    y.append("\n    token: ").append(quote(token)).append("\n");
  } else {
    y.append(" {}\n");
  }
  return y;
}

void Kubeconfig::write(const std::filesystem::path& path) const {
  writeFileAtomic(path, toYaml(), kSecretFileMode);
}

}  // namespace kite::pki
