// REST semantics clients depend on, through ApiServer::handle: generateName, dry run,
// conflicts, patches, selectors, pagination at one revision, watches from a resourceVersion,
// 410 Gone after compaction, and Table output.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "apiserver_test_util.h"

namespace kite::testing {
namespace {

constexpr const char* kCms = "/api/v1/namespaces/default/configmaps";

std::string str(const rapidjson::Value& v, const char* member) {
  if (!v.IsObject() || !v.HasMember(member) || !v[member].IsString()) return {};
  return v[member].GetString();
}

std::vector<std::string> itemNames(const Reply& r) {
  std::vector<std::string> out;
  const auto d = r.json();
  if (!d.IsObject() || !d.HasMember("items")) return out;
  for (const auto& item : d["items"].GetArray()) out.push_back(str(item["metadata"], "name"));
  return out;
}

std::string resourceVersionOf(const Reply& r) {
  return str(r.json()["metadata"], "resourceVersion");
}

// The watch events (type, name) in a stream's pieces; a piece may carry several lines.
std::vector<std::pair<std::string, std::string>> events(const FakeStream& s) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& piece : s.pieces()) {
    std::size_t start = 0;
    while (start < piece.size()) {
      auto end = piece.find('\n', start);
      if (end == std::string::npos) end = piece.size();
      const std::string line = piece.substr(start, end - start);
      start = end + 1;
      if (line.empty()) continue;
      rapidjson::Document d;
      d.Parse(line.data(), line.size());
      if (d.HasParseError() || !d.IsObject()) {
        out.emplace_back("UNPARSABLE", line);
        continue;
      }
      out.emplace_back(str(d, "type"), str(d["object"]["metadata"], "name"));
    }
  }
  return out;
}

class RestTest : public ::testing::Test {
 protected:
  Reply create(const std::string& name, const std::string& extraMetadata = {}) {
    auto r = api.call("POST", kCms, configMapJson(name, {}, extraMetadata));
    EXPECT_EQ(r.status, 201) << r.body;
    return r;
  }
  ApiHarness api;
};

TEST_F(RestTest, CreateSetsServerFields) {
  const auto r = create("a");
  const auto d = r.json();
  EXPECT_FALSE(str(d["metadata"], "uid").empty());
  EXPECT_FALSE(str(d["metadata"], "resourceVersion").empty());
  EXPECT_FALSE(str(d["metadata"], "creationTimestamp").empty());
  EXPECT_EQ(str(d["metadata"], "namespace"), "default");
  EXPECT_EQ(str(d, "kind"), "ConfigMap");
  EXPECT_EQ(str(d, "apiVersion"), "v1");
}

TEST_F(RestTest, GenerateName) {
  auto r = api.call("POST", kCms,
                    R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"gen-"}})");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string name = str(r.json()["metadata"], "name");
  EXPECT_EQ(name.rfind("gen-", 0), 0U) << name;
  EXPECT_EQ(name.size(), 9U) << name;
  EXPECT_EQ(api.call("GET", std::string(kCms) + "/" + name).status, 200);
  r = api.call("POST", kCms,
               R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"gen-"}})");
  EXPECT_NE(str(r.json()["metadata"], "name"), name);
}

TEST_F(RestTest, DryRunAllDoesNotPersist) {
  auto r = api.call("POST", std::string(kCms) + "?dryRun=All", configMapJson("dry"));
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(api.call("GET", std::string(kCms) + "/dry").status, 404);
  create("wet");
  r = api.call("PATCH", std::string(kCms) + "/wet?dryRun=All", R"({"data":{"k":"dry"}})",
               "application/merge-patch+json");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(str(r.json()["data"], "k"), "dry");
  EXPECT_EQ(str(api.call("GET", std::string(kCms) + "/wet").json()["data"], "k"), "v");
  r = api.call("DELETE", std::string(kCms) + "/wet?dryRun=All");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(api.call("GET", std::string(kCms) + "/wet").status, 200);
  r = api.call("POST", std::string(kCms) + "?dryRun=Bogus", configMapJson("dry2"));
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(RestTest, ConflictOnCreateTwiceAndStaleUpdate) {
  create("c");
  auto r = api.call("POST", kCms, configMapJson("c"));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.reason(), "AlreadyExists");
  EXPECT_EQ(r.message(), R"(configmaps "c" already exists)");
  const std::string rv = resourceVersionOf(api.call("GET", std::string(kCms) + "/c"));
  const std::string withRv = R"("resourceVersion":")" + rv + "\"";
  const std::string changed = withRv + R"(,"labels":{"changed":"yes"})";
  r = api.call("PUT", std::string(kCms) + "/c", configMapJson("c", {}, changed));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(resourceVersionOf(r), rv);
  r = api.call("PUT", std::string(kCms) + "/c", configMapJson("c", {}, changed));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.reason(), "Conflict");
  EXPECT_EQ(r.message(),
            R"(Operation cannot be fulfilled on configmaps "c": the object has been modified; )"
            "please apply your changes to the latest version and try again");
  // A merge patch carrying a stale resourceVersion conflicts too.
  r = api.call("PATCH", std::string(kCms) + "/c",
               R"({"metadata":{"resourceVersion":")" + rv + R"("},"data":{"k":"x"}})",
               "application/merge-patch+json");
  EXPECT_EQ(r.status, 409) << r.body;
  // PUT of a missing object: ConfigMaps do not allow create on update upstream (404).
  r = api.call("PUT", std::string(kCms) + "/fresh", configMapJson("fresh"));
  EXPECT_EQ(r.status, 404) << r.body;
}

TEST_F(RestTest, PatchTypes) {
  create("p", R"("labels":{"a":"1","b":"2"})");
  const std::string path = std::string(kCms) + "/p";
  auto r = api.call("PATCH", path, R"({"metadata":{"labels":{"a":null,"c":"3"}}})",
                    "application/merge-patch+json");
  ASSERT_EQ(r.status, 200) << r.body;
  auto d = r.json();
  EXPECT_FALSE(d["metadata"]["labels"].HasMember("a"));
  EXPECT_EQ(str(d["metadata"]["labels"], "c"), "3");
  r = api.call("PATCH", path,
               R"([{"op":"add","path":"/data/n","value":"x"},)"
               R"({"op":"remove","path":"/metadata/labels/b"}])",
               "application/json-patch+json");
  ASSERT_EQ(r.status, 200) << r.body;
  d = r.json();
  EXPECT_EQ(str(d["data"], "n"), "x");
  EXPECT_FALSE(d["metadata"]["labels"].HasMember("b"));
  r = api.call("PATCH", path, R"([{"op":"remove","path":"/data/missing"}])",
               "application/json-patch+json");
  EXPECT_EQ(r.status, 422) << r.body;
  r = api.call("PATCH", path, R"([{"op":"jump","path":"/data"}])", "application/json-patch+json");
  EXPECT_GE(r.status, 400) << r.body;
  EXPECT_LT(r.status, 500) << r.body;
  r = api.call("PATCH", path, R"({"op":"add"})", "application/json-patch+json");
  EXPECT_EQ(r.status, 400) << r.body;
  r = api.call("PATCH", path, R"({"data":{"s":"y"}})", "application/strategic-merge-patch+json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(str(r.json()["data"], "s"), "y");
  r = api.call("PATCH", path, R"({"metadata":{"name":"other"}})", "application/merge-patch+json");
  EXPECT_EQ(r.status, 400) << r.body;
  r = api.call("PATCH", std::string(kCms) + "/missing", R"({"data":{}})",
               "application/merge-patch+json");
  EXPECT_EQ(r.status, 404) << r.body;
  // Strategic merge of a pod's containers by name.
  ASSERT_EQ(api.call("POST", "/api/v1/namespaces/default/pods",
                     R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"sp"},)"
                     R"("spec":{"containers":[{"name":"a","image":"x"}]}})")
                .status,
            201);
  r = api.call("PATCH", "/api/v1/namespaces/default/pods/sp",
               R"({"metadata":{"labels":{"l":"1"}},"spec":{"activeDeadlineSeconds":5}})",
               "application/strategic-merge-patch+json");
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(RestTest, LabelAndFieldSelectors) {
  create("s1", R"("labels":{"env":"prod","tier":"web"})");
  create("s2", R"("labels":{"env":"dev","tier":"web"})");
  create("s3", R"("labels":{"env":"prod"})");
  auto names = [&](const std::string& q) {
    return itemNames(api.call("GET", std::string(kCms) + "?" + q));
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names("labelSelector=env%3Dprod"), (V{"s1", "s3"}));
  EXPECT_EQ(names("labelSelector=env%3D%3Dprod%2Ctier%3Dweb"), (V{"s1"}));
  EXPECT_EQ(names("labelSelector=env!%3Dprod"), (V{"s2"}));
  EXPECT_EQ(names("labelSelector=tier"), (V{"s1", "s2"}));
  EXPECT_EQ(names("labelSelector=!tier"), (V{"s3"}));
  EXPECT_EQ(names("labelSelector=env%20in%20(dev%2Cqa)"), (V{"s2"}));
  EXPECT_EQ(names("labelSelector=env%20notin%20(dev)"), (V{"s1", "s3"}));
  EXPECT_EQ(names("fieldSelector=metadata.name%3Ds2"), (V{"s2"}));
  EXPECT_EQ(names("fieldSelector=metadata.name!%3Ds2"), (V{"s1", "s3"}));
  EXPECT_EQ(names("fieldSelector=metadata.namespace%3Ddefault&labelSelector=tier%3Dweb"),
            (V{"s1", "s2"}));
  EXPECT_EQ(names("fieldSelector=metadata.namespace%3Dother"), V{});
  // Pods: spec.nodeName and status.phase.
  ASSERT_EQ(api.call("POST", "/api/v1/namespaces/default/pods",
                     R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"onnode"},)"
                     R"("spec":{"nodeName":"n1","containers":[{"name":"a","image":"x"}]}})")
                .status,
            201);
  const auto pods = [&](const std::string& q) {
    return itemNames(api.call("GET", "/api/v1/pods?" + q));
  };
  EXPECT_EQ(pods("fieldSelector=spec.nodeName%3Dn1"), (V{"onnode"}));
  EXPECT_EQ(pods("fieldSelector=spec.nodeName%3Dn2"), V{});
  EXPECT_EQ(pods("fieldSelector=status.phase%3DPending"), (V{"onnode"}));
}

TEST_F(RestTest, PaginationAtOneRevision) {
  for (int i = 0; i < 7; ++i) create("page-" + std::to_string(i));
  auto first = api.call("GET", std::string(kCms) + "?limit=3");
  ASSERT_EQ(first.status, 200) << first.body;
  auto d = first.json();
  const std::string listRv = str(d["metadata"], "resourceVersion");
  std::string token = str(d["metadata"], "continue");
  ASSERT_FALSE(token.empty());
  EXPECT_TRUE(d["metadata"].HasMember("remainingItemCount"));
  if (d["metadata"].HasMember("remainingItemCount")) {
    EXPECT_EQ(d["metadata"]["remainingItemCount"].GetInt(), 4);
  }
  std::vector<std::string> seen = itemNames(first);
  // Changes after the first page are not seen by the following pages.
  create("page-late");
  ASSERT_EQ(api.call("DELETE", std::string(kCms) + "/page-6").status, 200);
  while (!token.empty()) {
    const auto page = api.call("GET", std::string(kCms) + "?limit=3&continue=" + token);
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(str(page.json()["metadata"], "resourceVersion"), listRv);
    for (auto& n : itemNames(page)) seen.push_back(n);
    token = str(page.json()["metadata"], "continue");
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"page-0", "page-1", "page-2", "page-3", "page-4",
                                            "page-5", "page-6"}));
  // A continue token of another resource's list is refused.
  const auto pods = api.call("GET", "/api/v1/namespaces/default/pods?limit=1&continue=" +
                                        str(first.json()["metadata"], "continue"));
  EXPECT_EQ(pods.status, 400) << pods.body;
}

TEST_F(RestTest, WatchFromResourceVersionSendsOnlyLaterEvents) {
  create("before");
  const std::string rv = resourceVersionOf(api.call("GET", kCms));
  create("after1");
  ASSERT_EQ(api.call("DELETE", std::string(kCms) + "/before").status, 200);
  const auto w = api.call("GET", std::string(kCms) + "?watch=true&resourceVersion=" + rv);
  ASSERT_EQ(w.status, 200) << w.body;
  ASSERT_TRUE(w.stream);
  create("after2");
  ASSERT_TRUE(w.stream->waitForPieces(3, std::chrono::seconds(20)) || events(*w.stream).size() >= 3)
      << "events: " << events(*w.stream).size();
  const auto got = events(*w.stream);
  ASSERT_GE(got.size(), 3U);
  EXPECT_EQ(got[0], (std::pair<std::string, std::string>{"ADDED", "after1"}));
  EXPECT_EQ(got[1], (std::pair<std::string, std::string>{"DELETED", "before"}));
  EXPECT_EQ(got[2], (std::pair<std::string, std::string>{"ADDED", "after2"}));
  w.stream->disconnect();
}

TEST_F(RestTest, WatchWithoutResourceVersionStartsWithCurrentState) {
  create("existing");
  const auto w = api.call("GET", std::string(kCms) + "?watch=1");
  ASSERT_TRUE(w.stream) << w.status << " " << w.body;
  ASSERT_TRUE(w.stream->waitForPieces(1, std::chrono::seconds(20)));
  EXPECT_EQ(events(*w.stream).at(0), (std::pair<std::string, std::string>{"ADDED", "existing"}));
  w.stream->disconnect();
}

TEST_F(RestTest, WatchParameterIsABooleanAsInGo) {
  // python3-kubernetes sends watch=True; Go's strconv.ParseBool accepts 1, t, T, TRUE, true,
  // True.
  for (const char* v : {"True", "TRUE", "t", "T"}) {
    SCOPED_TRACE(v);
    const auto w = api.call("GET", std::string(kCms) + "?watch=" + v + "&resourceVersion=1");
    EXPECT_TRUE(w.stream) << "answered as a list: " << w.body.substr(0, 200);
    if (w.stream) w.stream->disconnect();
  }
}

TEST_F(RestTest, WatchFromCompactedRevisionIsGone) {
  create("g1");
  const std::string rv = resourceVersionOf(api.call("GET", kCms));
  for (int i = 0; i < 5; ++i) create("g-more-" + std::to_string(i));
  api.store().compact(api.store().currentRevision());
  const auto w = api.call("GET", std::string(kCms) + "?watch=true&resourceVersion=" + rv);
  if (w.stream) {
    // Upstream answers 200 and sends one ERROR event with a 410 Status.
    ASSERT_TRUE(w.stream->waitForPieces(1, std::chrono::seconds(20)));
    const std::string line = w.stream->pieces().at(0);
    EXPECT_NE(line.find(R"("type":"ERROR")"), std::string::npos) << line;
    EXPECT_NE(line.find(R"("code":410)"), std::string::npos) << line;
    EXPECT_NE(line.find(R"("reason":"Expired")"), std::string::npos) << line;
    w.stream->disconnect();
  } else {
    EXPECT_EQ(w.status, 410) << w.body;
    EXPECT_TRUE(w.reason() == "Expired" || w.reason() == "Gone") << w.body;
  }
  // A list at an exact compacted revision is 410 Gone.
  const auto l =
      api.call("GET", std::string(kCms) + "?resourceVersionMatch=Exact&resourceVersion=" + rv);
  EXPECT_EQ(l.status, 410) << l.body;
  // A continue token from before compaction too.
  // (upstream: 410 with "The provided continue parameter is too old ...")
}

TEST_F(RestTest, ContinueTokenOlderThanCompactionIsGone) {
  for (int i = 0; i < 4; ++i) create("cc-" + std::to_string(i));
  const auto first = api.call("GET", std::string(kCms) + "?limit=2");
  const std::string token = str(first.json()["metadata"], "continue");
  ASSERT_FALSE(token.empty());
  for (int i = 0; i < 3; ++i) create("cc-more-" + std::to_string(i));
  api.store().compact(api.store().currentRevision());
  const auto r = api.call("GET", std::string(kCms) + "?limit=2&continue=" + token);
  EXPECT_EQ(r.status, 410) << r.body;
  EXPECT_EQ(r.reason(), "Expired") << r.body;
}

TEST_F(RestTest, TableOutput) {
  create("t1");
  const std::string accept = "application/json;as=Table;v=v1;g=meta.k8s.io";
  const auto r = api.call("GET", kCms, {}, {}, accept + ", application/json");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto d = r.json();
  EXPECT_EQ(str(d, "kind"), "Table");
  EXPECT_EQ(str(d, "apiVersion"), "meta.k8s.io/v1");
  std::vector<std::string> columns;
  for (const auto& c : d["columnDefinitions"].GetArray()) columns.push_back(str(c, "name"));
  EXPECT_EQ(columns, (std::vector<std::string>{"Name", "Data", "Age"}));
  ASSERT_EQ(d["rows"].Size(), 1U);
  EXPECT_STREQ(d["rows"][0]["cells"][0].GetString(), "t1");
  EXPECT_EQ(d["rows"][0]["cells"][1].GetInt(), 1);
  // includeObject=Metadata (kubectl's default) embeds PartialObjectMetadata.
  const auto m = api.call("GET", std::string(kCms) + "/t1?includeObject=Metadata", {}, {}, accept);
  ASSERT_EQ(m.status, 200) << m.body;
  const auto md = m.json();
  EXPECT_EQ(str(md["rows"][0]["object"], "kind"), "PartialObjectMetadata");
  // A Table of pods has upstream's columns.
  const auto p = api.call("GET", "/api/v1/namespaces/default/pods", {}, {}, accept);
  std::vector<std::string> podColumns;
  const auto pj = p.json();  // kept alive: the loop walks into it
  for (const auto& c : pj["columnDefinitions"].GetArray()) podColumns.push_back(str(c, "name"));
  EXPECT_EQ(podColumns,
            (std::vector<std::string>{"Name", "Ready", "Status", "Restarts", "Age", "IP", "Node",
                                      "Nominated Node", "Readiness Gates"}));
}

TEST_F(RestTest, DiscoveryAndVersion) {
  auto r = api.call("GET", "/version");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(str(r.json(), "major"), "1");
  r = api.call("GET", "/api/v1");
  EXPECT_EQ(str(r.json(), "kind"), "APIResourceList");
  r = api.call("GET", "/apis");
  EXPECT_EQ(str(r.json(), "kind"), "APIGroupList");
  r = api.call("GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");
}

TEST_F(RestTest, NamespacedResourceInMissingNamespace) {
  const auto r = api.call("POST", "/api/v1/namespaces/nope/configmaps", configMapJson("x"));
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.message(), R"(namespaces "nope" not found)");
}

// Job defaults as upstream's: parallelism alone leaves completions unset (a work queue); a
// per-index back-off limit lifts the Job-wide default; Indexed needs completions.
TEST_F(RestTest, JobDefaultsFollowUpstream) {
  const std::string jobs = "/apis/batch/v1/namespaces/default/jobs";
  auto job = [](const std::string& name, const std::string& spec) {
    return R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":")" + name +
           R"("},"spec":{)" + spec +
           R"("template":{"spec":{"containers":[{"name":"c","image":"busybox:1.35"}]}}}})";
  };
  auto queue = api.call("POST", jobs, job("queue", R"("parallelism":3,)"));
  ASSERT_EQ(queue.status, 201) << queue.body;
  auto d = queue.json();
  EXPECT_FALSE(d["spec"].HasMember("completions"));
  EXPECT_EQ(d["spec"]["parallelism"].GetInt(), 3);
  EXPECT_EQ(d["spec"]["backoffLimit"].GetInt(), 6);

  auto plain = api.call("POST", jobs, job("plain", ""));
  ASSERT_EQ(plain.status, 201) << plain.body;
  d = plain.json();
  EXPECT_EQ(d["spec"]["completions"].GetInt(), 1);
  EXPECT_EQ(d["spec"]["parallelism"].GetInt(), 1);

  auto perIndex = api.call(
      "POST", jobs,
      job("per-index", R"("completions":2,"completionMode":"Indexed","backoffLimitPerIndex":1,)"));
  ASSERT_EQ(perIndex.status, 201) << perIndex.body;
  EXPECT_EQ(perIndex.json()["spec"]["backoffLimit"].GetInt(), 2147483647);

  auto indexed =
      api.call("POST", jobs, job("indexed", R"("parallelism":2,"completionMode":"Indexed",)"));
  EXPECT_EQ(indexed.status, 422) << indexed.body;
  EXPECT_NE(indexed.body.find("spec.completions"), std::string::npos) << indexed.body;
}

}  // namespace
}  // namespace kite::testing
