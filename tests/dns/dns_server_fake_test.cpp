// The DNS server over real loopback sockets with fake records and a fake upstream, asked with
// dig over UDP and TCP: cluster answers, forwarding with TCP fallback, ExternalName chasing,
// malformed packets, SERVFAIL without upstream, resolv.conf parsing.

#include <arpa/inet.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "dns_test_util.h"
#include "fake_records.h"
#include "kite/dns/dns_server.h"
#include "kite/dns/forwarder.h"

namespace kite::dns {
namespace {

using testing::dig;
using testing::digShort;

class DnsServerFakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server = std::make_unique<DnsServer>(
        records, DnsServerOptions{.bindAddress = "127.0.0.1",
                                  .port = 0,
                                  .upstreams = {upstream.address()},
                                  .upstreamTimeout = std::chrono::milliseconds(1500)});
    server->start();
    ASSERT_NE(server->port(), 0);
  }
  void TearDown() override { server->stop(); }

  // Sends raw bytes over UDP; the reply, empty when none came within a second.
  std::vector<std::uint8_t> sendRaw(const std::vector<std::uint8_t>& packet) const {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    std::vector<std::uint8_t> buf(65535);
    pollfd p{fd, POLLIN, 0};
    ssize_t n = 0;
    if (::poll(&p, 1, 1000) == 1) n = ::recv(fd, buf.data(), buf.size(), 0);
    ::close(fd);
    buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return buf;
  }

  testing::FakeRecords records = testing::sampleRecords();
  testing::FakeUpstream upstream;
  std::unique_ptr<DnsServer> server;
};

TEST_F(DnsServerFakeTest, AnswersClusterNamesOverUdpAndTcp) {
  const auto udp = dig(server->port(), "web.default.svc.cluster.local", "A");
  EXPECT_NE(udp.find("status: NOERROR"), std::string::npos) << udp;
  EXPECT_NE(udp.find("flags: qr aa rd ra"), std::string::npos) << udp;
  // TTL 5 as CoreDNS's kubernetes plugin.
  EXPECT_TRUE(
      std::regex_search(udp, std::regex(R"(cluster\.local\.\s+5\s+IN\s+A\s+10\.96\.0\.10)")))
      << udp;
  EXPECT_EQ(digShort(server->port(), "web.default.svc.cluster.local", "A", "+tcp"), "10.96.0.10\n");
  EXPECT_EQ(digShort(server->port(), "web.default.svc.cluster.local", "AAAA", "+notcp +noedns"),
            "fd00::10\n");
  EXPECT_EQ(digShort(server->port(), "_http._tcp.web.default.svc.cluster.local", "SRV"),
            "0 100 80 web.default.svc.cluster.local.\n");
}

TEST_F(DnsServerFakeTest, NxDomainAndNoDataCarryTheSoa) {
  const auto nx = dig(server->port(), "missing.default.svc.cluster.local", "A");
  EXPECT_NE(nx.find("status: NXDOMAIN"), std::string::npos) << nx;
  EXPECT_NE(nx.find("AUTHORITY: 1"), std::string::npos) << nx;
  EXPECT_NE(nx.find("IN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local."), std::string::npos)
      << nx;
  const auto nodata = dig(server->port(), "web.default.svc.cluster.local", "TXT", "+tcp");
  EXPECT_NE(nodata.find("status: NOERROR"), std::string::npos) << nodata;
  EXPECT_NE(nodata.find("ANSWER: 0, AUTHORITY: 1"), std::string::npos) << nodata;
}

TEST_F(DnsServerFakeTest, ForwardsOtherNamesWithTcpFallback) {
  EXPECT_EQ(digShort(server->port(), "example.org", "A"), "192.0.2.1\n");
  EXPECT_GE(upstream.udpQueries(), 1);
  // 100 records do not fit 512 octets: the upstream truncates, the server asks again over
  // TCP; the client (no EDNS, UDP) gets TC and asks the server over TCP in turn.
  const auto big = digShort(server->port(), "big.example", "A", "+noedns");
  EXPECT_EQ(std::count(big.begin(), big.end(), '\n'), 100) << big;
  EXPECT_GE(upstream.tcpQueries(), 1);
  const auto bigTcp = digShort(server->port(), "big.example", "A", "+tcp");
  EXPECT_EQ(std::count(bigTcp.begin(), bigTcp.end(), '\n'), 100);
}

TEST_F(DnsServerFakeTest, LongClusterAnswersAreTruncatedOverUdp) {
  ServiceRecord many{.name = "many",
                     .namespace_ = "default",
                     .type = "ClusterIP",
                     .clusterIPs = {},
                     .headless = true,
                     .externalName = "",
                     .ports = {}};
  records.services.push_back(many);
  for (int i = 1; i <= 60; ++i) {
    records.endpointsByService["default/many"].push_back({"10.244.1." + std::to_string(i), "", {}});
  }
  // 60 answers need 16 octets each after the question: over 512, so TC without EDNS...
  const auto cut = dig(server->port(), "many.default.svc.cluster.local", "A", "+noedns +ignore");
  EXPECT_NE(cut.find("flags: qr aa tc rd ra"), std::string::npos) << cut;
  EXPECT_NE(cut.find("ANSWER: 0"), std::string::npos) << cut;
  // ...and whole with an EDNS size of 1232 or over TCP (dig retries there by itself).
  const auto edns = digShort(server->port(), "many.default.svc.cluster.local", "A", "+ignore");
  EXPECT_EQ(std::count(edns.begin(), edns.end(), '\n'), 60);
  const auto retried = digShort(server->port(), "many.default.svc.cluster.local", "A", "+noedns");
  EXPECT_EQ(std::count(retried.begin(), retried.end(), '\n'), 60);
}

TEST_F(DnsServerFakeTest, SeveralQueriesOnOneTcpConnection) {
  const auto out = dig(server->port(), "web.default.svc.cluster.local", "A",
                       "+tcp +keepopen +short db.default.svc.cluster.local A");
  // dig prints the answers as they come; the order is its own business.
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"10.244.0.5", "10.244.0.6", "10.96.0.10"})) << out;
}

TEST_F(DnsServerFakeTest, ExternalNameIsChasedUpstream) {
  EXPECT_EQ(digShort(server->port(), "ext.default.svc.cluster.local", "A"),
            "example.org.\n192.0.2.1\n");
}

TEST_F(DnsServerFakeTest, MalformedPacketsGetFormErrOrNothingAndTheServerGoesOn) {
  EXPECT_TRUE(sendRaw({1, 2, 3}).empty());
  // A header claiming one question that is not there: FORMERR with the same id.
  const auto reply = sendRaw({0xAB, 0xCD, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0});
  ASSERT_GE(reply.size(), 12U);
  const Header h = parseHeader(reply);
  EXPECT_EQ(h.id, 0xABCD);
  EXPECT_TRUE(h.qr);
  EXPECT_EQ(h.rcode, static_cast<std::uint8_t>(Rcode::FormErr));
  // A response is never answered (no reflection loops).
  EXPECT_TRUE(sendRaw({0xAB, 0xCD, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0}).empty());
  // Two questions: FORMERR. An unknown opcode (STATUS): NOTIMP.
  Message two;
  two.questions = {{"a.example", type::A, kClassIN}, {"b.example", type::A, kClassIN}};
  EXPECT_EQ(parseHeader(sendRaw(writeMessage(two))).rcode,
            static_cast<std::uint8_t>(Rcode::FormErr));
  Message status;
  status.header.opcode = 2;
  status.questions = {{"a.example", type::A, kClassIN}};
  EXPECT_EQ(parseHeader(sendRaw(writeMessage(status))).rcode,
            static_cast<std::uint8_t>(Rcode::NotImp));
  EXPECT_EQ(digShort(server->port(), "web.default.svc.cluster.local", "A"), "10.96.0.10\n");
}

TEST(DnsServer, ServFailWithoutAnUpstreamAndBadOptions) {
  testing::FakeRecords records = testing::sampleRecords();
  // Port 1 on loopback: nobody listens, the upstream refuses at once.
  DnsServer server(records, {.bindAddress = "127.0.0.1", .port = 0, .upstreams = {"127.0.0.1:1"}});
  server.start();
  const auto out = dig(server.port(), "example.org", "A");
  EXPECT_NE(out.find("status: SERVFAIL"), std::string::npos) << out;
  server.stop();
  server.stop();  // idempotent
  DnsServer bad(records, {.bindAddress = "not-an-ip", .port = 0, .upstreams = {"127.0.0.1:1"}});
  EXPECT_THROW(bad.start(), std::invalid_argument);
  DnsServer badUpstream(records, {.bindAddress = "127.0.0.1", .port = 0, .upstreams = {"x:1"}});
  EXPECT_THROW(badUpstream.start(), std::invalid_argument);
}

TEST(DnsServer, ResolvConfLeavesLoopbackOut) {
  char dir[] = "/tmp/kite-dns-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/resolv.conf";
  std::ofstream(path) << "# comment\nsearch example\nnameserver 127.0.0.53\nnameserver ::1\n"
                         "nameserver 192.0.2.53\nnameserver fd00::53\nnameserver bogus\n"
                         "options ndots:5\n";
  EXPECT_EQ(readResolvConf(path), (std::vector<std::string>{"192.0.2.53", "[fd00::53]"}));
  EXPECT_TRUE(readResolvConf(std::string(dir) + "/missing").empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kite::dns
