// libFuzzer target: any packet must either be refused with ParseError or parse into a message
// that writes back out and reads in again to the same bytes (the first write may change name
// case under compression pointers; after that the form is fixed). Never a crash or a hang.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "kite/dns/message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kite::dns;
  Message message;
  try {
    message = parseMessage(std::span<const std::uint8_t>(data, size));
  } catch (const ParseError&) {
    return 0;
  }
  const std::vector<std::uint8_t> once = writeMessage(message);
  Message again;
  try {
    again = parseMessage(once);
  } catch (const ParseError& e) {
    std::fprintf(stderr, "cannot read back our own output: %s\n", e.what());
    std::abort();
  }
  if (writeMessage(again) != once || again.answers.size() != message.answers.size() ||
      again.questions.size() != message.questions.size()) {
    std::fprintf(stderr, "re-encoding differs\n");
    std::abort();
  }
  return 0;
}
