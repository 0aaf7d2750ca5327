#pragma once
// JSON as Go's encoding/json writes a decoded value back out: object keys sorted bytewise at
// every level, no insignificant whitespace, and strings with Go's escapes ("<", ">" and "&"
// as \u003c, \u003e and \u0026, U+2028/U+2029 escaped, \b \f \n \r \t, other control
// characters as \u00XX). `kubectl rollout undo` compares a ControllerRevision's data with
// such a re-encoding of the DaemonSet or StatefulSet byte for byte, so revision data is
// written this way. Numbers are kept as written (integers print the same in Go).

#include <string>
#include <string_view>

namespace kite::controlplane::controllers {

// Throws std::invalid_argument when json is not one well-formed JSON value.
std::string goCanonicalJson(std::string_view json);

}  // namespace kite::controlplane::controllers
