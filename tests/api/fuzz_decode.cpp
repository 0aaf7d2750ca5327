// libFuzzer target: any input, as JSON into a Pod and as YAML into JSON documents (each then
// decoded into a Pod and re-encoded), must be rejected cleanly or handled, never crash or hang.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "kite/api/core/v1/types.h"
#include "kite/api/field_errors.h"
#include "kite/api/json.h"

namespace {

void decodePod(std::string_view json, bool strict) {
  kite::api::core::v1::Pod pod;
  try {
    pod = kite::api::decodeJson<kite::api::core::v1::Pod>(json, {.strict = strict});
  } catch (const kite::api::ParseError&) {
    return;
  } catch (const kite::api::FieldErrors&) {
    return;
  }
  // What we write we must read back, strictly, to the same object.
  const std::string again = kite::api::encodeJson(pod);
  try {
    const auto back = kite::api::decodeJson<kite::api::core::v1::Pod>(again, {.strict = true});
    if (kite::api::encodeJson(back) != again) {
      std::fprintf(stderr, "re-encoding differs: %s\n", again.c_str());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannot read back our own output: %s\n%s\n", e.what(), again.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);  // NOLINT
  decodePod(input, size % 2 == 0);
  try {
    for (const auto& doc : kite::api::yamlToJsonDocuments(input)) decodePod(doc, false);
  } catch (const kite::api::ParseError&) {
  }
  return 0;
}
