// SPDY/3.1 framing and header blocks: round trips, split delivery, the zlib context carried
// across blocks with the spec's dictionary, and bad input that must end in SpdyError.
#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

#include "kite/http/spdy_frame.h"
#include "kite/http/spdy_header_block.h"

namespace kite::http {
namespace {

// A string from a literal with embedded NULs (its whole length but the terminator).
template <std::size_t N>
std::string bin(const char (&text)[N]) {
  return {text, N - 1};
}

std::vector<SpdyFrame> decodeAll(const std::string& bytes, std::size_t step) {
  SpdyFrameDecoder decoder;
  std::vector<SpdyFrame> frames;
  for (std::size_t at = 0; at < bytes.size(); at += step) {
    for (auto& f : decoder.feed(std::string_view(bytes).substr(at, step))) {
      frames.push_back(std::move(f));
    }
  }
  return frames;
}

TEST(SpdyFrameTest, EveryFrameTypeRoundTripsHoweverSplit) {
  std::vector<SpdyFrame> sent(8);
  sent[0].type = SpdyFrameType::kSynStream;
  sent[0].streamId = 5;
  sent[0].value = 3;
  sent[0].priority = 6;
  sent[0].flags = kSpdyFlagFin | kSpdyFlagUnidirectional;
  sent[0].payload = "block";
  sent[1].type = SpdyFrameType::kSynReply;
  sent[1].streamId = 0x7FFFFFFF;
  sent[1].payload = "reply";
  sent[2].type = SpdyFrameType::kRstStream;
  sent[2].streamId = 7;
  sent[2].value = static_cast<std::uint32_t>(SpdyRstStatus::kCancel);
  sent[3].type = SpdyFrameType::kPing;
  sent[3].value = 0xFFFFFFFE;
  sent[4].type = SpdyFrameType::kGoAway;
  sent[4].streamId = 9;
  sent[4].value = 2;
  sent[5].type = SpdyFrameType::kWindowUpdate;
  sent[5].streamId = 0;
  sent[5].value = 65536;
  sent[6].streamId = 3;  // DATA
  sent[6].flags = kSpdyFlagFin;
  sent[6].payload = std::string(70000, 'd');
  sent[7].type = SpdyFrameType::kHeaders;
  sent[7].streamId = 1;
  sent[7].payload = "more";
  std::string bytes;
  for (const auto& f : sent) bytes += encodeSpdyFrame(f);
  for (const std::size_t step : {std::size_t{1}, std::size_t{7}, bytes.size()}) {
    const auto got = decodeAll(bytes, step);
    ASSERT_EQ(got.size(), sent.size()) << step;
    for (std::size_t i = 0; i < sent.size(); ++i) {
      EXPECT_EQ(got[i].type, sent[i].type) << i;
      EXPECT_EQ(got[i].streamId, sent[i].streamId) << i;
      EXPECT_EQ(got[i].value, sent[i].value) << i;
      EXPECT_EQ(got[i].priority, sent[i].priority) << i;
      EXPECT_EQ(got[i].flags, sent[i].flags) << i;
      EXPECT_EQ(got[i].payload, sent[i].payload) << i;
    }
  }
}

TEST(SpdyFrameTest, WireLayoutFollowsTheSpec) {
  SpdyFrame ping;
  ping.type = SpdyFrameType::kPing;
  ping.value = 1;
  EXPECT_EQ(encodeSpdyFrame(ping), bin("\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01"));
  SpdyFrame data;
  data.streamId = 3;
  data.flags = kSpdyFlagFin;
  data.payload = "hi";
  EXPECT_EQ(encodeSpdyFrame(data), bin("\x00\x00\x00\x03\x01\x00\x00\x02hi"));
  SpdyFrame syn;
  syn.type = SpdyFrameType::kSynStream;
  syn.streamId = 1;
  syn.priority = 7;
  EXPECT_EQ(encodeSpdyFrame(syn),
            bin("\x80\x03\x00\x01\x00\x00\x00\x0a\x00\x00\x00\x01\x00\x00\x00\x00\xe0\x00"));
}

TEST(SpdyFrameTest, UnknownControlTypesAreSkipped) {
  // A CREDENTIAL frame (type 10), then a PING: only the PING comes out.
  std::string bytes("\x80\x03\x00\x0a\x00\x00\x00\x03xyz", 11);
  SpdyFrame ping;
  ping.type = SpdyFrameType::kPing;
  ping.value = 2;
  bytes += encodeSpdyFrame(ping);
  const auto got = decodeAll(bytes, bytes.size());
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].type, SpdyFrameType::kPing);
}

TEST(SpdyFrameTest, MalformedFramesAreErrors) {
  const std::vector<std::string> bad = {
      bin("\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01"),                  // SPDY/2
      bin("\x80\x03\x00\x06\x00\x00\x00\x03\x00\x00\x00"),                      // short PING
      bin("\x80\x03\x00\x03\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x01"),  // RST 0
      bin("\x00\x00\x00\x00\x00\x00\x00\x00"),                                  // DATA stream 0
      bin("\x80\x03\x00\x01\x00\x00\x00\x04\x00\x00\x00\x01"),                  // short SYN_STREAM
      bin("\x80\x03\x00\x09\x00\x00\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00"),  // Δ0
      bin("\x80\x03\x00\x04\x00\x00\x00\x04\x00\x00\x00\x02"),                  // SETTINGS count
  };
  for (const auto& bytes : bad) {
    SpdyFrameDecoder decoder;
    EXPECT_THROW(decoder.feed(bytes), SpdyError) << testing::PrintToString(bytes);
  }
  SpdyFrameDecoder small(16);
  EXPECT_THROW(small.feed(bin("\x00\x00\x00\x01\x00\x00\x00\x20")), SpdyError);
  SpdyFrame tooBig;
  tooBig.streamId = 1;
  tooBig.payload.resize(kSpdyMaxFrameLength + 1);
  EXPECT_THROW(encodeSpdyFrame(tooBig), SpdyError);
}

TEST(SpdyHeaderBlockTest, DictionaryIsTheSpecOne) {
  const auto dictionary = spdyHeaderDictionary();
  EXPECT_EQ(dictionary.size(), 1423U);
  EXPECT_EQ(dictionary.substr(0, 11), std::string_view("\0\0\0\x07options", 11));
  EXPECT_EQ(dictionary.substr(dictionary.size() - 6), "enq=0.");
  // Its Adler-32 is the DICTID every SPDY/3 header stream announces.
  EXPECT_EQ(adler32(1, reinterpret_cast<const Bytef*>(dictionary.data()),
                    static_cast<uInt>(dictionary.size())),
            0xe3c6a7c2U);
}

TEST(SpdyHeaderBlockTest, PlainBlockRoundTripsAndJoinsRepeatedNames) {
  const Headers headers = {{"streamtype", "stdin"}, {"x", "1"}, {"x", "2"}, {"empty", ""}};
  const auto block = encodeSpdyHeaderBlock(headers);
  EXPECT_EQ(block.substr(0, 4), bin("\0\0\0\x03"));
  EXPECT_NE(block.find(bin("1\0"
                           "2")),
            std::string::npos);
  const auto decoded = decodeSpdyHeaderBlock(block);
  EXPECT_EQ(decoded, (Headers{{"streamtype", "stdin"}, {"x", "1"}, {"x", "2"}, {"empty", ""}}));
  EXPECT_THROW(encodeSpdyHeaderBlock({{"StreamType", "x"}}), SpdyError);
}

TEST(SpdyHeaderBlockTest, MalformedPlainBlocksAreErrors) {
  const std::vector<std::string> bad = {
      "",
      bin("\0\0\0\x01"),  // pair missing
      bin("\0\0\0\x01\0\0\0\x01"
          "A\0\0\0\0"),                   // upper-case name
      bin("\0\0\0\x01\0\0\0\0\0\0\0\0"),  // empty name
      bin("\0\0\0\x02\0\0\0\x01"
          "a\0\0\0\0\0\0\0\x01"
          "a\0\0\0\0"),         // twice
      bin("\0\0\0\x00junk"),    // trailing bytes
      bin("\xff\xff\xff\xff"),  // absurd count
      bin("\0\0\0\x01\0\0\0\x09"
          "a"),  // name cut short
  };
  for (const auto& block : bad) {
    EXPECT_THROW(decodeSpdyHeaderBlock(block), SpdyError) << testing::PrintToString(block);
  }
}

TEST(SpdyHeaderBlockTest, CompressionContextCarriesAcrossBlocks) {
  SpdyHeaderCompressor compressor;
  SpdyHeaderDecompressor decompressor;
  const std::vector<Headers> blocks = {
      {{"streamtype", "error"}}, {{"streamtype", "stdin"}}, {{"streamtype", "stdout"}}, {}};
  std::size_t firstSize = 0;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const auto compressed = compressor.compress(blocks[i]);
    if (i == 0) {
      firstSize = compressed.size();
      // zlib header with FDICT and the dictionary's id right after it.
      ASSERT_GE(compressed.size(), 6U);
      EXPECT_NE(static_cast<std::uint8_t>(compressed[1]) & 0x20U, 0U);
      EXPECT_EQ(compressed.substr(2, 4), bin("\xe3\xc6\xa7\xc2"));
    }
    // A sync flush ends every block, so each decodes on its own.
    EXPECT_EQ(compressed.substr(compressed.size() - 4), bin("\0\0\xff\xff"));
    EXPECT_EQ(decompressor.decompress(compressed), blocks[i]) << i;
    if (i == 1) {
      EXPECT_LT(compressed.size(), firstSize);  // the context remembers "streamtype"
    }
  }
}

TEST(SpdyHeaderBlockTest, BadCompressedBlocksAreErrors) {
  {
    SpdyHeaderDecompressor decompressor;
    EXPECT_THROW(decompressor.decompress("not zlib at all"), SpdyError);
    // Once broken, the context stays broken (the next block cannot be trusted).
    SpdyHeaderCompressor compressor;
    EXPECT_THROW(decompressor.decompress(compressor.compress({{"a", "b"}})), SpdyError);
  }
  {
    // zlib with no dictionary: not SPDY's header stream.
    std::string plain = encodeSpdyHeaderBlock({{"a", "b"}});
    std::string out(256, '\0');
    uLongf size = out.size();
    ASSERT_EQ(compress(reinterpret_cast<Bytef*>(out.data()), &size,
                       reinterpret_cast<const Bytef*>(plain.data()), plain.size()),
              Z_OK);
    out.resize(size);
    SpdyHeaderDecompressor decompressor;
    // A complete zlib stream ends the context: an error either way, never a crash.
    EXPECT_THROW(decompressor.decompress(out), SpdyError);
  }
  {
    // A block that expands beyond the limit.
    SpdyHeaderCompressor compressor;
    const auto big = compressor.compress({{"a", std::string(100000, 'x')}});
    SpdyHeaderDecompressor decompressor(1024);
    EXPECT_THROW(decompressor.decompress(big), SpdyError);
  }
  {
    // Cut short: the block decodes partially, which is an error.
    SpdyHeaderCompressor compressor;
    const auto whole = compressor.compress({{"streamtype", "stdout"}, {"x", "yyyyyyyy"}});
    SpdyHeaderDecompressor decompressor;
    EXPECT_THROW(decompressor.decompress(whole.substr(0, whole.size() / 2)), SpdyError);
  }
}

TEST(SpdyFuzzTest, RandomBytesNeverCrashTheDecoders) {
  std::mt19937 random(20261125);
  SpdyHeaderCompressor compressor;
  const auto valid = compressor.compress({{"streamtype", "stdout"}});
  for (int round = 0; round < 3000; ++round) {
    std::string bytes(random() % 64, '\0');
    for (auto& c : bytes) c = static_cast<char>(random());
    // Half the rounds start from a plausible header so the parsers go deeper.
    if (round % 2 == 0 && bytes.size() >= 8) {
      bytes[0] = '\x80';
      bytes[1] = '\x03';
      bytes[2] = '\0';
      bytes[3] = static_cast<char>(random() % 10);
      bytes[4] = '\0';
      bytes[5] = '\0';
      bytes[6] = '\0';
      bytes[7] = static_cast<char>(bytes.size() - 8);
    }
    try {
      SpdyFrameDecoder decoder;
      decoder.feed(bytes);
    } catch (const SpdyError&) {
    }
    try {
      decodeSpdyHeaderBlock(bytes);
    } catch (const SpdyError&) {
    }
    try {
      SpdyHeaderDecompressor decompressor;
      std::string mutated = valid;
      mutated[random() % mutated.size()] = static_cast<char>(random());
      decompressor.decompress(round % 3 == 0 ? bytes : mutated);
    } catch (const SpdyError&) {
    }
  }
  SUCCEED();
}

}  // namespace
}  // namespace kite::http
