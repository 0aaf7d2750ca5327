// libFuzzer target: any input, as a protobuf body (and with the "k8s\0" magic put in front, so
// the fuzzer reaches the envelope at once), must be rejected with ParseError or become
// well-formed JSON; never a crash, a hang or another exception.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "kite/api/json.h"
#include "kite/api/protobuf.h"
#include "kite/api/raw_json.h"

namespace {

void transcode(std::string_view body) {
  std::string json;
  try {
    json = kite::api::protobufToJson(body);
  } catch (const kite::api::ParseError&) {
    return;
  }
  try {
    (void)kite::api::RawJson::parse(json);
  } catch (const kite::api::ParseError& e) {
    std::fprintf(stderr, "transcoder wrote invalid JSON (%s): %s\n", e.what(), json.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);  // NOLINT
  transcode(input);
  std::string withMagic("k8s\0", 4);
  withMagic.append(input);
  transcode(withMagic);
  return 0;
}
