#pragma once
// DNS messages in the RFC 1035 wire format: header, questions and resource records (A, AAAA,
// CNAME, NS, PTR, SOA and SRV understood; any other type kept as raw RDATA). The parser checks
// every length against the buffer, follows compression pointers only backwards and refuses
// names over 255 octets, so hostile packets end in ParseError, never a crash or a loop. The
// writer compresses owner names and the names inside NS, CNAME, PTR and SOA (RFC 3597 forbids
// it elsewhere, so SRV targets are written whole).
//
//   Message query = parseMessage(bytes);
//   Message reply = makeReply(query, Rcode::NoError);
//   reply.answers.push_back(aRecord("web.default.svc.cluster.local", 5, "10.96.0.10"));
//   std::vector<std::uint8_t> out = writeMessage(reply);

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kite::dns {

namespace type {
inline constexpr std::uint16_t A = 1;
inline constexpr std::uint16_t NS = 2;
inline constexpr std::uint16_t CNAME = 5;
inline constexpr std::uint16_t SOA = 6;
inline constexpr std::uint16_t PTR = 12;
inline constexpr std::uint16_t TXT = 16;
inline constexpr std::uint16_t AAAA = 28;
inline constexpr std::uint16_t SRV = 33;
inline constexpr std::uint16_t OPT = 41;
inline constexpr std::uint16_t ANY = 255;
}  // namespace type

inline constexpr std::uint16_t kClassIN = 1;

enum class Rcode : std::uint8_t {
  NoError = 0,
  FormErr = 1,
  ServFail = 2,
  NXDomain = 3,
  NotImp = 4,
  Refused = 5,
};

// A packet that is not a well-formed DNS message; what() says where it went wrong.
class ParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Header {
  std::uint16_t id = 0;
  bool qr = false;  // a response
  std::uint8_t opcode = 0;
  bool aa = false;  // authoritative answer
  bool tc = false;  // truncated
  bool rd = false;  // recursion desired
  bool ra = false;  // recursion available
  bool ad = false;
  bool cd = false;
  std::uint8_t rcode = 0;  // the low 4 bits (extended rcodes live in OPT)

  bool operator==(const Header&) const = default;
};

// Names are dotted, without the final dot ("" is the root), case kept as received. Labels
// holding a '.' cannot be told apart in this form, so the parser refuses them.
struct Question {
  std::string name;
  std::uint16_t type = 0;
  std::uint16_t klass = kClassIN;

  bool operator==(const Question&) const = default;
};

// RDATA of a type this codec does not interpret (also A and AAAA: 4 and 16 address octets).
struct RawData {
  std::vector<std::uint8_t> bytes;
  bool operator==(const RawData&) const = default;
};
// NS, CNAME, PTR: one domain name.
struct NameData {
  std::string name;
  bool operator==(const NameData&) const = default;
};
struct SrvData {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  std::string target;
  bool operator==(const SrvData&) const = default;
};
struct SoaData {
  std::string mname;
  std::string rname;
  std::uint32_t serial = 0;
  std::uint32_t refresh = 0;
  std::uint32_t retry = 0;
  std::uint32_t expire = 0;
  std::uint32_t minimum = 0;
  bool operator==(const SoaData&) const = default;
};

struct ResourceRecord {
  std::string name;
  std::uint16_t type = 0;
  std::uint16_t klass = kClassIN;  // for OPT: the sender's UDP payload size
  std::uint32_t ttl = 0;           // for OPT: extended rcode, version and flags
  std::variant<RawData, NameData, SrvData, SoaData> data;

  bool operator==(const ResourceRecord&) const = default;
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authorities;
  std::vector<ResourceRecord> additionals;

  bool operator==(const Message&) const = default;
};

// Throws ParseError.
Message parseMessage(std::span<const std::uint8_t> packet);
// Only the 12-octet header (for answers relayed from upstream). Throws ParseError.
Header parseHeader(std::span<const std::uint8_t> packet);
// Throws std::invalid_argument for a name that cannot be encoded (label over 63 octets, name
// over 255, empty label) or RDATA over 65535 octets.
std::vector<std::uint8_t> writeMessage(const Message& message);

// A response to query: same id, opcode, rd and question; qr and ra set.
Message makeReply(const Message& query, Rcode rcode);

// Record builders. The addresses are text ("10.0.0.1", "fd00::1"); std::invalid_argument when
// they do not parse.
ResourceRecord aRecord(std::string name, std::uint32_t ttl, std::string_view ipv4);
ResourceRecord aaaaRecord(std::string name, std::uint32_t ttl, std::string_view ipv6);
ResourceRecord nameRecord(std::string name, std::uint16_t type, std::uint32_t ttl,
                          std::string target);
ResourceRecord srvRecord(std::string name, std::uint32_t ttl, SrvData srv);
ResourceRecord soaRecord(std::string name, std::uint32_t ttl, SoaData soa);

// Lower case ASCII letters only (DNS names compare case-insensitively, RFC 4343).
std::string lowerName(std::string_view name);

}  // namespace kite::dns
