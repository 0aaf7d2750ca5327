// Parsing of DNS messages: every read checked against the packet's end.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "kite/dns/message.h"

namespace kite::dns {
namespace {

constexpr std::size_t kHeaderSize = 12;
constexpr std::size_t kMaxNameOctets = 255;

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> packet) : packet_(packet) {}

  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return packet_.size() - offset_; }

  std::uint8_t u8(const char* what) {
    need(1, what);
    return packet_[offset_++];
  }
  std::uint16_t u16(const char* what) {
    need(2, what);
    const auto v = static_cast<std::uint16_t>((packet_[offset_] << 8) | packet_[offset_ + 1]);
    offset_ += 2;
    return v;
  }
  std::uint32_t u32(const char* what) {
    const std::uint32_t high = u16(what);
    return (high << 16) | u16(what);
  }
  std::vector<std::uint8_t> bytes(std::size_t n, const char* what) {
    need(n, what);
    std::vector<std::uint8_t> out(packet_.begin() + static_cast<std::ptrdiff_t>(offset_),
                                  packet_.begin() + static_cast<std::ptrdiff_t>(offset_ + n));
    offset_ += n;
    return out;
  }

  // A possibly compressed name. Each pointer must point before the label it replaces, so the
  // walk always moves backwards and ends.
  std::string name(const char* what) {
    std::string out;
    std::size_t wireOctets = 1;  // the root label
    std::size_t pos = offset_;
    bool jumped = false;
    while (true) {
      if (pos >= packet_.size()) throw ParseError(std::string(what) + ": name runs past the end");
      const std::uint8_t len = packet_[pos];
      if ((len & 0xC0) == 0xC0) {
        if (pos + 1 >= packet_.size()) {
          throw ParseError(std::string(what) + ": compression pointer runs past the end");
        }
        const std::size_t target = (static_cast<std::size_t>(len & 0x3F) << 8) | packet_[pos + 1];
        if (target >= pos) {
          throw ParseError(std::string(what) + ": compression pointer does not point backwards");
        }
        if (!jumped) offset_ = pos + 2;
        jumped = true;
        pos = target;
        continue;
      }
      if ((len & 0xC0) != 0) throw ParseError(std::string(what) + ": unknown label type");
      if (len == 0) {
        if (!jumped) offset_ = pos + 1;
        return out;
      }
      if (pos + 1 + len > packet_.size()) {
        throw ParseError(std::string(what) + ": label runs past the end");
      }
      wireOctets += 1U + len;
      if (wireOctets > kMaxNameOctets) {
        throw ParseError(std::string(what) + ": name longer than 255 octets");
      }
      if (!out.empty()) out.push_back('.');
      for (std::size_t i = 0; i < len; ++i) {
        const auto c = static_cast<char>(packet_[pos + 1 + i]);
        if (c == '.') throw ParseError(std::string(what) + ": label holds a '.'");
        out.push_back(c);
      }
      pos += 1U + len;
    }
  }

 private:
  void need(std::size_t n, const char* what) const {
    if (remaining() < n) throw ParseError(std::string(what) + ": message ends early");
  }

  std::span<const std::uint8_t> packet_;
  std::size_t offset_ = 0;
};

Header readHeader(Reader& r) {
  Header h;
  h.id = r.u16("header");
  const std::uint16_t flags = r.u16("header");
  h.qr = (flags & 0x8000) != 0;
  h.opcode = static_cast<std::uint8_t>((flags >> 11) & 0xF);
  h.aa = (flags & 0x0400) != 0;
  h.tc = (flags & 0x0200) != 0;
  h.rd = (flags & 0x0100) != 0;
  h.ra = (flags & 0x0080) != 0;
  h.ad = (flags & 0x0020) != 0;
  h.cd = (flags & 0x0010) != 0;
  h.rcode = static_cast<std::uint8_t>(flags & 0xF);
  return h;
}

ResourceRecord readRecord(Reader& r, const char* section) {
  ResourceRecord rr;
  rr.name = r.name(section);
  rr.type = r.u16(section);
  rr.klass = r.u16(section);
  rr.ttl = r.u32(section);
  const std::uint16_t rdlength = r.u16(section);
  if (r.remaining() < rdlength)
    throw ParseError(std::string(section) + ": RDATA runs past the end");
  const std::size_t end = r.offset() + rdlength;
  switch (rr.type) {
    case type::A:
    case type::AAAA: {
      const std::size_t want = rr.type == type::A ? 4 : 16;
      if (rdlength != want) throw ParseError(std::string(section) + ": bad address length");
      rr.data = RawData{r.bytes(want, section)};
      break;
    }
    case type::NS:
    case type::CNAME:
    case type::PTR:
      rr.data = NameData{r.name(section)};
      break;
    case type::SRV: {
      SrvData srv;
      srv.priority = r.u16(section);
      srv.weight = r.u16(section);
      srv.port = r.u16(section);
      srv.target = r.name(section);
      rr.data = std::move(srv);
      break;
    }
    case type::SOA: {
      SoaData soa;
      soa.mname = r.name(section);
      soa.rname = r.name(section);
      soa.serial = r.u32(section);
      soa.refresh = r.u32(section);
      soa.retry = r.u32(section);
      soa.expire = r.u32(section);
      soa.minimum = r.u32(section);
      rr.data = std::move(soa);
      break;
    }
    default:
      rr.data = RawData{r.bytes(rdlength, section)};
      break;
  }
  if (r.offset() != end) {
    throw ParseError(std::string(section) + ": RDATA length does not match its contents");
  }
  return rr;
}

}  // namespace

Header parseHeader(std::span<const std::uint8_t> packet) {
  if (packet.size() < kHeaderSize) throw ParseError("header: message shorter than 12 octets");
  Reader r(packet);
  return readHeader(r);
}

Message parseMessage(std::span<const std::uint8_t> packet) {
  Reader r(packet);
  Message m;
  m.header = readHeader(r);
  const std::uint16_t qdcount = r.u16("header");
  const std::uint16_t ancount = r.u16("header");
  const std::uint16_t nscount = r.u16("header");
  const std::uint16_t arcount = r.u16("header");
  // Counts are only trusted as far as the packet holds records: each loop reads from it.
  for (std::uint16_t i = 0; i < qdcount; ++i) {
    Question q;
    q.name = r.name("question");
    q.type = r.u16("question");
    q.klass = r.u16("question");
    m.questions.push_back(std::move(q));
  }
  for (std::uint16_t i = 0; i < ancount; ++i) m.answers.push_back(readRecord(r, "answer"));
  for (std::uint16_t i = 0; i < nscount; ++i) m.authorities.push_back(readRecord(r, "authority"));
  for (std::uint16_t i = 0; i < arcount; ++i) m.additionals.push_back(readRecord(r, "additional"));
  if (r.remaining() != 0) throw ParseError("message: trailing octets after the last record");
  return m;
}

std::string lowerName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace kite::dns
