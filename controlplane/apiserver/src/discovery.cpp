#include "discovery.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api_error.h"
#include "kite/api/openapi.h"
#include "responses.h"

namespace kite::controlplane::apiserver {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void str(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void strings(Writer& w, const char* key, const std::vector<std::string>& values) {
  if (values.empty()) return;
  w.Key(key);
  w.StartArray();
  for (const auto& v : values) str(w, v);
  w.EndArray();
}

std::vector<std::string> verbsFor(const ResourceInfo& info) {
  if (info.resource == "bindings") return {"create"};
  return {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};
}

std::vector<std::string> subresourceVerbs(std::string_view sub) {
  if (sub == "status" || sub == "scale") return {"get", "patch", "update"};
  if (sub == "finalize") return {"update"};
  if (sub == "binding" || sub == "eviction" || sub == "token") return {"create"};
  if (sub == "log") return {"get"};
  if (sub == "exec" || sub == "attach" || sub == "portforward" || sub == "proxy") {
    return {"create", "get"};
  }
  return {"get"};
}

std::string groupVersionOf(const std::string& group, const std::string& version) {
  std::string gv = group;
  gv.append("/").append(version);
  return gv;
}

std::string groupDoc(const Registry& registry, const std::string& group, bool withKind) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  if (withKind) {
    w.Key("kind");
    w.String("APIGroup");
    w.Key("apiVersion");
    w.String("v1");
  }
  w.Key("name");
  str(w, group);
  w.Key("versions");
  w.StartArray();
  const auto versions = registry.versionsOf(group);
  for (const auto& v : versions) {
    w.StartObject();
    w.Key("groupVersion");
    str(w, groupVersionOf(group, v));
    w.Key("version");
    str(w, v);
    w.EndObject();
  }
  w.EndArray();
  w.Key("preferredVersion");
  w.StartObject();
  w.Key("groupVersion");
  str(w, groupVersionOf(group, versions.front()));
  w.Key("version");
  str(w, versions.front());
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string resourceList(const Registry& registry, const std::string& group,
                         const std::string& version) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("kind");
  w.String("APIResourceList");
  w.Key("apiVersion");
  w.String("v1");
  w.Key("groupVersion");
  str(w, group.empty() ? version : groupVersionOf(group, version));
  w.Key("resources");
  w.StartArray();
  for (const auto& t : registry.all()) {
    const auto& i = t->info();
    if (i.group != group || i.version != version) continue;
    w.StartObject();
    w.Key("name");
    str(w, i.resource);
    w.Key("singularName");
    str(w, i.singular);
    w.Key("namespaced");
    w.Bool(i.namespaced);
    w.Key("kind");
    str(w, i.kind);
    if (i.builtin != nullptr) {
      std::vector<std::string> verbs(i.builtin->verbs.begin(), i.builtin->verbs.end());
      strings(w, "verbs", verbs);
    } else {
      strings(w, "verbs", verbsFor(i));
    }
    strings(w, "shortNames", i.shortNames);
    strings(w, "categories", i.categories);
    w.EndObject();
    for (const auto& sub : i.subresources) {
      w.StartObject();
      w.Key("name");
      str(w, i.resource + "/" + sub);
      w.Key("singularName");
      w.String("");
      w.Key("namespaced");
      w.Bool(i.namespaced);
      std::string kind = i.kind;
      std::string subGroup;
      std::string subVersion;
      std::vector<std::string> subVerbs = subresourceVerbs(sub);
      if (const auto* s = i.builtin ? i.builtin->subresource(sub) : nullptr) {
        kind = std::string(s->kind);
        if (s->group != i.group || s->version != i.version) {
          subGroup = std::string(s->group);
          subVersion = std::string(s->version);
        }
        subVerbs.assign(s->verbs.begin(), s->verbs.end());
      }
      if (!subGroup.empty() || !subVersion.empty()) {
        w.Key("group");
        str(w, subGroup);
        w.Key("version");
        str(w, subVersion);
      }
      w.Key("kind");
      str(w, kind);
      strings(w, "verbs", subVerbs);
      w.EndObject();
    }
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

// One resource of an aggregated discovery document (apidiscovery.k8s.io APIResourceDiscovery).
void discoveredResource(Writer& w, const ResourceInfo& i) {
  auto kindRef = [&w](std::string_view group, std::string_view version, std::string_view kind) {
    w.Key("responseKind");
    w.StartObject();
    w.Key("group");
    str(w, group);
    w.Key("version");
    str(w, version);
    w.Key("kind");
    str(w, kind);
    w.EndObject();
  };
  w.StartObject();
  w.Key("resource");
  str(w, i.resource);
  kindRef(i.group, i.version, i.kind);
  w.Key("scope");
  w.String(i.namespaced ? "Namespaced" : "Cluster");
  w.Key("singularResource");
  str(w, i.singular);
  if (i.builtin != nullptr) {
    strings(w, "verbs", std::vector<std::string>(i.builtin->verbs.begin(), i.builtin->verbs.end()));
  } else {
    strings(w, "verbs", verbsFor(i));
  }
  strings(w, "shortNames", i.shortNames);
  strings(w, "categories", i.categories);
  if (!i.subresources.empty()) {
    w.Key("subresources");
    w.StartArray();
    for (const auto& sub : i.subresources) {
      w.StartObject();
      w.Key("subresource");
      str(w, sub);
      std::vector<std::string> verbs = subresourceVerbs(sub);
      if (const auto* s = i.builtin ? i.builtin->subresource(sub) : nullptr) {
        kindRef(s->group, s->version, s->kind);
        verbs.assign(s->verbs.begin(), s->verbs.end());
      } else {
        kindRef(i.group, i.version, i.kind);
      }
      strings(w, "verbs", verbs);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

// APIGroupDiscoveryList of the core group (/api) or of every named group (/apis), in the
// version the client asked for (v2 or v2beta1, same shape).
std::string aggregatedDiscovery(const Registry& registry, bool core, std::string_view version) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("kind");
  w.String("APIGroupDiscoveryList");
  w.Key("apiVersion");
  str(w, "apidiscovery.k8s.io/" + std::string(version));
  w.Key("metadata");
  w.StartObject();
  w.EndObject();
  w.Key("items");
  w.StartArray();
  for (const auto& group : registry.groups()) {
    if (group.empty() != core) continue;
    w.StartObject();
    w.Key("metadata");
    w.StartObject();
    if (!group.empty()) {
      w.Key("name");
      str(w, group);
    }
    w.Key("creationTimestamp");
    w.Null();
    w.EndObject();
    w.Key("versions");
    w.StartArray();
    for (const auto& v : registry.versionsOf(group)) {
      w.StartObject();
      w.Key("version");
      str(w, v);
      w.Key("resources");
      w.StartArray();
      for (const auto& t : registry.all()) {
        const auto& i = t->info();
        if (i.group == group && i.version == v) discoveredResource(w, i);
      }
      w.EndArray();
      w.Key("freshness");
      w.String("Current");
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

// The aggregated discovery version the Accept header asks for first ("v2", "v2beta1"), or ""
// when it asks for the classic documents. Media ranges are tried in the client's order.
std::string aggregatedVersionWanted(std::string_view accept) {
  std::size_t start = 0;
  while (start <= accept.size()) {
    std::size_t end = accept.find(',', start);
    if (end == std::string_view::npos) end = accept.size();
    const std::string_view range = accept.substr(start, end - start);
    const bool discovery = range.find("g=apidiscovery.k8s.io") != std::string_view::npos &&
                           range.find("as=APIGroupDiscoveryList") != std::string_view::npos;
    if (discovery && range.find("v=v2beta1") != std::string_view::npos) return "v2beta1";
    if (discovery && range.find("v=v2") != std::string_view::npos) return "v2";
    if (!discovery && (range.find("json") != std::string_view::npos ||
                       range.find("*/*") != std::string_view::npos)) {
      return "";
    }
    start = end + 1;
  }
  return "";
}

http::Response aggregatedResponse(const Registry& registry, bool core, const std::string& version) {
  http::Response r = jsonResponse(200, aggregatedDiscovery(registry, core, version));
  for (auto& [name, value] : r.headers) {
    if (name == "content-type") {
      value = "application/json;g=apidiscovery.k8s.io;v=" + version + ";as=APIGroupDiscoveryList";
    }
  }
  r.headers.emplace_back("vary", "Accept");
  return r;
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

http::Response plain(std::string body) {
  http::Response r;
  r.status = 200;
  r.headers.emplace_back("content-type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

std::string openApiV3Index() {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("paths");
  w.StartObject();
  for (const auto& gv : api::openApiV3GroupVersions()) {
    str(w, gv.path);
    w.StartObject();
    w.Key("serverRelativeURL");
    std::string url = "/openapi/v3/";
    url.append(gv.path).append("?hash=").append(gv.hash);
    str(w, url);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace

std::optional<http::Response> serveDiscovery(const Registry& registry, std::string_view path,
                                             std::string_view accept,
                                             const std::string& gitVersion) {
  const auto seg = segments(path);
  if (seg.empty()) {
    return jsonResponse(200,
                        "{\"paths\":[\"/api\",\"/api/v1\",\"/apis\",\"/healthz\",\"/livez\","
                        "\"/openapi/v2\",\"/openapi/v3\",\"/readyz\",\"/version\"]}");
  }
  if (seg.size() == 1 && (seg[0] == "healthz" || seg[0] == "livez" || seg[0] == "readyz")) {
    return plain("ok");
  }
  if (seg.size() == 1 && seg[0] == "version") {
    std::string minor = "32";
    return jsonResponse(200, "{\"major\":\"1\",\"minor\":\"" + minor + "\",\"gitVersion\":\"" +
                                 gitVersion +
                                 "\",\"gitCommit\":\"\",\"gitTreeState\":\"clean\","
                                 "\"buildDate\":\"1970-01-01T00:00:00Z\",\"goVersion\":\"\","
                                 "\"compiler\":\"gcc\",\"platform\":\"linux/amd64\"}");
  }
  if (seg[0] == "openapi") {
    if (seg.size() == 2 && seg[1] == "v2") {
      if (!accept.empty() && accept.find("json") == std::string_view::npos &&
          accept.find("*/*") == std::string_view::npos) {
        return statusResponse(
            ApiError::notAcceptable("only application/json is served for /openapi/v2").status());
      }
      return jsonResponse(200, std::string(api::openApiV2Document()));
    }
    if (seg.size() == 2 && seg[1] == "v3") return jsonResponse(200, openApiV3Index());
    if (seg.size() > 2 && seg[1] == "v3") {
      std::string rest;
      for (std::size_t i = 2; i < seg.size(); ++i) {
        if (!rest.empty()) rest.push_back('/');
        rest.append(seg[i]);
      }
      const auto doc = api::openApiV3Document(rest);
      if (!doc.empty()) return jsonResponse(200, std::string(doc));
    }
    return std::nullopt;
  }
  if ((seg[0] == "api" || seg[0] == "apis") && seg.size() == 1) {
    if (const auto version = aggregatedVersionWanted(accept); !version.empty()) {
      return aggregatedResponse(registry, seg[0] == "api", version);
    }
  }
  if (seg[0] == "api") {
    if (seg.size() == 1) {
      return jsonResponse(200,
                          "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],"
                          "\"serverAddressByClientCIDRs\":[{\"clientCIDR\":\"0.0.0.0/0\","
                          "\"serverAddress\":\"\"}]}");
    }
    if (seg.size() == 2 && seg[1] == "v1")
      return jsonResponse(200, resourceList(registry, "", "v1"));
    return std::nullopt;
  }
  if (seg[0] == "apis") {
    if (seg.size() == 1) {
      std::string body = "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":[";
      bool first = true;
      for (const auto& g : registry.groups()) {
        if (g.empty()) continue;
        if (!first) body.push_back(',');
        first = false;
        body.append(groupDoc(registry, g, false));
      }
      body.append("]}");
      return jsonResponse(200, body);
    }
    const std::string group(seg[1]);
    if (registry.versionsOf(group).empty() || group.empty()) return std::nullopt;
    if (seg.size() == 2) return jsonResponse(200, groupDoc(registry, group, true));
    if (seg.size() == 3) {
      const std::string version(seg[2]);
      const auto versions = registry.versionsOf(group);
      if (std::find(versions.begin(), versions.end(), version) == versions.end())
        return std::nullopt;
      return jsonResponse(200, resourceList(registry, group, version));
    }
  }
  return std::nullopt;
}

}  // namespace kite::controlplane::apiserver
