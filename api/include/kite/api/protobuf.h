#pragma once
// Kubernetes protobuf (Content-Type application/vnd.kubernetes.protobuf) to kite's JSON.
//
// kubectl's typed clients send some bodies in protobuf: `create namespace`, `create
// configmap/secret/deployment/service/job`, `auth can-i` (SelfSubjectAccessReview), `create
// token` (TokenRequest), `drain` (Eviction). The transcoder turns such a body into the JSON
// the generated codecs read, so the JSON path handles the rest:
//
//   std::string json = kite::api::protobufToJson(body);
//   auto ns = kite::api::decodeJson<core::v1::Namespace>(json, options);
//
// A body is the 4-byte magic "k8s\0" and a runtime.Unknown message {typeMeta{apiVersion = 1,
// kind = 2} = 1, raw = 2, contentEncoding = 3, contentType = 4}; raw is the object's message,
// found from apiVersion and kind among the kinds of api/schema. Field numbers come from the
// schema (`proto: N`, upstream's generated.proto numbers). Unknown field numbers are skipped,
// as protobuf requires. The JSON carries apiVersion and kind from the envelope, only the
// fields present on the wire, int64 as JSON numbers, bytes in base64, Time and MicroTime in
// RFC 3339, Quantity and IntOrString as their JSON forms.

#include <string>
#include <string_view>

namespace kite::api {

inline constexpr std::string_view kProtobufContentType = "application/vnd.kubernetes.protobuf";

// True when body starts with the Kubernetes protobuf magic "k8s\0".
bool hasProtobufMagic(std::string_view body);

// Throws kite::api::ParseError (kite/api/json.h) for malformed input: no magic, truncated
// varints or lengths past the end, wrong wire types, nesting deeper than 100 messages, an
// unknown apiVersion/kind, invalid values (a Time out of range, RawExtension bytes that are
// not JSON), or a field whose message kite does not model (a cloud volume source...). The
// message names the field path, e.g. `protobuf: spec.template.spec.containers[0].ports[1]:
// length past the end of the message`.
std::string protobufToJson(std::string_view body);

}  // namespace kite::api
