// The DNS wire codec: round trips of every record type, name compression, and malformed
// packets that must end in ParseError (never a crash, a loop or a read past the end).

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kite/dns/message.h"

namespace kite::dns {
namespace {

using Bytes = std::vector<std::uint8_t>;

Message sampleReply() {
  Message query;
  query.header.id = 0xBEEF;
  query.header.rd = true;
  query.questions.push_back({"web.default.svc.cluster.local", type::A, kClassIN});
  Message m = makeReply(query, Rcode::NoError);
  m.header.aa = true;
  m.answers.push_back(aRecord("web.default.svc.cluster.local", 5, "10.96.0.10"));
  m.answers.push_back(aaaaRecord("web.default.svc.cluster.local", 5, "fd00::a"));
  m.answers.push_back(nameRecord("ext.default.svc.cluster.local", type::CNAME, 5, "example.org"));
  m.answers.push_back(srvRecord(
      "_http._tcp.web.default.svc.cluster.local", 5,
      {.priority = 0, .weight = 100, .port = 80, .target = "web.default.svc.cluster.local"}));
  m.answers.push_back(
      nameRecord("10.0.96.10.in-addr.arpa", type::PTR, 5, "web.default.svc.cluster.local"));
  m.authorities.push_back(soaRecord("cluster.local", 5,
                                    {.mname = "ns.dns.cluster.local",
                                     .rname = "hostmaster.cluster.local",
                                     .serial = 1,
                                     .refresh = 7200,
                                     .retry = 1800,
                                     .expire = 86400,
                                     .minimum = 5}));
  m.additionals.push_back({"", type::OPT, 1232, 0, RawData{}});
  m.additionals.push_back({"x.example", 99, kClassIN, 7, RawData{{1, 2, 3}}});
  return m;
}

TEST(DnsMessage, RoundTripsEveryRecordType) {
  const Message m = sampleReply();
  const Bytes wire = writeMessage(m);
  EXPECT_EQ(parseMessage(wire), m);
  const Header h = parseHeader(wire);
  EXPECT_EQ(h.id, 0xBEEF);
  EXPECT_TRUE(h.qr);
  EXPECT_TRUE(h.aa);
  EXPECT_TRUE(h.rd);
  EXPECT_TRUE(h.ra);
}

TEST(DnsMessage, CompressesRepeatedNames) {
  Message m;
  m.questions.push_back({"web.default.svc.cluster.local", type::A, kClassIN});
  for (int i = 0; i < 10; ++i) {
    m.answers.push_back(aRecord("web.default.svc.cluster.local", 5, "10.0.0.1"));
  }
  const Bytes wire = writeMessage(m);
  // 12 header + 31+4 question + 10 * (2 pointer + 10 fixed + 4 address).
  EXPECT_EQ(wire.size(), 12U + 35U + 10U * 16U);
  EXPECT_EQ(parseMessage(wire), m);
}

TEST(DnsMessage, CompressionIsCaseInsensitiveAndSrvTargetsAreNotCompressed) {
  Message m;
  m.questions.push_back({"_http._tcp.web.default.svc.cluster.local", type::SRV, kClassIN});
  m.answers.push_back(srvRecord(
      "_http._tcp.web.default.svc.cluster.local", 5,
      {.priority = 0, .weight = 1, .port = 80, .target = "web.default.svc.cluster.local"}));
  const Bytes wire = writeMessage(m);
  // The target is written whole: its labels appear twice in the packet.
  const std::string text(wire.begin(), wire.end());
  EXPECT_NE(text.find("\003web\007default"), text.rfind("\003web\007default"));
  Message upper;
  upper.questions.push_back({"A.Example", type::A, kClassIN});
  upper.answers.push_back(aRecord("a.example", 5, "1.2.3.4"));
  EXPECT_EQ(writeMessage(upper).size(), 12U + 11U + 4U + 2U + 14U);
}

TEST(DnsMessage, WriterRefusesBadNames) {
  Message m;
  m.questions.push_back({std::string(64, 'a') + ".example", type::A, kClassIN});
  EXPECT_THROW(writeMessage(m), std::invalid_argument);
  m.questions = {{"a..example", type::A, kClassIN}};
  EXPECT_THROW(writeMessage(m), std::invalid_argument);
  std::string longName;
  for (int i = 0; i < 5; ++i) longName += std::string(60, 'x') + ".";
  longName += "example";
  m.questions = {{longName, type::A, kClassIN}};
  EXPECT_THROW(writeMessage(m), std::invalid_argument);
  EXPECT_THROW(aRecord("a", 5, "300.1.1.1"), std::invalid_argument);
  EXPECT_THROW(aaaaRecord("a", 5, "fd00::g"), std::invalid_argument);
}

Bytes header(std::uint16_t qd, std::uint16_t an = 0) {
  return {
      0x12, 0x34, 0x01, 0x00, 0, static_cast<std::uint8_t>(qd), 0, static_cast<std::uint8_t>(an),
      0,    0,    0,    0};
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void expectParseError(const Bytes& packet, const std::string& fragment) {
  try {
    parseMessage(packet);
    ADD_FAILURE() << "no error; wanted one mentioning " << fragment;
  } catch (const ParseError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(DnsMessage, MalformedPacketsAreRefused) {
  expectParseError({}, "message ends early");
  expectParseError({0x12, 0x34, 0x01}, "message ends early");
  EXPECT_THROW(parseHeader(Bytes{1, 2, 3}), ParseError);
  // Claims a question that is not there.
  expectParseError(header(1), "name runs past the end");
  // A label longer than what is left.
  expectParseError(concat(header(1), {5, 'a', 'b'}), "label runs past the end");
  // Name but no type and class.
  expectParseError(concat(header(1), {1, 'a', 0}), "message ends early");
  // A compression pointer to itself, and one pointing forwards: loops refused.
  expectParseError(concat(header(1), {0xC0, 12, 0, 1, 0, 1}), "does not point backwards");
  expectParseError(concat(header(1), {0xC0, 40, 0, 1, 0, 1}), "does not point backwards");
  // A pointer cut in half.
  expectParseError(concat(header(1), {0xC0}), "compression pointer runs past the end");
  // Reserved label types 0x40 and 0x80.
  expectParseError(concat(header(1), {0x40, 0, 0, 1, 0, 1}), "unknown label type");
  // A label holding a dot cannot be represented.
  expectParseError(concat(header(1), {3, 'a', '.', 'b', 0, 0, 1, 0, 1}), "holds a '.'");
  // Trailing garbage.
  expectParseError(concat(header(1), {1, 'a', 0, 0, 1, 0, 1, 9}), "trailing octets");
}

TEST(DnsMessage, OverlongNamesAreRefused) {
  // 128 labels of one octet: 257 octets on the wire.
  Bytes name;
  for (int i = 0; i < 128; ++i) {
    name.push_back(1);
    name.push_back('a');
  }
  name.push_back(0);
  expectParseError(concat(header(1), concat(name, {0, 1, 0, 1})), "longer than 255");
  // A chain of questions, each name one label plus a pointer to the previous name: every
  // pointer points backwards, yet the names grow until the 255-octet limit stops them.
  Bytes packet = concat(header(200), {1, 'a', 0, 0, 1, 0, 1});
  std::size_t previous = 12;
  for (int i = 0; i < 199; ++i) {
    const std::size_t here = packet.size();
    packet.insert(packet.end(), {1, 'b', static_cast<std::uint8_t>(0xC0 | (previous >> 8)),
                                 static_cast<std::uint8_t>(previous & 0xFF), 0, 1, 0, 1});
    previous = here;
  }
  expectParseError(packet, "longer than 255");
}

TEST(DnsMessage, MalformedRecordsAreRefused) {
  const Bytes question = {1, 'a', 0, 0, 1, 0, 1};
  // An A record whose RDATA is 3 octets.
  expectParseError(
      concat(header(1, 1), concat(question, {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 3, 1, 2, 3})),
      "bad address length");
  // RDLENGTH past the end.
  expectParseError(
      concat(header(1, 1), concat(question, {0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 5, 0, 9, 1})),
      "RDATA runs past the end");
  // A CNAME whose name ends before RDLENGTH says.
  expectParseError(concat(header(1, 1), concat(question, {0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 5, 0, 4,
                                                          0xC0, 12, 7, 7})),
                   "does not match");
  // An SRV cut inside its fixed fields.
  expectParseError(
      concat(header(1, 1), concat(question, {0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 5, 0, 3, 0, 1, 0})),
      "ends early");
}

TEST(DnsMessage, HugeCountsDoNotAllocateAhead) {
  Bytes packet = {0, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  expectParseError(packet, "name runs past the end");
}

}  // namespace
}  // namespace kite::dns
