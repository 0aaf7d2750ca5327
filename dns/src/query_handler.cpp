// One query in, one reply out (see query_handler.h).

#include "kite/dns/query_handler.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <spdlog/spdlog.h>

namespace kite::dns {
namespace {

constexpr std::size_t kClassicUdpSize = 512;
constexpr std::size_t kMaxUdpSize = 4096;
constexpr std::uint16_t kOurUdpSize = 1232;  // the DNS flag day 2020 advice

ResourceRecord optRecord() { return {"", type::OPT, kOurUdpSize, 0, RawData{}}; }

// The reply as bytes, cut to its header and question (TC set) when longer than maxSize.
std::vector<std::uint8_t> fit(Message reply, std::size_t maxSize) {
  auto bytes = writeMessage(reply);
  if (bytes.size() <= maxSize) return bytes;
  reply.header.tc = true;
  reply.answers.clear();
  reply.authorities.clear();
  std::erase_if(reply.additionals, [](const ResourceRecord& rr) { return rr.type != type::OPT; });
  return writeMessage(reply);
}

}  // namespace

QueryHandler::QueryHandler(const ClusterResolver& resolver, const Forwarder& forwarder,
                           std::function<bool()> ready)
    : resolver_(resolver), forwarder_(forwarder), ready_(std::move(ready)) {}

std::optional<std::vector<std::uint8_t>> QueryHandler::handle(std::span<const std::uint8_t> packet,
                                                              bool overUdp) const {
  Header header;
  try {
    header = parseHeader(packet);
  } catch (const ParseError&) {
    return std::nullopt;  // no id to answer to
  }
  if (header.qr) return std::nullopt;  // a response: never answer those (reflection loops)

  Message query;
  try {
    query = parseMessage(packet);
  } catch (const ParseError& e) {
    spdlog::debug("dns: malformed query: {}", e.what());
    Message reply;
    reply.header = {.id = header.id,
                    .qr = true,
                    .opcode = header.opcode,
                    .rd = header.rd,
                    .ra = true,
                    .rcode = static_cast<std::uint8_t>(Rcode::FormErr)};
    return writeMessage(reply);
  }

  std::size_t maxSize = overUdp ? kClassicUdpSize : 0xFFFF;
  bool edns = false;
  for (const auto& rr : query.additionals) {
    if (rr.type != type::OPT) continue;
    edns = true;
    if (overUdp) maxSize = std::clamp<std::size_t>(rr.klass, kClassicUdpSize, kMaxUdpSize);
  }
  auto finish = [&](Message reply) {
    if (edns) reply.additionals.push_back(optRecord());
    return fit(std::move(reply), maxSize);
  };

  try {
    if (query.header.opcode != 0) return finish(makeReply(query, Rcode::NotImp));
    if (query.questions.size() != 1) return finish(makeReply(query, Rcode::FormErr));
    const Question& q = query.questions.front();
    if (resolver_.isClusterName(q.name) && !ready_()) {
      return finish(makeReply(query, Rcode::ServFail));
    }
    if (auto answer = resolver_.answer(query)) {
      if (answer->chaseTarget) chase(answer->reply, *answer->chaseTarget, q.type);
      return finish(std::move(answer->reply));
    }
    auto upstream = forwarder_.forward(packet);
    if (!upstream) return finish(makeReply(query, Rcode::ServFail));
    if (upstream->size() <= maxSize) return upstream;
    // Too long for the client's UDP size: it must ask again over TCP.
    Message cut = makeReply(query, static_cast<Rcode>(parseHeader(*upstream).rcode));
    cut.header.tc = true;
    return finish(std::move(cut));
  } catch (const std::exception& e) {
    spdlog::warn("dns: cannot answer {}: {}", query.questions.front().name, e.what());
    return finish(makeReply(query, Rcode::ServFail));
  }
}

void QueryHandler::chase(Message& reply, const std::string& target, std::uint16_t qtype) const {
  if (qtype != type::A && qtype != type::AAAA && qtype != type::ANY) return;
  Message sub;
  sub.header.rd = true;
  sub.questions.push_back({target, qtype, kClassIN});
  if (resolver_.isClusterName(target)) {
    // One step only: an ExternalName naming another ExternalName is not followed further.
    if (auto local = resolver_.answer(sub)) {
      for (auto& rr : local->reply.answers) reply.answers.push_back(std::move(rr));
    }
    return;
  }
  const auto upstream = forwarder_.forward(writeMessage(sub));
  if (!upstream) return;
  try {
    Message answer = parseMessage(*upstream);
    for (auto& rr : answer.answers) reply.answers.push_back(std::move(rr));
  } catch (const ParseError&) {
    // The CNAME alone is still a right answer.
  }
}

}  // namespace kite::dns
