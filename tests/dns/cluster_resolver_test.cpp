// The cluster zone's answers over fake records: A/AAAA, headless endpoints, ExternalName
// CNAMEs, SRV, pod names, PTR, and NXDOMAIN versus NODATA with the SOA.

#include "kite/dns/cluster_resolver.h"

#include <gtest/gtest.h>

#include "fake_records.h"

namespace kite::dns {
namespace {

class ClusterResolverTest : public ::testing::Test {
 protected:
  testing::FakeRecords records = testing::sampleRecords();
  ClusterResolver resolver{records, "cluster.local"};

  std::optional<ClusterAnswer> ask(const std::string& name, std::uint16_t qtype) {
    Message q;
    q.header.id = 7;
    q.header.rd = true;
    q.questions.push_back({name, qtype, kClassIN});
    return resolver.answer(q);
  }
  // The answer's records as "type data" texts.
  static std::vector<std::string> texts(const std::vector<ResourceRecord>& rrs) {
    std::vector<std::string> out;
    for (const auto& rr : rrs) {
      std::string t = std::to_string(rr.type) + " ";
      if (const auto* raw = std::get_if<RawData>(&rr.data)) {
        for (std::size_t i = 0; i < raw->bytes.size(); ++i) {
          t += (i ? "." : "") + std::to_string(raw->bytes[i]);
        }
      } else if (const auto* n = std::get_if<NameData>(&rr.data)) {
        t += n->name;
      } else if (const auto* srv = std::get_if<SrvData>(&rr.data)) {
        t += std::to_string(srv->port) + " " + srv->target + " w" + std::to_string(srv->weight);
      } else if (const auto* soa = std::get_if<SoaData>(&rr.data)) {
        t += soa->mname;
      }
      out.push_back(t);
    }
    return out;
  }
  static void expectNegative(const ClusterAnswer& a, Rcode rcode) {
    EXPECT_EQ(a.reply.header.rcode, static_cast<std::uint8_t>(rcode));
    EXPECT_TRUE(a.reply.answers.empty());
    ASSERT_EQ(a.reply.authorities.size(), 1U);
    EXPECT_EQ(a.reply.authorities[0].type, type::SOA);
    EXPECT_EQ(a.reply.authorities[0].name, "cluster.local");
    EXPECT_EQ(std::get<SoaData>(a.reply.authorities[0].data).minimum, 5U);
  }
};

TEST_F(ClusterResolverTest, ClusterIPServiceAnswersItsAddresses) {
  const auto a = ask("web.default.svc.cluster.local", type::A);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->reply.header.rcode, 0);
  EXPECT_TRUE(a->reply.header.aa);
  EXPECT_EQ(a->reply.header.id, 7);
  EXPECT_EQ(texts(a->reply.answers), std::vector<std::string>{"1 10.96.0.10"});
  EXPECT_EQ(a->reply.answers[0].ttl, 5U);
  const auto aaaa = ask("web.default.svc.cluster.local", type::AAAA);
  ASSERT_TRUE(aaaa);
  ASSERT_EQ(aaaa->reply.answers.size(), 1U);
  EXPECT_EQ(aaaa->reply.answers[0].type, type::AAAA);
}

TEST_F(ClusterResolverTest, NamesCompareCaseInsensitivelyAndAnswersKeepTheAskersCase) {
  const auto a = ask("WEB.Default.SVC.cluster.LOCAL", type::A);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->reply.answers.size(), 1U);
  EXPECT_EQ(a->reply.answers[0].name, "WEB.Default.SVC.cluster.LOCAL");
}

TEST_F(ClusterResolverTest, ExistingNameWithoutThatTypeIsNoData) {
  expectNegative(*ask("web.default.svc.cluster.local", type::TXT), Rcode::NoError);
  expectNegative(*ask("db.default.svc.cluster.local", type::TXT), Rcode::NoError);
  // Empty non-terminals exist too.
  expectNegative(*ask("default.svc.cluster.local", type::A), Rcode::NoError);
  expectNegative(*ask("svc.cluster.local", type::A), Rcode::NoError);
  expectNegative(*ask("_tcp.web.default.svc.cluster.local", type::A), Rcode::NoError);
  expectNegative(*ask("cluster.local", type::A), Rcode::NoError);
  EXPECT_EQ(texts(ask("cluster.local", type::SOA)->reply.answers),
            std::vector<std::string>{"6 ns.dns.cluster.local"});
}

TEST_F(ClusterResolverTest, MissingNamesAreNxDomain) {
  expectNegative(*ask("nope.default.svc.cluster.local", type::A), Rcode::NXDomain);
  expectNegative(*ask("web.other.svc.cluster.local", type::A), Rcode::NXDomain);
  expectNegative(*ask("other.svc.cluster.local", type::A), Rcode::NXDomain);
  expectNegative(*ask("x.web.default.svc.cluster.local", type::A), Rcode::NXDomain);
  expectNegative(*ask("_ftp._tcp.web.default.svc.cluster.local", type::SRV), Rcode::NXDomain);
  expectNegative(*ask("_dns._tcp.web.default.svc.cluster.local", type::SRV), Rcode::NXDomain);
  expectNegative(*ask("a.b.c.d.e.web.default.svc.cluster.local", type::A), Rcode::NXDomain);
  // The search path: "google.com.default.svc.cluster.local" must not exist.
  expectNegative(*ask("google.com.default.svc.cluster.local", type::A), Rcode::NXDomain);
  expectNegative(*ask("foo.cluster.local", type::A), Rcode::NXDomain);
  expectNegative(*ask("not-an-ip.default.pod.cluster.local", type::A), Rcode::NXDomain);
}

TEST_F(ClusterResolverTest, HeadlessServiceAnswersItsEndpoints) {
  const auto a = ask("db.default.svc.cluster.local", type::A);
  EXPECT_EQ(texts(a->reply.answers), (std::vector<std::string>{"1 10.244.0.5", "1 10.244.0.6"}));
  EXPECT_EQ(texts(ask("db-0.db.default.svc.cluster.local", type::A)->reply.answers),
            std::vector<std::string>{"1 10.244.0.5"});
  EXPECT_EQ(texts(ask("10-244-0-6.db.default.svc.cluster.local", type::A)->reply.answers),
            std::vector<std::string>{"1 10.244.0.6"});
  expectNegative(*ask("db-0.db.default.svc.cluster.local", type::AAAA), Rcode::NoError);
  // Endpoint names exist only under headless Services.
  expectNegative(*ask("db-0.web.default.svc.cluster.local", type::A), Rcode::NXDomain);
}

TEST_F(ClusterResolverTest, ExternalNameIsACnameToChase) {
  const auto a = ask("ext.default.svc.cluster.local", type::A);
  EXPECT_EQ(texts(a->reply.answers), std::vector<std::string>{"5 example.org"});
  EXPECT_EQ(a->chaseTarget, "example.org");
  const auto cname = ask("ext.default.svc.cluster.local", type::CNAME);
  EXPECT_EQ(texts(cname->reply.answers), std::vector<std::string>{"5 example.org"});
  EXPECT_FALSE(cname->chaseTarget);
}

TEST_F(ClusterResolverTest, SrvForNamedPorts) {
  const auto a = ask("_http._tcp.web.default.svc.cluster.local", type::SRV);
  EXPECT_EQ(texts(a->reply.answers),
            std::vector<std::string>{"33 80 web.default.svc.cluster.local w100"});
  EXPECT_EQ(texts(a->reply.additionals),
            (std::vector<std::string>{"1 10.96.0.10", "28 253.0.0.0.0.0.0.0.0.0.0.0.0.0.0.16"}));
  EXPECT_EQ(texts(ask("_dns._udp.web.default.svc.cluster.local", type::SRV)->reply.answers),
            std::vector<std::string>{"33 53 web.default.svc.cluster.local w100"});
  // Headless: one per endpoint, at the endpoint's port, named by hostname or dashed address.
  const auto h = ask("_pg._tcp.db.default.svc.cluster.local", type::SRV);
  EXPECT_EQ(texts(h->reply.answers),
            (std::vector<std::string>{"33 15432 db-0.db.default.svc.cluster.local w50",
                                      "33 15432 10-244-0-6.db.default.svc.cluster.local w50"}));
  EXPECT_EQ(h->reply.additionals.size(), 2U);
  expectNegative(*ask("_http._tcp.web.default.svc.cluster.local", type::A), Rcode::NoError);
}

TEST_F(ClusterResolverTest, PodNamesAnswerTheirAddress) {
  EXPECT_EQ(texts(ask("10-244-1-7.default.pod.cluster.local", type::A)->reply.answers),
            std::vector<std::string>{"1 10.244.1.7"});
  expectNegative(*ask("10-244-1-7.default.pod.cluster.local", type::AAAA), Rcode::NoError);
  EXPECT_EQ(ask("fd00--7.default.pod.cluster.local", type::AAAA)->reply.answers.size(), 1U);
}

TEST_F(ClusterResolverTest, PtrOfServiceAddresses) {
  const auto a = ask("10.0.96.10.in-addr.arpa", type::PTR);
  ASSERT_TRUE(a);
  EXPECT_EQ(texts(a->reply.answers), std::vector<std::string>{"12 web.default.svc.cluster.local"});
  // fd00::10 reversed: 0.1.0.0 ... 0.0.d.f
  const std::string v6 = "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa";
  EXPECT_EQ(texts(ask(v6, type::PTR).value().reply.answers),
            std::vector<std::string>{"12 web.default.svc.cluster.local"});
  // Unknown addresses and names outside the zone go upstream.
  EXPECT_FALSE(ask("1.1.1.1.in-addr.arpa", type::PTR));
  EXPECT_FALSE(ask("example.org", type::A));
  EXPECT_FALSE(ask("local", type::A));
  EXPECT_FALSE(ask("xcluster.local", type::A));
}

TEST(ClusterResolver, OtherDomainsAndTtl) {
  testing::FakeRecords records = testing::sampleRecords();
  ClusterResolver resolver(records, "Kite.Test.", 30);
  Message q;
  q.questions.push_back({"web.default.svc.kite.test", type::A, kClassIN});
  const auto a = resolver.answer(q);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->reply.answers.size(), 1U);
  EXPECT_EQ(a->reply.answers[0].ttl, 30U);
  q.questions = {{"web.default.svc.cluster.local", type::A, kClassIN}};
  EXPECT_FALSE(resolver.answer(q));
}

}  // namespace
}  // namespace kite::dns
