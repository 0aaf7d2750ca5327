#include "kite/http/spdy_header_block.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <set>

#include "kite/http/spdy_frame.h"

namespace kite::http {
namespace {

void put32(std::string& out, std::size_t value) {
  if (value > 0xFFFFFFFFU) throw SpdyError("spdy: a header block field is above 4 GiB");
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> static_cast<unsigned>(shift)) & 0xFFU));
  }
}

bool hasUpper(std::string_view name) {
  return std::any_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// Reads length-prefixed fields off a block, refusing to run past its end.
class BlockReader {
 public:
  explicit BlockReader(std::string_view block) : block_(block) {}
  std::uint32_t number(std::string_view what) {
    if (block_.size() - at_ < 4) {
      throw SpdyError("spdy: header block cut short in " + std::string(what));
    }
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      value = (value << 8U) | static_cast<std::uint8_t>(block_[at_ + i]);
    }
    at_ += 4;
    return value;
  }
  std::string_view text(std::string_view what) {
    const std::uint32_t length = number(what);
    if (block_.size() - at_ < length) {
      throw SpdyError("spdy: header block cut short in " + std::string(what));
    }
    const auto out = block_.substr(at_, length);
    at_ += length;
    return out;
  }
  bool done() const { return at_ == block_.size(); }

 private:
  std::string_view block_;
  std::size_t at_ = 0;
};

}  // namespace

std::string encodeSpdyHeaderBlock(const Headers& headers) {
  // One entry per name: repeated names are joined with NUL, as the spec asks.
  std::vector<std::pair<std::string, std::string>> joined;
  for (const auto& header : headers) {
    const auto& [name, value] = header;
    if (name.empty() || hasUpper(name)) {
      throw SpdyError("spdy: header name \"" + name + "\" must be lower-case and not empty");
    }
    auto it = std::find_if(joined.begin(), joined.end(),
                           [&header](const auto& entry) { return entry.first == header.first; });
    if (it == joined.end()) {
      joined.emplace_back(name, value);
    } else {
      it->second.push_back('\0');
      it->second.append(value);
    }
  }
  std::string out;
  put32(out, joined.size());
  for (const auto& [name, value] : joined) {
    put32(out, name.size());
    out.append(name);
    put32(out, value.size());
    out.append(value);
  }
  return out;
}

Headers decodeSpdyHeaderBlock(std::string_view block) {
  BlockReader reader(block);
  const std::uint32_t count = reader.number("the pair count");
  // Each pair takes at least 8 bytes: a count above that is a lie, not an allocation to make.
  if (count > block.size() / 8) {
    throw SpdyError("spdy: header block claims " + std::to_string(count) + " pairs in " +
                    std::to_string(block.size()) + " bytes");
  }
  Headers headers;
  std::set<std::string, std::less<>> seen;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::string name(reader.text("a name"));
    if (name.empty() || hasUpper(name)) {
      throw SpdyError("spdy: header name \"" + name + "\" must be lower-case and not empty");
    }
    if (!seen.insert(name).second) {
      throw SpdyError("spdy: header \"" + name + "\" appears twice in one block");
    }
    const std::string_view value = reader.text("a value");
    std::size_t at = 0;
    while (true) {
      const auto nul = value.find('\0', at);
      headers.emplace_back(name, std::string(value.substr(at, nul - at)));
      if (nul == std::string_view::npos) break;
      at = nul + 1;
    }
  }
  if (!reader.done()) {
    throw SpdyError("spdy: header block has bytes after its last pair");
  }
  return headers;
}

struct SpdyHeaderCompressor::State {
  z_stream stream{};
};

SpdyHeaderCompressor::SpdyHeaderCompressor() : state_(std::make_unique<State>()) {
  if (deflateInit(&state_->stream, Z_BEST_COMPRESSION) != Z_OK) {
    throw SpdyError("spdy: zlib deflateInit failed");
  }
  const auto dictionary = spdyHeaderDictionary();
  if (deflateSetDictionary(&state_->stream, reinterpret_cast<const Bytef*>(dictionary.data()),
                           static_cast<uInt>(dictionary.size())) != Z_OK) {
    deflateEnd(&state_->stream);
    throw SpdyError("spdy: zlib deflateSetDictionary failed");
  }
}

SpdyHeaderCompressor::~SpdyHeaderCompressor() { deflateEnd(&state_->stream); }

std::string SpdyHeaderCompressor::compress(const Headers& headers) {
  std::string block = encodeSpdyHeaderBlock(headers);
  auto& z = state_->stream;
  // zlib's API takes a non-const input pointer; deflate does not write through it.
  z.next_in = reinterpret_cast<Bytef*>(block.data());
  z.avail_in = static_cast<uInt>(block.size());
  std::string out;
  std::array<char, 4096> chunk{};
  do {
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = static_cast<uInt>(chunk.size());
    const int rc = deflate(&z, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      throw SpdyError("spdy: zlib deflate failed");
    }
    out.append(chunk.data(), chunk.size() - z.avail_out);
  } while (z.avail_out == 0);
  return out;
}

struct SpdyHeaderDecompressor::State {
  z_stream stream{};
  bool failed = false;
};

SpdyHeaderDecompressor::SpdyHeaderDecompressor(std::size_t maxBlockBytes)
    : state_(std::make_unique<State>()), maxBlockBytes_(maxBlockBytes) {
  if (inflateInit(&state_->stream) != Z_OK) {
    throw SpdyError("spdy: zlib inflateInit failed");
  }
}

SpdyHeaderDecompressor::~SpdyHeaderDecompressor() { inflateEnd(&state_->stream); }

Headers SpdyHeaderDecompressor::decompress(std::string_view compressed) {
  if (state_->failed) {
    throw SpdyError("spdy: the header compression context broke earlier");
  }
  auto& z = state_->stream;
  std::string input(compressed);
  z.next_in = reinterpret_cast<Bytef*>(input.data());
  z.avail_in = static_cast<uInt>(input.size());
  std::string block;
  std::array<char, 4096> chunk{};
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = static_cast<uInt>(chunk.size());
    int rc = inflate(&z, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      const auto dictionary = spdyHeaderDictionary();
      if (inflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dictionary.data()),
                               static_cast<uInt>(dictionary.size())) != Z_OK) {
        state_->failed = true;
        throw SpdyError("spdy: header block compressed with a dictionary other than SPDY/3's");
      }
      continue;
    }
    block.append(chunk.data(), chunk.size() - z.avail_out);
    if (block.size() > maxBlockBytes_) {
      state_->failed = true;
      throw SpdyError("spdy: a header block decompresses to more than " +
                      std::to_string(maxBlockBytes_) + " bytes");
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // all input taken, no more output
    if (rc == Z_STREAM_END) {
      state_->failed = true;  // the context cannot carry the next block
      throw SpdyError("spdy: header compression stream ended");
    }
    if (rc != Z_OK) {
      state_->failed = true;
      throw SpdyError(std::string("spdy: header block does not decompress: ") +
                      (z.msg != nullptr ? z.msg : "zlib error"));
    }
    if (z.avail_in == 0 && z.avail_out != 0) break;
  }
  return decodeSpdyHeaderBlock(block);
}

}  // namespace kite::http
