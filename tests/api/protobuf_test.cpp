// protobufToJson: Kubernetes protobuf bodies, as kubectl's typed clients send them, become
// JSON that decodes to the expected objects. The bodies are built here by a small encoder
// that follows the protobuf wire rules on its own, with upstream's field numbers written out
// (k8s.io/api/<group>/<version>/generated.proto), independent of api/schema.

#include "kite/api/protobuf.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "kite/api/apps/v1/types.h"
#include "kite/api/authentication/v1/types.h"
#include "kite/api/authorization/v1/types.h"
#include "kite/api/batch/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/json.h"
#include "kite/api/meta/v1/types.h"
#include "kite/api/policy/v1/types.h"
#include "kite/api/scheduling/v1/types.h"

namespace kite::api {
namespace {

// A protobuf message under construction.
class Msg {
 public:
  Msg& varint(uint32_t field, uint64_t v) {
    key(field, 0);
    putVarint(v);
    return *this;
  }
  Msg& str(uint32_t field, std::string_view s) {
    key(field, 2);
    putVarint(s.size());
    data_.append(s);
    return *this;
  }
  Msg& msg(uint32_t field, const Msg& m) { return str(field, m.data_); }
  Msg& fixed32(uint32_t field, uint32_t v) {
    key(field, 5);
    for (int i = 0; i < 4; ++i) data_.push_back(static_cast<char>((v >> (8 * i)) & 0xFFU));
    return *this;
  }
  Msg& fixed64(uint32_t field, uint64_t v) {
    key(field, 1);
    for (int i = 0; i < 8; ++i) data_.push_back(static_cast<char>((v >> (8 * i)) & 0xFFU));
    return *this;
  }
  // A map<string, string> / map<string, bytes> entry.
  Msg& entry(uint32_t field, std::string_view k, std::string_view v) {
    return msg(field, Msg().str(1, k).str(2, v));
  }
  Msg& entry(uint32_t field, std::string_view k, const Msg& v) {
    return msg(field, Msg().str(1, k).msg(2, v));
  }
  // Appends bytes as they are (to build malformed input).
  Msg& raw(std::string_view bytes) {
    data_.append(bytes);
    return *this;
  }
  const std::string& bytes() const { return data_; }

 private:
  void key(uint32_t field, uint32_t wire) { putVarint((uint64_t{field} << 3U) | wire); }
  void putVarint(uint64_t v) {
    while (v >= 0x80) {
      data_.push_back(static_cast<char>((v & 0x7FU) | 0x80U));
      v >>= 7U;
    }
    data_.push_back(static_cast<char>(v));
  }
  std::string data_;
};

// "k8s\0" + runtime.Unknown{typeMeta{apiVersion = 1, kind = 2} = 1, raw = 2,
// contentEncoding = 3, contentType = 4}, as the Go serializer writes it (empty strings too).
std::string body(std::string_view apiVersion, std::string_view kind, const Msg& object) {
  Msg unknown;
  unknown.msg(1, Msg().str(1, apiVersion).str(2, kind))
      .str(2, object.bytes())
      .str(3, "")
      .str(4, "");
  return std::string("k8s\0", 4) + unknown.bytes();
}

Msg quantity(std::string_view s) { return Msg().str(1, s); }
Msg intOrString(int32_t v) {
  return Msg().varint(1, 0).varint(2, static_cast<uint32_t>(v)).str(3, "");
}
Msg intOrString(std::string_view s) { return Msg().varint(1, 1).varint(2, 0).str(3, s); }
// A metav1.Time as Go writes it: an empty message for the zero time.
Msg zeroTime() { return {}; }

template <class T>
T decode(const std::string& pb) {
  const std::string json = protobufToJson(pb);
  SCOPED_TRACE(json);
  return decodeJson<T>(json, {.strict = true});
}

std::string errorOf(const std::string& pb) {
  try {
    (void)protobufToJson(pb);
  } catch (const ParseError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ProtobufTest, Namespace) {
  // kubectl create namespace demo
  Msg meta;
  meta.str(1, "demo").entry(11, "team", "a").entry(11, "env", "dev").msg(8, zeroTime());
  const auto ns = decode<core::v1::Namespace>(
      body("v1", "Namespace", Msg().msg(1, meta).msg(2, Msg().str(1, "kubernetes")).msg(3, Msg())));
  EXPECT_EQ(ns.apiVersion, "v1");
  EXPECT_EQ(ns.kind, "Namespace");
  EXPECT_EQ(ns.metadata.name, "demo");
  EXPECT_TRUE(ns.metadata.creationTimestamp.isZero());
  EXPECT_EQ(ns.metadata.labels,
            (std::map<std::string, std::string>{{"env", "dev"}, {"team", "a"}}));
  EXPECT_EQ(ns.spec.finalizers, std::vector<std::string>{"kubernetes"});
}

TEST(ProtobufTest, ConfigMapDataAndBinaryData) {
  Msg cm;
  cm.msg(1, Msg().str(1, "settings").str(3, "default"))
      .entry(2, "a.conf", "x=1\n")
      .entry(2, "b", "two")
      .entry(3, "blob", std::string_view("\x00\xff\x10", 3))
      .varint(4, 1);
  const auto out = decode<core::v1::ConfigMap>(body("v1", "ConfigMap", cm));
  EXPECT_EQ(out.metadata.name, "settings");
  EXPECT_EQ(out.metadata.namespace_, "default");
  EXPECT_EQ(out.data.at("a.conf"), "x=1\n");
  EXPECT_EQ(out.data.at("b"), "two");
  EXPECT_EQ(out.binaryData.at("blob"), std::string("\x00\xff\x10", 3));
  ASSERT_TRUE(out.immutable.has_value());
  EXPECT_TRUE(*out.immutable);
}

TEST(ProtobufTest, SecretBytes) {
  // kubectl create secret generic s --from-literal=password=... (data is map<string, bytes>)
  const std::string binary("p\x00ss\xc3\x28", 6);
  Msg s;
  s.msg(1, Msg().str(1, "s")).entry(2, "password", binary).str(3, "Opaque");
  const auto out = decode<core::v1::Secret>(body("v1", "Secret", s));
  EXPECT_EQ(out.data.at("password"), binary);
  EXPECT_EQ(out.type, "Opaque");
  EXPECT_FALSE(out.immutable.has_value());
}

TEST(ProtobufTest, DeploymentWithTemplateIntOrStringAndQuantities) {
  Msg container;
  container.str(1, "web")
      .str(2, "nginx:1.27")
      .msg(6, Msg().str(1, "http").varint(3, 80).str(4, "TCP"))
      .msg(8, Msg()
                  .entry(1, "cpu", quantity("500m"))
                  .entry(1, "memory", quantity("128Mi"))
                  .entry(2, "cpu", quantity("250m")))
      .str(13, "/dev/termination-log")
      .str(14, "IfNotPresent");
  Msg podSpec;
  podSpec.msg(2, container).str(3, "Always").varint(4, 30).str(6, "ClusterFirst");
  Msg tmpl;
  tmpl.msg(1, Msg().entry(11, "app", "web").msg(8, zeroTime())).msg(2, podSpec);
  Msg spec;
  spec.varint(1, 3)
      .msg(2, Msg().entry(1, "app", "web"))
      .msg(3, tmpl)
      .msg(4, Msg()
                  .str(1, "RollingUpdate")
                  .msg(2, Msg().msg(1, intOrString("25%")).msg(2, intOrString(1))))
      .varint(6, 10)
      .varint(9, 600);
  Msg d;
  d.msg(1, Msg().str(1, "web").str(3, "default").entry(11, "app", "web"))
      .msg(2, spec)
      .msg(3, Msg());
  const auto out = decode<apps::v1::Deployment>(body("apps/v1", "Deployment", d));
  EXPECT_EQ(out.metadata.name, "web");
  ASSERT_TRUE(out.spec.replicas.has_value());
  EXPECT_EQ(*out.spec.replicas, 3);
  ASSERT_TRUE(out.spec.selector.has_value());
  EXPECT_EQ(out.spec.selector->matchLabels.at("app"), "web");
  EXPECT_EQ(out.spec.template_.metadata.labels.at("app"), "web");
  ASSERT_EQ(out.spec.template_.spec.containers.size(), 1U);
  const auto& c = out.spec.template_.spec.containers[0];
  EXPECT_EQ(c.name, "web");
  EXPECT_EQ(c.image, "nginx:1.27");
  ASSERT_EQ(c.ports.size(), 1U);
  EXPECT_EQ(c.ports[0].containerPort, 80);
  EXPECT_EQ(c.ports[0].name, "http");
  EXPECT_EQ(c.resources.limits.at("cpu"), Quantity::parse("500m"));
  EXPECT_EQ(c.resources.limits.at("memory"), Quantity::parse("128Mi"));
  EXPECT_EQ(c.resources.requests.at("cpu"), Quantity::parse("250m"));
  EXPECT_EQ(c.imagePullPolicy, "IfNotPresent");
  EXPECT_EQ(out.spec.template_.spec.restartPolicy, "Always");
  ASSERT_TRUE(out.spec.template_.spec.terminationGracePeriodSeconds.has_value());
  EXPECT_EQ(*out.spec.template_.spec.terminationGracePeriodSeconds, 30);
  EXPECT_EQ(out.spec.strategy.type, "RollingUpdate");
  ASSERT_TRUE(out.spec.strategy.rollingUpdate.has_value());
  EXPECT_EQ(out.spec.strategy.rollingUpdate->maxUnavailable, IntOrString("25%"));
  EXPECT_EQ(out.spec.strategy.rollingUpdate->maxSurge, IntOrString(1));
  EXPECT_EQ(out.spec.revisionHistoryLimit, 10);
  EXPECT_EQ(out.spec.progressDeadlineSeconds, 600);
}

TEST(ProtobufTest, Service) {
  Msg spec;
  spec.msg(1, Msg().str(1, "http").str(2, "TCP").varint(3, 80).msg(4, intOrString(8080)))
      .msg(1, Msg().str(1, "metrics").str(2, "TCP").varint(3, 9090).msg(4, intOrString("metrics")))
      .entry(2, "app", "web")
      .str(4, "ClusterIP")
      .str(7, "None");
  const auto out = decode<core::v1::Service>(
      body("v1", "Service", Msg().msg(1, Msg().str(1, "web")).msg(2, spec).msg(3, Msg())));
  ASSERT_EQ(out.spec.ports.size(), 2U);
  EXPECT_EQ(out.spec.ports[0].port, 80);
  EXPECT_EQ(out.spec.ports[0].targetPort, IntOrString(8080));
  EXPECT_EQ(out.spec.ports[1].targetPort, IntOrString("metrics"));
  EXPECT_EQ(out.spec.selector.at("app"), "web");
  EXPECT_EQ(out.spec.type, "ClusterIP");
  EXPECT_EQ(out.spec.sessionAffinity, "None");
}

TEST(ProtobufTest, SelfSubjectAccessReview) {
  // kubectl auth can-i list pods -n team
  Msg attrs;
  attrs.str(1, "team").str(2, "list").str(3, "").str(4, "").str(5, "pods").str(6, "").str(7, "");
  const auto out = decode<authorization::v1::SelfSubjectAccessReview>(
      body("authorization.k8s.io/v1", "SelfSubjectAccessReview",
           Msg().msg(1, Msg()).msg(2, Msg().msg(1, attrs)).msg(3, Msg().varint(1, 0))));
  ASSERT_TRUE(out.spec.resourceAttributes.has_value());
  EXPECT_EQ(out.spec.resourceAttributes->namespace_, "team");
  EXPECT_EQ(out.spec.resourceAttributes->verb, "list");
  EXPECT_EQ(out.spec.resourceAttributes->resource, "pods");
  EXPECT_FALSE(out.spec.nonResourceAttributes.has_value());
}

TEST(ProtobufTest, EvictionWithDeleteOptions) {
  // kubectl drain: policy/v1 Eviction with gracePeriodSeconds (int64) and preconditions.
  Msg opts;
  opts.varint(1, 30).msg(2, Msg().str(1, "1234-uid")).str(4, "Background");
  const auto out = decode<policy::v1::Eviction>(body(
      "policy/v1", "Eviction", Msg().msg(1, Msg().str(1, "web-0").str(3, "default")).msg(2, opts)));
  EXPECT_EQ(out.metadata.name, "web-0");
  ASSERT_TRUE(out.deleteOptions.has_value());
  ASSERT_TRUE(out.deleteOptions->gracePeriodSeconds.has_value());
  EXPECT_EQ(*out.deleteOptions->gracePeriodSeconds, 30);
  ASSERT_TRUE(out.deleteOptions->preconditions.has_value());
  EXPECT_EQ(out.deleteOptions->preconditions->uid, "1234-uid");
  EXPECT_EQ(out.deleteOptions->propagationPolicy, "Background");
}

TEST(ProtobufTest, PriorityClassFieldNumbers) {
  // kubectl create priorityclass low --value=-5 --global-default --description=d
  // --preemption-policy=Never: value 2 (a negative int32), globalDefault 3, description 4,
  // preemptionPolicy 5, as upstream's generated.proto numbers them.
  const auto out =
      decode<scheduling::v1::PriorityClass>(body("scheduling.k8s.io/v1", "PriorityClass",
                                                 Msg()
                                                     .msg(1, Msg().str(1, "low"))
                                                     .varint(2, static_cast<uint64_t>(int64_t{-5}))
                                                     .varint(3, 1)
                                                     .str(4, "d")
                                                     .str(5, "Never")));
  EXPECT_EQ(out.metadata.name, "low");
  EXPECT_EQ(out.value, -5);
  EXPECT_TRUE(out.globalDefault);
  EXPECT_EQ(out.description, "d");
  EXPECT_EQ(out.preemptionPolicy, "Never");
}

TEST(ProtobufTest, JobWithTimesAndNegativeInt64) {
  Msg podSpec;
  podSpec.msg(2, Msg().str(1, "run").str(2, "busybox").str(3, "sh").str(3, "-c").str(4, "true"))
      .str(3, "Never")
      // supplementalGroups: repeated int64, once unpacked and once packed.
      .msg(14, Msg().varint(4, 1000).raw(Msg().str(4, std::string("\x02\x03", 2)).bytes()));
  Msg spec;
  spec.varint(1, 2).varint(2, 4).varint(7, 6).msg(6, Msg().msg(1, Msg()).msg(2, podSpec));
  Msg meta;
  meta.str(1, "batch")
      .msg(8, Msg().varint(1, 1714557600))              // 2024-05-01T10:00:00Z
      .varint(10, static_cast<uint64_t>(int64_t{-5}));  // deletionGracePeriodSeconds
  const auto out = decode<batch::v1::Job>(body("batch/v1", "Job", Msg().msg(1, meta).msg(2, spec)));
  EXPECT_EQ(out.metadata.creationTimestamp.rfc3339(), "2024-05-01T10:00:00Z");
  ASSERT_TRUE(out.metadata.deletionGracePeriodSeconds.has_value());
  EXPECT_EQ(*out.metadata.deletionGracePeriodSeconds, -5);
  EXPECT_EQ(out.spec.parallelism, 2);
  EXPECT_EQ(out.spec.completions, 4);
  EXPECT_EQ(out.spec.backoffLimit, 6);
  const auto& ps = out.spec.template_.spec;
  EXPECT_EQ(ps.restartPolicy, "Never");
  ASSERT_EQ(ps.containers.size(), 1U);
  EXPECT_EQ(ps.containers[0].command, (std::vector<std::string>{"sh", "-c"}));
  EXPECT_EQ(ps.containers[0].args, std::vector<std::string>{"true"});
  ASSERT_TRUE(ps.securityContext.has_value());
  EXPECT_EQ(ps.securityContext->supplementalGroups, (std::vector<int64_t>{1000, 2, 3}));
}

TEST(ProtobufTest, TokenRequest) {
  // kubectl create token sa --audience=api --duration=1h
  Msg spec;
  spec.str(1, "api")
      .str(1, "vault")
      .varint(4, 3600)
      .msg(3, Msg().str(1, "Pod").str(2, "v1").str(3, "p").str(4, "u-1"));
  const auto out = decode<authentication::v1::TokenRequest>(body(
      "authentication.k8s.io/v1", "TokenRequest", Msg().msg(1, Msg()).msg(2, spec).msg(3, Msg())));
  EXPECT_EQ(out.spec.audiences, (std::vector<std::string>{"api", "vault"}));
  EXPECT_EQ(out.spec.expirationSeconds, 3600);
  ASSERT_TRUE(out.spec.boundObjectRef.has_value());
  EXPECT_EQ(out.spec.boundObjectRef->uid, "u-1");
}

TEST(ProtobufTest, MicroTimeAndInlineFields) {
  // A core/v1 Event with a MicroTime, and a Pod volume (Volume embeds VolumeSource = 2).
  const auto ev = decode<core::v1::Event>(body(
      "v1", "Event",
      Msg().msg(1, Msg().str(1, "e")).msg(10, Msg().varint(1, 1714557600).varint(2, 123456789))));
  EXPECT_EQ(ev.eventTime.rfc3339Micro(), "2024-05-01T10:00:00.123456Z");

  Msg volume;
  volume.str(1, "data").msg(2, Msg().msg(2, Msg().str(1, "Memory").msg(2, quantity("1Gi"))));
  const auto pod = decode<core::v1::Pod>(
      body("v1", "Pod", Msg().msg(1, Msg().str(1, "p")).msg(2, Msg().msg(1, volume))));
  ASSERT_EQ(pod.spec.volumes.size(), 1U);
  EXPECT_EQ(pod.spec.volumes[0].name, "data");
  ASSERT_TRUE(pod.spec.volumes[0].emptyDir.has_value());
  EXPECT_EQ(pod.spec.volumes[0].emptyDir->medium, "Memory");
  EXPECT_EQ(pod.spec.volumes[0].emptyDir->sizeLimit, Quantity::parse("1Gi"));
}

TEST(ProtobufTest, UnknownFieldsAreSkippedAndRepeatedMessagesMerge) {
  Msg ns;
  ns.msg(1, Msg().str(1, "first").varint(900, 7).fixed32(901, 1).fixed64(902, 2).str(903, "x"))
      .varint(77, 1)
      .msg(1, Msg().entry(11, "k", "v"))  // a second occurrence merges into metadata
      .msg(1, Msg().str(1, "merged"));
  const auto out = decode<core::v1::Namespace>(body("v1", "Namespace", ns));
  EXPECT_EQ(out.metadata.name, "merged");
  EXPECT_EQ(out.metadata.labels.at("k"), "v");
}

TEST(ProtobufTest, InvalidUtf8BecomesReplacementCharacter) {
  const auto out = decode<core::v1::ConfigMap>(body("v1", "ConfigMap",
                                                    Msg().entry(2, "k",
                                                                "a\xff"
                                                                "b")));
  EXPECT_EQ(out.data.at("k"),
            "a\xEF\xBF\xBD"
            "b");
}

TEST(ProtobufTest, EmbeddedJsonRawExtension) {
  // meta/v1 WatchEvent{type = 1, object = 2 (RawExtension{raw = 1})}, any apiVersion.
  const std::string json = protobufToJson(
      body("v1", "WatchEvent",
           Msg().str(1, "ADDED").msg(2, Msg().str(1, R"({"kind":"Pod","apiVersion":"v1"})"))));
  const auto ev = decodeJson<meta::v1::WatchEvent>(json, {.strict = true});
  EXPECT_EQ(ev.type, "ADDED");
  EXPECT_EQ(ev.object.text(), R"({"kind":"Pod","apiVersion":"v1"})");
}

TEST(ProtobufTest, MalformedInputIsAParseError) {
  const std::string good = body("v1", "Namespace", Msg().msg(1, Msg().str(1, "x")));
  EXPECT_NE(errorOf("{\"kind\":\"Namespace\"}").find("magic"), std::string::npos);
  EXPECT_NE(errorOf(std::string("k8s\0", 4)).find("no kind"), std::string::npos);
  // Every truncation of a valid body fails cleanly or, where it ends on a field boundary,
  // decodes what is there.
  for (std::size_t n = 0; n < good.size(); ++n) {
    try {
      (void)protobufToJson(good.substr(0, n));
    } catch (const ParseError&) {
    }
  }
  const std::string truncatedVarint = std::string("k8s\0", 4) + "\x0a\x80";
  EXPECT_NE(errorOf(truncatedVarint).find("truncated varint"), std::string::npos);
  const std::string pastEnd = std::string("k8s\0", 4) + "\x0a\x05\x0a\x01v";
  EXPECT_NE(errorOf(pastEnd).find("length past the end"), std::string::npos);
  // metadata.name sent as a varint.
  EXPECT_NE(errorOf(body("v1", "Namespace", Msg().msg(1, Msg().varint(1, 5))))
                .find("metadata.name: wrong wire type"),
            std::string::npos);
  EXPECT_NE(errorOf(body("v1", "Namespace", Msg().raw("\x0b"))).find("wire type 3"),
            std::string::npos);
  EXPECT_NE(errorOf(body("v9", "Nothing", Msg())).find("unknown kind"), std::string::npos);
  // A volume source kite keeps as RawJson is refused, not dropped.
  Msg rbd;
  rbd.str(1, "v").msg(2, Msg().msg(11, Msg().str(1, "mon")));
  EXPECT_NE(errorOf(body("v1", "Pod", Msg().msg(2, Msg().msg(1, rbd))))
                .find("spec.volumes[0].rbd: protobuf message RBDVolumeSource is not supported"),
            std::string::npos);
  // Time out of range.
  EXPECT_NE(errorOf(body("v1", "Namespace",
                         Msg().msg(1, Msg().msg(8, Msg().varint(1, uint64_t{1} << 60)))))
                .find("out of range"),
            std::string::npos);
}

TEST(ProtobufTest, DeepNestingIsRefused) {
  // WatchEvent objects holding protobuf WatchEvents, 150 deep.
  std::string inner = body("v1", "Namespace", Msg().msg(1, Msg().str(1, "x")));
  for (int i = 0; i < 150; ++i) {
    inner = body("v1", "WatchEvent", Msg().str(1, "ADDED").msg(2, Msg().str(1, inner)));
  }
  EXPECT_NE(errorOf(inner).find("nesting deeper than 100"), std::string::npos);
  // Ten levels are fine.
  std::string shallow = body("v1", "Namespace", Msg().msg(1, Msg().str(1, "x")));
  for (int i = 0; i < 10; ++i) {
    shallow = body("v1", "WatchEvent", Msg().str(1, "ADDED").msg(2, Msg().str(1, shallow)));
  }
  EXPECT_NE(protobufToJson(shallow).find(R"("name":"x")"), std::string::npos);
}

TEST(ProtobufTest, MagicCheck) {
  EXPECT_TRUE(hasProtobufMagic(std::string("k8s\0rest", 8)));
  EXPECT_FALSE(hasProtobufMagic("k8s"));
  EXPECT_FALSE(hasProtobufMagic("{}"));
}

}  // namespace
}  // namespace kite::api
