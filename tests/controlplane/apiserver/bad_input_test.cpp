// Bad requests to ApiServer::handle: each gets the 4xx Status upstream gives (code, reason,
// message), never a 5xx, a crash or a hang.

#include <gtest/gtest.h>

#include <string>

#include "apiserver_test_util.h"

namespace kite::testing {
namespace {

constexpr const char* kCms = "/api/v1/namespaces/default/configmaps";
constexpr const char* kPods = "/api/v1/namespaces/default/pods";

std::string podJson(const std::string& name, const std::string& specExtra = {}) {
  std::string s = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")";
  s.append(name).append(R"("},"spec":{"containers":[{"name":"c","image":"busybox"}])");
  if (!specExtra.empty()) s.append(",").append(specExtra);
  s.append("}}");
  return s;
}

class BadInputTest : public ::testing::Test {
 protected:
  // A failure answer: a v1 Status with this code and reason.
  static void expectStatus(const Reply& r, int code, const std::string& reason) {
    EXPECT_EQ(r.status, code) << r.body;
    const auto d = r.json();
    ASSERT_TRUE(d.IsObject()) << "not JSON: " << r.body;
    EXPECT_STREQ(d["kind"].GetString(), "Status") << r.body;
    EXPECT_STREQ(d["apiVersion"].GetString(), "v1") << r.body;
    EXPECT_STREQ(d["status"].GetString(), "Failure") << r.body;
    EXPECT_EQ(d["code"].GetInt(), code) << r.body;
    EXPECT_EQ(r.reason(), reason) << r.body;
    EXPECT_EQ(r.header("content-type").rfind("application/json", 0), 0U) << r.body;
  }

  ApiHarness api;
};

TEST_F(BadInputTest, MalformedJsonIs400) {
  for (const char* body : {"{", "{\"apiVersion\":", "not json", "[]", "null", "\"str\"", "{}}",
                           "{\"metadata\":[]}", "{\"metadata\":{\"name\":5}}"}) {
    SCOPED_TRACE(body);
    const auto r = api.call("POST", kCms, body);
    EXPECT_GE(r.status, 400) << r.body;
    EXPECT_LT(r.status, 500) << r.body;
    EXPECT_TRUE(r.json().IsObject()) << r.body;
  }
  expectStatus(api.call("POST", kCms, "{"), 400, "BadRequest");
}

TEST_F(BadInputTest, EmptyBodyIs400) {
  expectStatus(api.call("POST", kCms, ""), 400, "BadRequest");
}

TEST_F(BadInputTest, YamlBodyIsAccepted) {
  const auto r = api.call("POST", kCms,
                          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\n"
                          "data:\n  a: b\n",
                          "application/yaml");
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(api.call("GET", std::string(kCms) + "/from-yaml").status, 200);
}

TEST_F(BadInputTest, MalformedYamlIs400) {
  const auto r =
      api.call("POST", kCms, "apiVersion: v1\nkind: [ConfigMap\n  : :\n\t- x", "application/yaml");
  expectStatus(r, 400, "BadRequest");
}

TEST_F(BadInputTest, WrongContentTypeIs415) {
  for (const char* ct : {"text/plain", "application/xml", "application/x-www-form-urlencoded",
                         "application/vnd.kubernetes.protobuf-bogus", "garbage/;;;"}) {
    SCOPED_TRACE(ct);
    expectStatus(api.call("POST", kCms, configMapJson("ct"), ct), 415, "UnsupportedMediaType");
  }
}

TEST_F(BadInputTest, PatchWithUnknownPatchTypeIs415) {
  ASSERT_EQ(api.call("POST", kCms, configMapJson("p")).status, 201);
  expectStatus(
      api.call("PATCH", std::string(kCms) + "/p", R"({"data":{"a":"b"}})", "application/json"), 415,
      "UnsupportedMediaType");
  expectStatus(api.call("PATCH", std::string(kCms) + "/p", R"({"data":{"a":"b"}})", "text/plain"),
               415, "UnsupportedMediaType");
}

TEST_F(BadInputTest, BodyOverTheObjectLimitIsRefused) {
  // Upstream: a ConfigMap's data may hold at most 1 MiB (422 "Too long"); the HTTP layer
  // refuses bodies over 3 MiB (413) before the handler runs.
  std::string big(std::size_t{1} << 21U, 'x');
  const auto r = api.call("POST", kCms,
                          R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},)"
                          R"("data":{"k":")" +
                              big + "\"}}");
  EXPECT_TRUE(r.status == 422 || r.status == 413) << r.status << " " << r.body.substr(0, 300);
  EXPECT_NE(api.call("GET", std::string(kCms) + "/big").status, 200);
  std::string huge(std::size_t{9} << 20U, 'y');
  const auto h = api.call("POST", kCms,
                          R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"huge"},)"
                          R"("data":{"k":")" +
                              huge + "\"}}");
  EXPECT_GE(h.status, 400) << h.body.substr(0, 300);
  EXPECT_LT(h.status, 500) << h.body.substr(0, 300);
}

TEST_F(BadInputTest, DeepNestingIs400NotACrash) {
  for (const std::size_t depth : {std::size_t{1000}, std::size_t{10000}, std::size_t{100000}}) {
    SCOPED_TRACE(depth);
    std::string body = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},)"
                       R"("x":)";
    body.append(depth, '[');
    body.append(depth, ']');
    body.append("}");
    auto r = api.call("POST", kCms, body);
    EXPECT_GE(r.status, 200) << r.body;
    EXPECT_LT(r.status, 500) << r.body;
    std::string objects = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep2",)"
                          R"("annotations":)";
    for (std::size_t i = 0; i < depth; ++i) objects.append(R"({"a":)");
    objects.append("1");
    objects.append(depth, '}');
    objects.append("}}");
    r = api.call("POST", kCms, objects);
    EXPECT_GE(r.status, 400) << r.body;
    EXPECT_LT(r.status, 500) << r.body;
    r = api.call("POST", kCms, std::string(depth, '['), "application/json");
    EXPECT_EQ(r.status, 400) << r.body;
    std::string yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deepy\nx: ";
    yaml.append(depth, '[');
    r = api.call("POST", kCms, yaml, "application/yaml");
    EXPECT_EQ(r.status, 400) << r.body.substr(0, 200);
  }
}

TEST_F(BadInputTest, InvalidUtf8NeverCrashesAndAnswersValidJson) {
  const std::string bad = "\xff\xfe\xc3\x28\xed\xa0\x80";
  auto r = api.call("POST", kCms,
                    R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"u8"},)"
                    R"("data":{"k":")" +
                        bad + "\"}}");
  EXPECT_LT(r.status, 500) << r.body;
  EXPECT_TRUE(r.json().IsObject()) << r.body;
  if (r.status == 201) {
    // Go replaces invalid bytes with U+FFFD: the stored value must read back as valid JSON.
    const auto g = api.call("GET", std::string(kCms) + "/u8");
    EXPECT_EQ(g.status, 200);
    EXPECT_TRUE(g.json().IsObject()) << g.body;
  }
  // Upstream decodes the bad byte as U+FFFD and fails validation (422); refusing the body
  // as undecodable (400) is as good.
  r = api.call("POST", kCms, configMapJson("bad\xffname"));
  EXPECT_TRUE(r.status == 400 || r.status == 422) << r.body;
  EXPECT_NE(api.call("GET", std::string(kCms) + "/bad\xffname").status, 200);
  r = api.call("GET", std::string(kCms) + "/x\xff\xfe");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_TRUE(r.json().IsObject()) << "the 404 echoes the bad name: " << r.body;
}

TEST_F(BadInputTest, StrictFieldValidationRefusesUnknownField) {
  const auto r = api.call("POST", std::string(kPods) + "?fieldValidation=Strict",
                          podJson("strict", R"("foo":1)"));
  expectStatus(r, 400, "BadRequest");
  EXPECT_NE(r.message().find(R"(strict decoding error: unknown field "spec.foo")"),
            std::string::npos)
      << r.message();
  EXPECT_EQ(api.call("GET", std::string(kPods) + "/strict").status, 404);
  // Duplicate fields too.
  const auto d = api.call("POST", std::string(kCms) + "?fieldValidation=Strict",
                          R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup",)"
                          R"("name":"dup"}})");
  expectStatus(d, 400, "BadRequest");
  EXPECT_NE(d.message().find(R"(duplicate field "metadata.name")"), std::string::npos)
      << d.message();
}

TEST_F(BadInputTest, WarnFieldValidationAddsWarningHeader) {
  const auto r =
      api.call("POST", std::string(kPods) + "?fieldValidation=Warn", podJson("warn", R"("foo":1)"));
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("warning"), R"(299 - "unknown field \"spec.foo\"")");
  const auto i = api.call("POST", std::string(kPods) + "?fieldValidation=Ignore",
                          podJson("ignore", R"("foo":1)"));
  EXPECT_EQ(i.status, 201) << i.body;
  EXPECT_EQ(i.header("warning"), "");
}

TEST_F(BadInputTest, UnknownFieldValidationValueIs400) {
  const auto r = api.call("POST", std::string(kPods) + "?fieldValidation=Bogus", podJson("v"));
  expectStatus(r, 400, "BadRequest");
}

TEST_F(BadInputTest, AbsurdListParametersAre400) {
  const std::string base = kCms;
  expectStatus(api.call("GET", base + "?limit=abc"), 400, "BadRequest");
  expectStatus(api.call("GET", base + "?limit=99999999999999999999999"), 400, "BadRequest");
  expectStatus(api.call("GET", base + "?resourceVersion=abc"), 400, "BadRequest");
  expectStatus(api.call("GET", base + "?resourceVersion=-5"), 400, "BadRequest");
  expectStatus(api.call("GET", base + "?continue=garbage"), 400, "BadRequest");
  expectStatus(api.call("GET", base + "?continue=" + std::string(5000, 'A')), 400, "BadRequest");
  expectStatus(api.call("GET", base + "?labelSelector=a%20in%20("), 400, "BadRequest");
  expectStatus(api.call("GET", base + "?labelSelector=%3D%3Dx"), 400, "BadRequest");
  expectStatus(api.call("GET", base + "?labelSelector=a%3D%3D%3Db"), 400, "BadRequest");
  expectStatus(api.call("GET", base + "?labelSelector=" + std::string(300, 'k') + "%3Dv"), 400,
               "BadRequest");
  const auto f = api.call("GET", base + "?fieldSelector=spec.foo%3Dbar");
  expectStatus(f, 400, "BadRequest");
  EXPECT_NE(f.message().find("field label not supported: spec.foo"), std::string::npos)
      << f.message();
  expectStatus(api.call("GET", base + "?fieldSelector=metadata.name"), 400, "BadRequest");
  expectStatus(api.call("GET", base + "?timeoutSeconds=abc&watch=true"), 400, "BadRequest");
  expectStatus(api.call("GET", base + "?resourceVersionMatch=Bogus&resourceVersion=1"), 400,
               "BadRequest");
  // resourceVersionMatch needs a resourceVersion.
  expectStatus(api.call("GET", base + "?resourceVersionMatch=Exact"), 400, "BadRequest");
  // A negative limit is not a page size; upstream treats it as no limit.
  const auto neg = api.call("GET", base + "?limit=-1");
  EXPECT_TRUE(neg.status == 200 || neg.status == 400) << neg.body;
}

TEST_F(BadInputTest, MalformedQueryEncodingNeverCrashes) {
  for (const char* q : {"?%", "?%zz=1", "?limit=%", "?&&&==&", "?labelSelector=%ff%fe",
                        "?fieldSelector=%00", "?watch=%", "?limit=1&limit=2&limit=abc"}) {
    SCOPED_TRACE(q);
    const auto r = api.call("GET", std::string(kCms) + q);
    EXPECT_LT(r.status, 500) << r.body;
    EXPECT_TRUE(r.json().IsObject()) << r.body;
  }
}

TEST_F(BadInputTest, WrongApiVersionOrKindInBodyIs400) {
  auto r = api.call("POST", kCms,
                    R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"wrongkind"}})");
  expectStatus(r, 400, "BadRequest");
  r = api.call("POST", kCms,
               R"({"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"wrongver"}})");
  expectStatus(r, 400, "BadRequest");
  r = api.call("POST", kCms,
               R"({"apiVersion":"v2","kind":"ConfigMap","metadata":{"name":"nover"}})");
  expectStatus(r, 400, "BadRequest");
  // Both missing: the URL decides (as upstream, a body without apiVersion/kind is accepted).
  r = api.call("POST", kCms, R"({"metadata":{"name":"nokind"}})");
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_F(BadInputTest, NamespaceMismatchIs400) {
  const auto r = api.call("POST", kCms, configMapJson("mismatch", "kube-system"));
  expectStatus(r, 400, "BadRequest");
  EXPECT_EQ(r.message(),
            "the namespace of the provided object does not match the namespace sent on the "
            "request");
}

TEST_F(BadInputTest, NameMismatchOnPutIs400) {
  ASSERT_EQ(api.call("POST", kCms, configMapJson("a")).status, 201);
  const auto r = api.call("PUT", std::string(kCms) + "/a", configMapJson("b"));
  expectStatus(r, 400, "BadRequest");
  EXPECT_EQ(r.message(), "the name of the object (b) does not match the name on the URL (a)");
}

TEST_F(BadInputTest, MissingNameIs422Or400) {
  const auto r = api.call("POST", kCms, R"({"apiVersion":"v1","kind":"ConfigMap"})");
  expectStatus(r, 422, "Invalid");
  EXPECT_NE(r.message().find("metadata.name: Required value: name or generateName is required"),
            std::string::npos)
      << r.message();
}

TEST_F(BadInputTest, UnknownPathsAre404) {
  for (const char* p :
       {"/api/v2/pods", "/apis/nope/v1/things", "/api/v1/namespaces/default/nope",
        "/apis/apps/v1/namespaces/default/pods", "/api/v1/namespaces/default/pods/a/b/c/d",
        "/../../etc/passwd", "/api/v1/namespaces//pods"}) {
    SCOPED_TRACE(p);
    const auto r = api.call("GET", p);
    EXPECT_GE(r.status, 400) << r.body;
    EXPECT_LT(r.status, 500) << r.body;
  }
  expectStatus(api.call("GET", "/api/v1/namespaces/default/nope"), 404, "NotFound");
}

TEST_F(BadInputTest, UnsupportedMethodIs405) {
  const auto r = api.call("TRACE", kCms);
  EXPECT_EQ(r.status, 405) << r.body;
  EXPECT_EQ(api.call("POST", std::string(kCms) + "/named", configMapJson("named")).status, 405);
  // Upstream: PUT on a collection is 405 MethodNotAllowed.
  const auto put = api.call("PUT", kCms, configMapJson("x"));
  expectStatus(put, 405, "MethodNotAllowed");
}

TEST_F(BadInputTest, NotAcceptableIs406) {
  ASSERT_EQ(api.call("POST", kCms, configMapJson("acc")).status, 201);
  const auto r = api.call("GET", std::string(kCms) + "/acc", {}, {}, "text/html");
  expectStatus(r, 406, "NotAcceptable");
}

TEST_F(BadInputTest, OpenApiV2ProtobufIsNotAnsweredAsJson) {
  // kubectl asks /openapi/v2 in protobuf when v3 is not enough; an answer that is not
  // protobuf must not come with 200 (kubectl then fails "cannot parse invalid wire-format").
  const auto r = api.call("GET", "/openapi/v2", {}, {},
                          "application/com.github.proto-openapi.spec.v2@v1.0+protobuf");
  if (r.status == 200) {
    EXPECT_EQ(r.header("content-type"),
              "application/com.github.proto-openapi.spec.v2@v1.0+protobuf");
  } else {
    EXPECT_EQ(r.status, 406) << r.body.substr(0, 200);
  }
}

TEST_F(BadInputTest, InvalidObjectsAre422WithCauses) {
  const auto r = api.call(
      "POST", kPods,
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c"}]}})");
  expectStatus(r, 422, "Invalid");
  EXPECT_EQ(r.message(), R"(Pod "p" is invalid: spec.containers[0].image: Required value)");
  const auto d = r.json();
  ASSERT_TRUE(d.HasMember("details"));
  EXPECT_STREQ(d["details"]["name"].GetString(), "p");
  EXPECT_STREQ(d["details"]["kind"].GetString(), "Pod");
  EXPECT_STREQ(d["details"]["causes"][0]["field"].GetString(), "spec.containers[0].image");
  EXPECT_STREQ(d["details"]["causes"][0]["reason"].GetString(), "FieldValueRequired");
  const auto n = api.call("POST", kCms, configMapJson("UPPER_case"));
  expectStatus(n, 422, "Invalid");
  const auto l = api.call("POST", kCms, configMapJson("l", "", R"("labels":{"bad key!":"v"})"));
  expectStatus(l, 422, "Invalid");
}

TEST_F(BadInputTest, DeleteWithBadBodyOrPreconditions) {
  ASSERT_EQ(api.call("POST", kCms, configMapJson("d")).status, 201);
  EXPECT_EQ(api.call("DELETE", std::string(kCms) + "/d", "{").status, 400);
  const auto r =
      api.call("DELETE", std::string(kCms) + "/d",
               R"({"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"nope"}})");
  expectStatus(r, 409, "Conflict");
  EXPECT_EQ(api.call("DELETE", std::string(kCms) + "/d?gracePeriodSeconds=abc").status, 400);
  EXPECT_EQ(api.call("DELETE", std::string(kCms) + "/d?propagationPolicy=Sideways").status, 400);
  EXPECT_EQ(api.call("DELETE", std::string(kCms) + "/d").status, 200);
}

}  // namespace
}  // namespace kite::testing
