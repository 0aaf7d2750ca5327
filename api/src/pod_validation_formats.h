#pragma once
// Format checks behind pod validation, each returning upstream's explanations (empty when the
// value is fine), so the messages kubectl prints match a real API server's word for word.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kite::api::podvalidation {

using Messages = std::vector<std::string>;

// RFC 1123 label (container, volume and port-less names): [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63.
Messages dnsLabelErrors(std::string_view value);
// RFC 1123 subdomain (object names): labels joined by '.', <= 253. With prefix, a trailing
// '-' is allowed (generateName-style prefixes, as upstream's NameIsDNSSubdomain(name, true)).
Messages dnsSubdomainErrors(std::string_view value, bool prefix = false);
// IANA_SVC_NAME: <= 15 characters, [-a-z0-9], at least one letter, no "--", no edge '-'.
Messages portNameErrors(std::string_view value);
// 1..65535.
Messages portNumberErrors(int64_t value);
// Environment variable names and envFrom prefixes: [-._a-zA-Z][-._a-zA-Z0-9]*, not "." or "..".
Messages envVarNameErrors(std::string_view value);
// ConfigMap and Secret keys: [-._a-zA-Z0-9]+, <= 253, not "." or "..".
Messages configMapKeyErrors(std::string_view value);
// HTTP header names: [-A-Za-z0-9]+.
Messages httpHeaderNameErrors(std::string_view value);
// An IPv4 or IPv6 address.
bool isIpAddress(std::string_view value);

// "must be between LO and HI, inclusive".
std::string inclusiveRange(int64_t lo, int64_t hi);

// Whether path, split on '/', has a ".." element.
bool hasBacksteps(std::string_view path);

}  // namespace kite::api::podvalidation
