#pragma once
// SPDY/3 name/value header blocks: the plain block (a count, then length-prefixed names and
// values; several values of one name joined by NUL) and its zlib compression with the
// dictionary the SPDY/3 spec defines. Each direction of a connection has one compression
// context for its whole life, so the compressor and decompressor are objects that must see
// every header block of their direction, in order.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "kite/http/server.h"  // Headers

namespace kite::http {

// The SPDY/3 header compression dictionary (1423 bytes).
std::string_view spdyHeaderDictionary();

// The plain block. Names must be lower-case (the spec requires it; Go's SPDY reader rejects
// others): encode throws SpdyError for an upper-case or empty name. decode throws SpdyError
// when the block is truncated, has trailing bytes, an empty or upper-case name, or a name
// twice.
std::string encodeSpdyHeaderBlock(const Headers& headers);
Headers decodeSpdyHeaderBlock(std::string_view block);

class SpdyHeaderCompressor {
 public:
  SpdyHeaderCompressor();
  ~SpdyHeaderCompressor();
  SpdyHeaderCompressor(const SpdyHeaderCompressor&) = delete;
  SpdyHeaderCompressor& operator=(const SpdyHeaderCompressor&) = delete;

  // The compressed block, ending on a sync flush so the peer can decode it on its own.
  std::string compress(const Headers& headers);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

class SpdyHeaderDecompressor {
 public:
  // A decompressed block above maxBlockBytes is an error (a small frame must not expand
  // into gigabytes).
  explicit SpdyHeaderDecompressor(std::size_t maxBlockBytes = std::size_t{256} * 1024);
  ~SpdyHeaderDecompressor();
  SpdyHeaderDecompressor(const SpdyHeaderDecompressor&) = delete;
  SpdyHeaderDecompressor& operator=(const SpdyHeaderDecompressor&) = delete;

  // Throws SpdyError when the data is not zlib with the SPDY dictionary, is cut short, or
  // decodes to a malformed block.
  Headers decompress(std::string_view compressed);

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::size_t maxBlockBytes_;
};

}  // namespace kite::http
