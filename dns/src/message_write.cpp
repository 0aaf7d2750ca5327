// Writing of DNS messages with name compression, and the record builders.

#include <arpa/inet.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kite/dns/message.h"

namespace kite::dns {
namespace {

constexpr std::size_t kMaxPointerOffset = 0x3FFF;

std::vector<std::string_view> splitLabels(std::string_view name) {
  std::vector<std::string_view> labels;
  if (name.empty()) return labels;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) throw std::invalid_argument("name " + std::string(name) + ": empty label");
    if (label.size() > 63) {
      throw std::invalid_argument("name " + std::string(name) + ": label over 63 octets");
    }
    labels.push_back(label);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return labels;
}

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) {
    out_.push_back(static_cast<std::uint8_t>(v >> 8));
    out_.push_back(static_cast<std::uint8_t>(v & 0xFF));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v & 0xFFFF));
  }
  void bytes(const std::vector<std::uint8_t>& b) { out_.insert(out_.end(), b.begin(), b.end()); }

  // Writes name, replacing its longest suffix already written by a pointer when compress.
  void name(std::string_view name, bool compress) {
    const auto labels = splitLabels(name);
    std::size_t wire = 1;
    for (const auto& l : labels) wire += 1 + l.size();
    if (wire > 255) throw std::invalid_argument("name " + std::string(name) + ": over 255 octets");
    for (std::size_t i = 0; i < labels.size(); ++i) {
      // The suffix from label i on, lower-cased: compression is case-insensitive.
      std::string suffix;
      for (std::size_t j = i; j < labels.size(); ++j) {
        if (j > i) suffix.push_back('.');
        suffix += labels[j];
      }
      suffix = lowerName(suffix);
      if (compress) {
        if (const auto it = suffixes_.find(suffix); it != suffixes_.end()) {
          u16(static_cast<std::uint16_t>(0xC000 | it->second));
          return;
        }
      }
      if (out_.size() <= kMaxPointerOffset) suffixes_.emplace(suffix, out_.size());
      u8(static_cast<std::uint8_t>(labels[i].size()));
      out_.insert(out_.end(), labels[i].begin(), labels[i].end());
    }
    u8(0);
  }

  std::size_t size() const { return out_.size(); }
  void patch16(std::size_t at, std::uint16_t v) {
    out_[at] = static_cast<std::uint8_t>(v >> 8);
    out_[at + 1] = static_cast<std::uint8_t>(v & 0xFF);
  }
  std::vector<std::uint8_t> take() { return std::move(out_); }

 private:
  std::vector<std::uint8_t> out_;
  std::map<std::string, std::size_t> suffixes_;
};

void writeRecord(Writer& w, const ResourceRecord& rr) {
  w.name(rr.name, true);
  w.u16(rr.type);
  w.u16(rr.klass);
  w.u32(rr.ttl);
  const std::size_t lengthAt = w.size();
  w.u16(0);
  // RFC 3597: only the RFC 1035 types may be compressed inside RDATA.
  if (const auto* raw = std::get_if<RawData>(&rr.data)) {
    w.bytes(raw->bytes);
  } else if (const auto* n = std::get_if<NameData>(&rr.data)) {
    w.name(n->name, true);
  } else if (const auto* srv = std::get_if<SrvData>(&rr.data)) {
    w.u16(srv->priority);
    w.u16(srv->weight);
    w.u16(srv->port);
    w.name(srv->target, false);
  } else if (const auto* soa = std::get_if<SoaData>(&rr.data)) {
    w.name(soa->mname, true);
    w.name(soa->rname, true);
    w.u32(soa->serial);
    w.u32(soa->refresh);
    w.u32(soa->retry);
    w.u32(soa->expire);
    w.u32(soa->minimum);
  }
  const std::size_t length = w.size() - lengthAt - 2;
  if (length > 0xFFFF) throw std::invalid_argument("record " + rr.name + ": RDATA too long");
  w.patch16(lengthAt, static_cast<std::uint16_t>(length));
}

std::uint16_t count(std::size_t n, const char* what) {
  if (n > 0xFFFF) throw std::invalid_argument(std::string("too many ") + what);
  return static_cast<std::uint16_t>(n);
}

}  // namespace

std::vector<std::uint8_t> writeMessage(const Message& m) {
  Writer w;
  const Header& h = m.header;
  w.u16(h.id);
  std::uint16_t flags = 0;
  if (h.qr) flags |= 0x8000;
  flags |= static_cast<std::uint16_t>((h.opcode & 0xF) << 11);
  if (h.aa) flags |= 0x0400;
  if (h.tc) flags |= 0x0200;
  if (h.rd) flags |= 0x0100;
  if (h.ra) flags |= 0x0080;
  if (h.ad) flags |= 0x0020;
  if (h.cd) flags |= 0x0010;
  flags |= static_cast<std::uint16_t>(h.rcode & 0xF);
  w.u16(flags);
  w.u16(count(m.questions.size(), "questions"));
  w.u16(count(m.answers.size(), "answers"));
  w.u16(count(m.authorities.size(), "authority records"));
  w.u16(count(m.additionals.size(), "additional records"));
  for (const auto& q : m.questions) {
    w.name(q.name, true);
    w.u16(q.type);
    w.u16(q.klass);
  }
  for (const auto& rr : m.answers) writeRecord(w, rr);
  for (const auto& rr : m.authorities) writeRecord(w, rr);
  for (const auto& rr : m.additionals) writeRecord(w, rr);
  return w.take();
}

Message makeReply(const Message& query, Rcode rcode) {
  Message reply;
  reply.header.id = query.header.id;
  reply.header.qr = true;
  reply.header.opcode = query.header.opcode;
  reply.header.rd = query.header.rd;
  reply.header.cd = query.header.cd;
  reply.header.ra = true;
  reply.header.rcode = static_cast<std::uint8_t>(rcode);
  reply.questions = query.questions;
  return reply;
}

ResourceRecord aRecord(std::string name, std::uint32_t ttl, std::string_view ipv4) {
  std::vector<std::uint8_t> addr(4);
  if (inet_pton(AF_INET, std::string(ipv4).c_str(), addr.data()) != 1) {
    throw std::invalid_argument("not an IPv4 address: " + std::string(ipv4));
  }
  return {std::move(name), type::A, kClassIN, ttl, RawData{std::move(addr)}};
}

ResourceRecord aaaaRecord(std::string name, std::uint32_t ttl, std::string_view ipv6) {
  std::vector<std::uint8_t> addr(16);
  if (inet_pton(AF_INET6, std::string(ipv6).c_str(), addr.data()) != 1) {
    throw std::invalid_argument("not an IPv6 address: " + std::string(ipv6));
  }
  return {std::move(name), type::AAAA, kClassIN, ttl, RawData{std::move(addr)}};
}

ResourceRecord nameRecord(std::string name, std::uint16_t type, std::uint32_t ttl,
                          std::string target) {
  return {std::move(name), type, kClassIN, ttl, NameData{std::move(target)}};
}

ResourceRecord srvRecord(std::string name, std::uint32_t ttl, SrvData srv) {
  return {std::move(name), type::SRV, kClassIN, ttl, std::move(srv)};
}

ResourceRecord soaRecord(std::string name, std::uint32_t ttl, SoaData soa) {
  return {std::move(name), type::SOA, kClassIN, ttl, std::move(soa)};
}

}  // namespace kite::dns
