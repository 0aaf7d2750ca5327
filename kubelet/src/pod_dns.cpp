#include "kite/kubelet/pod_dns.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "kite/kubelet/sandbox_config_error.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;

namespace {

constexpr std::size_t kMaxResolvConfBytes = 10U << 20U;  // upstream's read limit
constexpr std::size_t kMaxSearchDomainLength = 253;      // a DNS-1123 subdomain
const char* const kClusterFirstOptions[] = {"ndots:5"};

std::vector<std::string> fields(const std::string& line) {
  std::istringstream in(line);
  return {std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
}

std::string optionName(const std::string& option) { return option.substr(0, option.find(':')); }

// Adds or replaces `option` by name, keeping the order in which names first
// appeared (upstream goes through a Go map, so its order is random).
void setOption(std::vector<std::string>& options, const std::string& option) {
  const std::string name = optionName(option);
  for (auto& existing : options) {
    if (optionName(existing) == name) {
      existing = option;
      return;
    }
  }
  options.push_back(option);
}

void appendUnique(std::vector<std::string>& list, const std::vector<std::string>& more) {
  std::set<std::string> seen(list.begin(), list.end());
  for (const auto& item : more) {
    if (seen.insert(item).second) list.push_back(item);
  }
}

std::vector<std::string> withoutDuplicates(const std::vector<std::string>& list) {
  std::vector<std::string> out;
  appendUnique(out, list);
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : " ") + item;
  return out;
}

ResolvConf readHostResolvConf(const std::filesystem::path& path) {
  if (path.empty()) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw SandboxConfigError("could not open resolv conf file " + path.string() + ": " +
                             std::strerror(errno));
  }
  // Read as it comes, up to just past the limit: a buffer of the limit's size up front cost
  // every sandbox config a 10 MiB allocation and memset (and kept the heap that large).
  std::string text;
  std::array<char, 4096> chunk{};
  while (in && text.size() <= kMaxResolvConfBytes) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (text.size() > kMaxResolvConfBytes) {
    throw SandboxConfigError("resolv conf file " + path.string() + " is larger than 10MiB");
  }
  try {
    return parseResolvConf(text);
  } catch (const SandboxConfigError& e) {
    throw SandboxConfigError("encountered error while parsing resolv conf file " + path.string() +
                             ": " + e.what());
  }
}

enum class DnsType { kCluster, kHost, kNone };

DnsType dnsTypeOf(const corev1::Pod& pod, std::vector<ConfigWarning>* warnings) {
  const std::string& policy = pod.spec.dnsPolicy;
  if (policy == corev1::DNSPolicy::None) return DnsType::kNone;
  if (policy == corev1::DNSPolicy::ClusterFirstWithHostNet) return DnsType::kCluster;
  // "" is what the API server defaults to ClusterFirst.
  if (policy == corev1::DNSPolicy::ClusterFirst || policy.empty()) {
    return pod.spec.hostNetwork ? DnsType::kHost : DnsType::kCluster;
  }
  if (policy == corev1::DNSPolicy::Default) return DnsType::kHost;
  if (warnings != nullptr) {
    warnings->push_back({"DNSConfigForming",
                         "invalid DNSPolicy=" + policy + ", falling back to ClusterFirst policy"});
  }
  return DnsType::kCluster;
}

void useNodeResolver(cri::v1::DNSConfig& dns, const DnsSettings& settings) {
  // Without a resolv.conf the resolver library falls back to "the nameserver
  // on the local machine"; say so explicitly, per address family of the node.
  for (const auto& ip : settings.nodeIPs) {
    dns.add_servers(ip.find(':') != std::string::npos ? "::1" : "127.0.0.1");
  }
  if (dns.servers().empty()) dns.add_servers("127.0.0.1");
  dns.clear_searches();
  dns.add_searches(".");
}

std::vector<std::string> fitSearches(std::vector<std::string> searches,
                                     std::vector<ConfigWarning>* warnings) {
  bool exceeded = false;
  if (searches.size() > kMaxDnsSearchPaths) {
    searches.resize(kMaxDnsSearchPaths);
    exceeded = true;
  }
  // glibc 2.28 aborts on a search path longer than 255 characters.
  std::erase_if(searches, [&](const std::string& s) {
    const bool tooLong = s.size() > kMaxSearchDomainLength;
    exceeded = exceeded || tooLong;
    return tooLong;
  });
  const std::size_t lineLength = join(searches).size();
  if (lineLength > kMaxDnsSearchListChars) {
    std::size_t cut = 0;
    while (!searches.empty() && lineLength - cut > kMaxDnsSearchListChars) {
      cut += searches.back().size() + 1;
      searches.pop_back();
    }
    exceeded = true;
  }
  if (exceeded && warnings != nullptr) {
    warnings->push_back({"DNSConfigForming",
                         "Search Line limits were exceeded, some search paths have been omitted, "
                         "the applied search line is: " +
                             join(searches)});
  }
  return searches;
}

}  // namespace

ResolvConf parseResolvConf(std::string_view text) {
  ResolvConf out;
  std::istringstream in{std::string(text)};
  std::string line;
  bool emptyNameserver = false;
  while (std::getline(in, line)) {
    const auto words = fields(line);
    if (words.empty() || words[0].starts_with('#')) continue;
    if (words[0] == "nameserver") {
      if (words.size() >= 2) {
        out.servers.push_back(words[1]);
      } else {
        emptyNameserver = true;
      }
    } else if (words[0] == "search") {
      // The same domain with and without a trailing dot counts once, so it
      // does not use up the search limits twice.
      out.searches.clear();
      for (std::size_t i = 1; i < words.size(); ++i) {
        if (words[i] == ".") continue;
        std::string domain = words[i];
        if (domain.ends_with('.')) domain.pop_back();
        out.searches.push_back(domain);
      }
    } else if (words[0] == "options") {
      for (std::size_t i = 1; i < words.size(); ++i) setOption(out.options, words[i]);
    }
  }
  if (emptyNameserver) throw SandboxConfigError("nameserver list is empty");
  return out;
}

cri::v1::DNSConfig podDnsConfig(const corev1::Pod& pod, const DnsSettings& settings,
                                std::vector<ConfigWarning>* warnings) {
  const ResolvConf host = readHostResolvConf(settings.hostResolvConf);
  cri::v1::DNSConfig dns;
  const DnsType type = dnsTypeOf(pod, warnings);
  const bool clusterDnsKnown = !settings.clusterDNS.empty();

  if (type == DnsType::kCluster && clusterDnsKnown) {
    // The cluster DNS server is the pod's only nameserver: it forwards what it
    // cannot answer itself to the servers it is configured with.
    for (const auto& ip : settings.clusterDNS) dns.add_servers(ip);
    std::vector<std::string> searches;
    if (!settings.clusterDomain.empty()) {
      const std::string& domain = settings.clusterDomain;
      searches = {pod.metadata.namespace_ + ".svc." + domain, "svc." + domain, domain};
    }
    appendUnique(searches, host.searches);
    for (const auto& s : searches) dns.add_searches(s);
    for (const char* option : kClusterFirstOptions) dns.add_options(option);
  } else if (type != DnsType::kNone) {
    if (type == DnsType::kCluster && warnings != nullptr) {
      warnings->push_back(
          {"MissingClusterDNS",
           "kubelet does not have ClusterDNS IP configured and cannot create Pod using "
           "\"ClusterFirst\" policy. Falling back to \"Default\" policy."});
    }
    for (const auto& s : host.servers) dns.add_servers(s);
    for (const auto& s : host.searches) dns.add_searches(s);
    for (const auto& o : host.options) dns.add_options(o);
    if (settings.hostResolvConf.empty()) useNodeResolver(dns, settings);
  }

  std::vector<std::string> servers(dns.servers().begin(), dns.servers().end());
  std::vector<std::string> searches(dns.searches().begin(), dns.searches().end());
  if (pod.spec.dnsConfig) {
    const auto& extra = *pod.spec.dnsConfig;
    servers = withoutDuplicates(servers);
    appendUnique(servers, extra.nameservers);
    searches = withoutDuplicates(searches);
    appendUnique(searches, extra.searches);
    std::vector<std::string> options;
    for (const auto& o : dns.options()) setOption(options, o);
    for (const auto& o : extra.options) {
      setOption(options, o.value && !o.value->empty() ? o.name + ":" + *o.value : o.name);
    }
    dns.clear_options();
    for (const auto& o : options) dns.add_options(o);
  }

  if (servers.size() > kMaxDnsNameservers) {
    servers.resize(kMaxDnsNameservers);
    if (warnings != nullptr) {
      warnings->push_back({"DNSConfigForming",
                           "Nameserver limits were exceeded, some nameservers have been omitted, "
                           "the applied nameserver line is: " +
                               join(servers)});
    }
  }
  searches = fitSearches(std::move(searches), warnings);
  dns.clear_servers();
  for (const auto& s : servers) dns.add_servers(s);
  dns.clear_searches();
  for (const auto& s : searches) dns.add_searches(s);
  return dns;
}

}  // namespace kite::kubelet
