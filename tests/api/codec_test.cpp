// The generated JSON codec: round trips, encoding rules, strictness, errors with paths.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/api/field_errors.h"
#include "kite/api/json.h"
#include "kite/api/meta/v1/types.h"
#include "test_util.h"

namespace kite::api {
namespace {

using testing::readTestdata;
using testing::sameJson;

// The messages of the FieldErrors thrown by decoding json as T.
template <class T>
std::vector<std::string> decodeErrors(std::string_view json, bool strict = true) {
  try {
    (void)decodeJson<T>(json, {.strict = strict});
  } catch (const FieldErrors& e) {
    std::vector<std::string> out;
    for (const auto& fe : e.errors()) out.push_back(fe.message());
    return out;
  }
  return {};
}

TEST(Codec, PodFromApiServerRoundTrips) {
  const std::string json = readTestdata("pod.json");
  const auto pod = decodeJson<core::v1::Pod>(json, {.strict = true});
  EXPECT_EQ(pod.metadata.name, "web-frontend-7d9f8b6c5d-x2k4p");
  EXPECT_EQ(pod.metadata.namespace_, "shop");
  EXPECT_EQ(pod.metadata.creationTimestamp.rfc3339(), "2024-05-14T09:12:44Z");
  ASSERT_EQ(pod.metadata.ownerReferences.size(), 1U);
  EXPECT_EQ(pod.metadata.ownerReferences[0].controller, true);
  ASSERT_EQ(pod.metadata.managedFields.size(), 2U);
  EXPECT_EQ(pod.metadata.managedFields[1].subresource, "status");
  EXPECT_EQ(pod.metadata.managedFields[0].fieldsV1.text().substr(0, 14), "{\"f:metadata\":");
  ASSERT_EQ(pod.spec.containers.size(), 2U);
  const auto& web = pod.spec.containers[0];
  EXPECT_EQ(web.resources.requests.at("cpu").milliValue(), 250);
  EXPECT_EQ(web.resources.limits.at("memory").value(), 512 * 1024 * 1024);
  ASSERT_TRUE(web.livenessProbe.has_value());
  ASSERT_TRUE(web.livenessProbe->httpGet.has_value());  // inline ProbeHandler
  EXPECT_EQ(web.livenessProbe->httpGet->port, IntOrString(8080));
  EXPECT_EQ(web.env[1].valueFrom->fieldRef->fieldPath, "metadata.name");
  ASSERT_TRUE(pod.spec.volumes[0].configMap.has_value());                 // inline VolumeSource
  EXPECT_EQ(pod.spec.volumes[0].configMap->name, "web-frontend-config");  // inline base
  EXPECT_EQ(pod.spec.volumes[0].configMap->defaultMode, 420);
  EXPECT_EQ(pod.status.phase, core::v1::PodPhase::Running);
  EXPECT_EQ(pod.status.containerStatuses[0].state.running->startedAt.rfc3339(),
            "2024-05-14T09:12:47Z");

  // Encoding gives back the same JSON value as the API server wrote.
  const std::string out = encodeJson(pod);
  EXPECT_TRUE(sameJson(json, out)) << out;
  EXPECT_EQ(decodeJson<core::v1::Pod>(out), pod);
}

TEST(Codec, EncodesLikeUpstream) {
  // A zero Pod: non-pointer structs and times are always written (metadata.creationTimestamp
  // null, spec, status), required lists as [], top-level apiVersion and kind filled in.
  EXPECT_EQ(encodeJson(core::v1::Pod{}),
            R"({"apiVersion":"v1","kind":"Pod","metadata":{"creationTimestamp":null},)"
            R"("spec":{"containers":[]},"status":{}})");

  core::v1::Container c;
  c.name = "web";
  c.ports.push_back({.containerPort = 80});
  EXPECT_EQ(encodeJson(c), R"({"name":"web","ports":[{"containerPort":80}],"resources":{}})");

  core::v1::ContainerStatus st;
  st.name = "web";
  EXPECT_EQ(encodeJson(st),
            R"({"name":"web","state":{},"lastState":{},"ready":false,"restartCount":0,)"
            R"("image":"","imageID":""})");

  core::v1::PodCondition cond;
  cond.type = "Ready";
  cond.status = "True";
  EXPECT_EQ(encodeJson(cond),
            R"({"type":"Ready","status":"True","lastProbeTime":null,"lastTransitionTime":null})");

  // Go pointers: written when set, even to a zero value; a pointer without omitempty is null.
  core::v1::PodSpec spec;
  spec.terminationGracePeriodSeconds = 0;
  spec.automountServiceAccountToken = false;
  EXPECT_EQ(encodeJson(spec), R"({"containers":[],"terminationGracePeriodSeconds":0,)"
                              R"("automountServiceAccountToken":false})");
  EXPECT_EQ(encodeJson(core::v1::GRPCAction{.port = 9000}), R"({"port":9000,"service":null})");

  // Non-pointer Quantity and IntOrString are always written.
  EXPECT_EQ(encodeJson(core::v1::ResourceFieldSelector{.resource = "limits.cpu"}),
            R"({"resource":"limits.cpu","divisor":"0"})");
  EXPECT_EQ(encodeJson(core::v1::ServicePort{.port = 80}), R"({"port":80,"targetPort":0})");

  // Items of a list carry no apiVersion/kind unless set; the list itself does.
  core::v1::PodList list;
  list.items.emplace_back();
  EXPECT_EQ(encodeJson(list),
            R"({"apiVersion":"v1","kind":"PodList","metadata":{},"items":[{"metadata":)"
            R"({"creationTimestamp":null},"spec":{"containers":[]},"status":{}}]})");
}

TEST(Codec, KeywordMembersKeepJsonNames) {
  meta::v1::ListMeta lm;
  lm.continue_ = "token";
  EXPECT_EQ(encodeJson(lm), R"({"continue":"token"})");
  const auto req = decodeJson<meta::v1::LabelSelectorRequirement>(
      R"({"key":"app","operator":"In","values":["a"]})");
  EXPECT_EQ(req.operator_, "In");
  const auto item = decodeJson<core::v1::LimitRangeItem>(
      R"({"type":"Container","default":{"cpu":"500m"}})", {.strict = true});
  EXPECT_EQ(item.default_.at("cpu").milliValue(), 500);
}

TEST(Codec, StrictRejectsUnknownFieldsWithPath) {
  const std::string json =
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},)"
      R"("spec":{"containers":[{"name":"a","image":"x","imagePolicy":"Always"}],"bogus":1}})";
  EXPECT_EQ(decodeErrors<core::v1::Pod>(json),
            (std::vector<std::string>{R"(unknown field "spec.containers[0].imagePolicy")",
                                      R"(unknown field "spec.bogus")"}));

  // Not strict: the fields are dropped and reported as warnings.
  std::vector<std::string> warnings;
  const auto pod = decodeJson<core::v1::Pod>(json, {.warnings = &warnings});
  EXPECT_EQ(pod.spec.containers[0].image, "x");
  EXPECT_EQ(warnings, (std::vector<std::string>{R"(unknown field "spec.containers[0].imagePolicy")",
                                                R"(unknown field "spec.bogus")"}));
}

TEST(Codec, DuplicateFields) {
  const std::string json = R"({"metadata":{"name":"a","name":"b","labels":{"x":"1","x":"2"}}})";
  EXPECT_EQ(decodeErrors<core::v1::Pod>(json),
            (std::vector<std::string>{R"(duplicate field "metadata.name")",
                                      R"(duplicate field "metadata.labels[x]")"}));
  std::vector<std::string> warnings;
  const auto pod = decodeJson<core::v1::Pod>(json, {.warnings = &warnings});
  EXPECT_EQ(pod.metadata.name, "b");  // the last one wins
  EXPECT_EQ(pod.metadata.labels.at("x"), "2");
  EXPECT_EQ(warnings.size(), 2U);
}

TEST(Codec, TypeErrorsNameThePathAndTheExpectedType) {
  const std::string json =
      R"({"metadata":{"labels":{"app":5}},"spec":{"containers":[{"name":"a",)"
      R"("ports":[{"containerPort":"80"},{"containerPort":70000000000}],"stdin":"yes"}],)"
      R"("volumes":{}}})";
  EXPECT_EQ(
      decodeErrors<core::v1::Pod>(json, false),
      (std::vector<std::string>{
          R"(metadata.labels[app]: Invalid value: "number": expected string)",
          R"(spec.containers[0].ports[0].containerPort: Invalid value: "string": expected int32)",
          R"(spec.containers[0].ports[1].containerPort: Invalid value: 70000000000: expected int32)",
          R"(spec.containers[0].stdin: Invalid value: "string": expected bool)",
          R"(spec.volumes: Invalid value: "object": expected array)"}));
  EXPECT_EQ(decodeErrors<core::v1::Pod>(R"([1,2])"),
            (std::vector<std::string>{R"(Invalid value: "array": expected object)"}));
  EXPECT_EQ(decodeErrors<core::v1::Pod>(R"({"spec":{"activeDeadlineSeconds":1.5}})"),
            (std::vector<std::string>{
                R"(spec.activeDeadlineSeconds: Invalid value: 1.5: expected int64)"}));
}

TEST(Codec, ValueErrors) {
  EXPECT_EQ(
      decodeErrors<core::v1::Pod>(
          R"({"metadata":{"creationTimestamp":"yesterday"},"spec":{"containers":[{"name":"a",)"
          R"("resources":{"limits":{"cpu":"lots"}}}]}})"),
      (std::vector<std::string>{
          R"(metadata.creationTimestamp: Invalid value: "yesterday": parsing time "yesterday" )"
          R"(as RFC 3339: expected YYYY-MM-DDTHH:MM:SS followed by Z or an offset)",
          R"(spec.containers[0].resources.limits[cpu]: Invalid value: "lots": quantities must )"
          R"(match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$')"}));
}

TEST(Codec, NullsLeaveDefaults) {
  const auto pod = decodeJson<core::v1::Pod>(
      R"({"metadata":{"name":null,"labels":null,"deletionTimestamp":null},"spec":null,)"
      R"("status":{"startTime":null,"containerStatuses":null}})",
      {.strict = true});
  EXPECT_EQ(pod, core::v1::Pod{});
}

TEST(Codec, KindMismatch) {
  EXPECT_EQ(decodeErrors<core::v1::Pod>(R"({"apiVersion":"v1","kind":"Service"})"),
            (std::vector<std::string>{R"(kind: Invalid value: "Service": expected "Pod")"}));
  EXPECT_EQ(decodeErrors<core::v1::Pod>(R"({"apiVersion":"apps/v1","kind":"Pod"})"),
            (std::vector<std::string>{R"(apiVersion: Invalid value: "apps/v1": expected "v1")"}));
  // TypeMeta reads any object; Status accepts any apiVersion.
  const auto tm = decodeJson<meta::v1::TypeMeta>(R"({"apiVersion":"apps/v1","kind":"Deployment",
      "spec":{}})");
  EXPECT_EQ(tm.kind, "Deployment");
  EXPECT_NO_THROW(decodeJson<meta::v1::Status>(R"({"apiVersion":"v1","kind":"Status"})"));
}

TEST(Codec, SecretDataIsBase64OnTheWire) {
  const auto secret = decodeJson<core::v1::Secret>(
      R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"type":"Opaque",)"
      R"("data":{"password":"czNjcjN0","bin":"AAH/","empty":""}})",
      {.strict = true});
  EXPECT_EQ(secret.data.at("password"), "s3cr3t");
  EXPECT_EQ(secret.data.at("bin"), std::string("\x00\x01\xff", 3));
  EXPECT_EQ(secret.data.at("empty"), "");
  EXPECT_EQ(secret.type, core::v1::SecretType::Opaque);
  EXPECT_TRUE(sameJson(encodeJson(secret),
                       R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s",)"
                       R"("creationTimestamp":null},"data":{"bin":"AAH/","empty":"",)"
                       R"("password":"czNjcjN0"},"type":"Opaque"})"));
  core::v1::ConfigMap cm;
  cm.binaryData["k"] = "ab";
  EXPECT_NE(encodeJson(cm).find(R"("binaryData":{"k":"YWI="})"), std::string::npos);

  EXPECT_EQ(decodeErrors<core::v1::Secret>(R"({"data":{"k":"not base64!"}})"),
            (std::vector<std::string>{
                "data[k]: Invalid value: <base64 data>: illegal base64 data at input byte 3"}));
  EXPECT_EQ(decodeErrors<core::v1::Secret>(R"({"data":{"k":"YWI"}})").size(), 1U);  // no padding
}

TEST(Codec, TimesOnTheWire) {
  core::v1::Event ev;
  ev.eventTime = Time::parse("2024-05-14T09:12:44.123456789Z");
  ev.firstTimestamp = Time::parse("2024-05-14T09:12:44.9Z");
  const std::string json = encodeJson(ev);
  EXPECT_NE(json.find(R"("eventTime":"2024-05-14T09:12:44.123456Z")"), std::string::npos);
  EXPECT_NE(json.find(R"("firstTimestamp":"2024-05-14T09:12:44Z")"), std::string::npos);
  EXPECT_NE(json.find(R"("lastTimestamp":null)"), std::string::npos);
  EXPECT_NE(json.find(R"("reportingComponent":"")"), std::string::npos);
  const auto back = decodeJson<core::v1::Event>(json, {.strict = true});
  EXPECT_EQ(back.eventTime.rfc3339Micro(), "2024-05-14T09:12:44.123456Z");
}

TEST(Codec, QuantitiesAndIntOrStrings) {
  const auto rr = decodeJson<core::v1::ResourceRequirements>(
      R"({"requests":{"cpu":0.5,"memory":1e9,"pods":110,"storage":" 1Gi "}})", {.strict = true});
  EXPECT_EQ(rr.requests.at("cpu").toString(), "500m");
  EXPECT_EQ(rr.requests.at("memory").toString(), "1G");
  EXPECT_EQ(rr.requests.at("pods").toString(), "110");
  EXPECT_EQ(rr.requests.at("storage").toString(), "1Gi");
  EXPECT_EQ(encodeJson(rr),
            R"({"requests":{"cpu":"500m","memory":"1G","pods":"110","storage":"1Gi"}})");

  const auto port = decodeJson<core::v1::ServicePort>(R"({"port":80,"targetPort":"http"})");
  EXPECT_TRUE(port.targetPort.isString());
  EXPECT_EQ(port.targetPort.strValue(), "http");
  EXPECT_EQ(encodeJson(port), R"({"port":80,"targetPort":"http"})");
  EXPECT_EQ(decodeErrors<core::v1::ServicePort>(R"({"port":80,"targetPort":8.5})"),
            (std::vector<std::string>{"targetPort: Invalid value: 8.5: expected int32 or string"}));
}

TEST(Codec, RawJsonKeepsUninterpretedValues) {
  const std::string json =
      R"({"name":"v","gcePersistentDisk":{"pdName":"disk-1","fsType":"ext4","partition":1}})";
  const auto vol = decodeJson<core::v1::Volume>(json, {.strict = true});
  EXPECT_EQ(vol.gcePersistentDisk.text(), R"({"pdName":"disk-1","fsType":"ext4","partition":1})");
  EXPECT_EQ(encodeJson(vol), json);

  // A watch event; its object is decoded once its kind is known.
  const auto ev = decodeJson<meta::v1::WatchEvent>(
      R"({"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"}}})");
  EXPECT_EQ(ev.type, meta::v1::WatchEventType::ADDED);
  EXPECT_EQ(decodeJson<core::v1::Pod>(ev.object.text()).metadata.name, "p");
  EXPECT_EQ(RawJson::parse(" [1, 2] ").text(), " [1, 2] ");
  EXPECT_THROW(RawJson::parse("{"), ParseError);
}

// As Go's encoding/json writes them, so a RawExtension a Go client sent (kubectl's
// ControllerRevision data) comes back byte for byte.
TEST(Codec, RawJsonStringsKeepGosEscapes) {
  const std::string json =
      R"({"name":"v","gcePersistentDisk":{"cmd":"a \u003c b \u0026\u0026 c \u003e d \u2028"}})";
  const auto vol = decodeJson<core::v1::Volume>(json, {.strict = true});
  EXPECT_EQ(vol.gcePersistentDisk.text(), R"({"cmd":"a \u003c b \u0026\u0026 c \u003e d \u2028"})");
  EXPECT_EQ(encodeJson(vol), json);
  // The same value sent unescaped comes back escaped the same way.
  EXPECT_EQ(decodeJson<core::v1::Volume>(R"({"gcePersistentDisk":{"cmd":"a < b && c > d"}})")
                .gcePersistentDisk.text(),
            R"({"cmd":"a \u003c b \u0026\u0026 c \u003e d"})");
}

TEST(Codec, EphemeralContainerHasContainerFields) {
  const auto ec = decodeJson<core::v1::EphemeralContainer>(
      R"({"name":"debug","image":"busybox","stdin":true,"targetContainerName":"web"})",
      {.strict = true});
  const core::v1::Container& base = ec;
  EXPECT_EQ(base.image, "busybox");
  EXPECT_TRUE(ec.stdin);
  EXPECT_EQ(ec.targetContainerName, "web");
  EXPECT_EQ(encodeJson(ec), R"({"name":"debug","image":"busybox","resources":{},"stdin":true,)"
                            R"("targetContainerName":"web"})");
}

TEST(Codec, MalformedInputIsAParseError) {
  auto parseError = [](std::string_view json) -> std::string {
    try {
      (void)decodeJson<core::v1::Pod>(json);
    } catch (const ParseError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(parseError("{\"metadata\": {\n  \"name\": x}}"),
            "line 2, column 11: invalid JSON: Invalid value.");
  EXPECT_EQ(parseError("{} {}"),
            "line 1, column 4: invalid JSON: The document root must not be followed by other "
            "values.");
  EXPECT_EQ(parseError(""), "line 1, column 1: invalid JSON: The document is empty.");
  // Invalid UTF-8 (a lone continuation byte, an overlong encoding, a bare surrogate).
  EXPECT_NE(parseError("{\"metadata\":{\"name\":\"\x80\"}}").find("Invalid encoding"),
            std::string::npos);
  EXPECT_NE(parseError("{\"metadata\":{\"name\":\"\xC0\xAF\"}}").find("Invalid encoding"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"metadata":{"name":"\ud800"}})").find("surrogate"), std::string::npos);
}

TEST(Codec, DeepNestingIsRejectedWithoutCrashing) {
  // Nesting inside a raw JSON field, the only place a schema allows arbitrary depth.
  std::string deep = R"({"spec":{"volumes":[{"name":"v","gcePersistentDisk":)";
  deep += std::string(200000, '[') + std::string(200000, ']') + "}]}}";
  try {
    (void)decodeJson<core::v1::Pod>(deep);
    FAIL() << "accepted";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.detail(), "JSON nesting exceeds the maximum depth of 100");
    EXPECT_EQ(e.line(), 1U);
    EXPECT_GT(e.column(), 100U);
  }
  std::string ok = R"({"spec":{"volumes":[{"name":"v","gcePersistentDisk":)";
  ok += std::string(90, '[') + std::string(90, ']') + "}]}}";
  EXPECT_NO_THROW(decodeJson<core::v1::Pod>(ok));
  EXPECT_THROW(decodeJson<core::v1::Pod>(ok, {.maxDepth = 50}), ParseError);
}

TEST(Codec, EncoderReplacesInvalidUtf8) {
  core::v1::ConfigMap cm;
  cm.data["k"] =
      "a\xff"
      "b";
  EXPECT_NE(encodeJson(cm).find("\"k\":\"a\xEF\xBF\xBD"
                                "b\""),
            std::string::npos);
}

TEST(Codec, FieldErrorsToStatus) {
  try {
    (void)decodeJson<core::v1::Pod>(R"({"spec":{"containers":[{"name":1}]}})");
    FAIL() << "accepted";
  } catch (const FieldErrors& e) {
    const meta::v1::Status st = e.toStatus("Pod", "web");
    EXPECT_EQ(st.code, 422);
    EXPECT_EQ(st.reason, meta::v1::StatusReason::Invalid);
    EXPECT_EQ(st.message,
              R"(Pod "web" is invalid: spec.containers[0].name: Invalid value: "number": )"
              R"(expected string)");
    ASSERT_TRUE(st.details.has_value());
    ASSERT_EQ(st.details->causes.size(), 1U);
    EXPECT_EQ(st.details->causes[0].reason, "FieldValueTypeInvalid");
    EXPECT_EQ(st.details->causes[0].field, "spec.containers[0].name");
    EXPECT_EQ(st.details->causes[0].message, R"(Invalid value: "number": expected string)");
    EXPECT_EQ(encodeJson(st),
              R"({"apiVersion":"v1","kind":"Status","metadata":{},"status":"Failure",)"
              R"("message":"Pod \"web\" is invalid: spec.containers[0].name: Invalid value: )"
              R"(\"number\": expected string","reason":"Invalid","details":{"name":"web",)"
              R"("kind":"Pod","causes":[{"reason":"FieldValueTypeInvalid","message":"Invalid )"
              R"(value: \"number\": expected string","field":"spec.containers[0].name"}]},)"
              R"("code":422})");
  }
  const FieldErrors two({FieldError::required("spec.containers[0].image"),
                         FieldError::notSupported("spec.restartPolicy", "Sometimes",
                                                  {"Always", "OnFailure", "Never"})});
  EXPECT_STREQ(two.what(),
               R"([spec.containers[0].image: Required value, spec.restartPolicy: Unsupported )"
               R"(value: "Sometimes": supported values: "Always", "OnFailure", "Never"])");
  EXPECT_EQ(two.toStatus("Deployment", "web", "apps").message.substr(0, 35),
            R"(Deployment.apps "web" is invalid: [)");
}

}  // namespace
}  // namespace kite::api
