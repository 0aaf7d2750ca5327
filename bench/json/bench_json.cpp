// Compares RapidJSON, simdjson (DOM and On-Demand) and nlohmann-json on
// Kubernetes objects. See README.md for the cases and results.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace rj = rapidjson;
namespace sj = simdjson;
namespace od = simdjson::ondemand;

constexpr int kListSize = 1000;
constexpr std::string_view kNewRv = "48213378";
constexpr std::string_view kNewLabelKey = "kite.io/observed";
constexpr std::string_view kNewLabelValue = "true";
// The same edits as raw JSON, for the splicing variant.
constexpr std::string_view kNewRvJson = R"("48213378")";
constexpr std::string_view kNewLabelMember = R"("kite.io/observed":"true",)";

// ---------------------------------------------------------------- inputs

struct Input {
  std::string json;          // minified, as the API server writes it
  sj::padded_string padded;  // same bytes plus simdjson's padding
  explicit Input(std::string s) : json(std::move(s)), padded(json) {}
};

std::string read_testdata(const char* name) {
  std::ifstream f(std::string(KITE_BENCH_JSON_TESTDATA) + "/" + name, std::ios::binary);
  if (!f) throw std::runtime_error(std::string("cannot open testdata/") + name);
  std::ostringstream ss;
  ss << f.rdbuf();
  std::string raw = ss.str(), out(raw.size(), '\0');
  size_t n = 0;
  if (sj::minify(raw.data(), raw.size(), out.data(), n) != sj::SUCCESS)
    throw std::runtime_error(std::string("invalid JSON in testdata/") + name);
  out.resize(n);
  return out;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

// Pod #i: distinct name, uid, resourceVersion and pod IP.
std::string make_pod(const std::string& tmpl, int i) {
  static constexpr char kAlnum[] = "0123456789bcdfghjklmnpqrstvwxz";  // like k8s rand.String
  std::string suffix;
  for (int v = i, k = 0; k < 5; ++k, v /= 30) suffix += kAlnum[v % 30];
  char uid[13], ip[24];
  std::snprintf(uid, sizeof uid, "%012lx", 0x5a7b2d000000L + i);
  std::snprintf(ip, sizeof ip, "10.244.%d.%d", i / 250, i % 250 + 2);
  std::string pod = tmpl;
  replace_all(pod, "web-frontend-7d9f8b6c5d-x2k4p", "web-frontend-7d9f8b6c5d-" + suffix);
  replace_all(pod, "5a7b2d4e6f80", uid);
  replace_all(pod, "\"48213377\"", "\"" + std::to_string(48213377 + i) + "\"");
  replace_all(pod, "10.244.3.17", ip);
  return pod;
}

struct Corpus {
  Input pod, status, list;
  std::vector<Input> pods;  // kListSize distinct pods, for the memory case
};
const Corpus* g_corpus = nullptr;

Corpus load_corpus() {
  std::string pod = read_testdata("pod.json");
  std::string status = read_testdata("status.json");
  std::vector<Input> pods;
  std::string list =
      R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"48214377"},"items":[)";
  for (int i = 0; i < kListSize; ++i) {
    pods.emplace_back(make_pod(pod, i));
    std::string item = pods.back().json;  // list items carry no kind/apiVersion
    replace_all(item, R"("kind":"Pod","apiVersion":"v1",)", "");
    list += (i ? "," : "") + item;
  }
  list += "]}";
  return Corpus{Input(std::move(pod)), Input(std::move(status)), Input(std::move(list)),
                std::move(pods)};
}

// What a controller typically pulls out of a Pod.
struct PodSummary {
  std::string_view name, ns, rv, node;
  std::vector<std::pair<std::string_view, std::string_view>> labels;
  std::vector<std::string_view> images;
  void clear() {
    name = ns = rv = node = {};
    labels.clear();
    images.clear();
  }
  bool operator==(const PodSummary&) const = default;
};

size_t heap_in_use() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;  // small-chunk bytes in use + mmap'd chunks
}

// ------------------------------------------------------------- RapidJSON

namespace rapid {
using Doc = rj::Document;

void parse(Doc& d, std::string_view s) {
  d.Parse(s.data(), s.size());
  if (d.HasParseError()) throw std::runtime_error("rapidjson: parse error");
}
const rj::Value* member(const rj::Value* o, const char* key) {
  if (!o || !o->IsObject()) return nullptr;
  auto it = o->FindMember(key);
  return it == o->MemberEnd() ? nullptr : &it->value;
}
std::string_view str(const rj::Value* v) {
  return v && v->IsString() ? std::string_view(v->GetString(), v->GetStringLength())
                            : std::string_view{};
}
void read(const rj::Value& pod, PodSummary& out) {
  const rj::Value* md = member(&pod, "metadata");
  out.name = str(member(md, "name"));
  out.ns = str(member(md, "namespace"));
  out.rv = str(member(md, "resourceVersion"));
  if (const rj::Value* l = member(md, "labels"); l && l->IsObject())
    for (const auto& m : l->GetObject()) out.labels.emplace_back(str(&m.name), str(&m.value));
  const rj::Value* spec = member(&pod, "spec");
  out.node = str(member(spec, "nodeName"));
  if (const rj::Value* cs = member(spec, "containers"); cs && cs->IsArray())
    for (const auto& c : cs->GetArray()) out.images.push_back(str(member(&c, "image")));
}
std::string serialize(const rj::Value& v) {
  rj::StringBuffer buf;
  rj::Writer<rj::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}
// Mutable lookup via the const one: RapidJSON 1.1's mutable member iterators
// trip clang's C++20 -Wambiguous-reversed-operator when compared.
rj::Value* member(rj::Value* o, const char* key) {
  return const_cast<rj::Value*>(member(static_cast<const rj::Value*>(o), key));
}
rj::Value& object_member(rj::Value& o, const char* key, Doc::AllocatorType& a) {
  if (rj::Value* v = member(&o, key)) return *v;
  o.AddMember(rj::StringRef(key), rj::Value(rj::kObjectType), a);
  return (o.MemberEnd() - 1)->value;
}
void mutate(Doc& d) {
  auto& a = d.GetAllocator();
  rj::Value& md = object_member(d, "metadata", a);
  rj::Value rv(kNewRv.data(), rj::SizeType(kNewRv.size()), a);
  if (rj::Value* old = member(&md, "resourceVersion"))
    *old = rv;
  else
    md.AddMember("resourceVersion", rv, a);
  object_member(md, "labels", a)
      .AddMember(rj::Value(kNewLabelKey.data(), rj::SizeType(kNewLabelKey.size()), a),
                 rj::Value(kNewLabelValue.data(), rj::SizeType(kNewLabelValue.size()), a), a);
}
}  // namespace rapid

// ------------------------------------------------------------ simdjson DOM

namespace sjdom {
template <class T>  // dom::element or simdjson_result<dom::element>
std::string_view str(T&& r) {
  std::string_view s;
  return std::forward<T>(r).get(s) == sj::SUCCESS ? s : std::string_view{};
}
sj::dom::element parse(sj::dom::parser& p, const sj::padded_string& s) {
  sj::dom::element e;
  if (p.parse(s).get(e) != sj::SUCCESS) throw std::runtime_error("simdjson: parse error");
  return e;
}
void read(sj::dom::element pod, PodSummary& out) {
  sj::dom::object md, labels, spec;
  sj::dom::array cs;
  if (pod["metadata"].get(md) == sj::SUCCESS) {
    out.name = str(md["name"]);
    out.ns = str(md["namespace"]);
    out.rv = str(md["resourceVersion"]);
    if (md["labels"].get(labels) == sj::SUCCESS)
      for (auto kv : labels) out.labels.emplace_back(kv.key, str(kv.value));
  }
  if (pod["spec"].get(spec) == sj::SUCCESS) {
    out.node = str(spec["nodeName"]);
    if (spec["containers"].get(cs) == sj::SUCCESS)
      for (sj::dom::element c : cs) out.images.push_back(str(c["image"]));
  }
}
}  // namespace sjdom

// ------------------------------------------------------- simdjson On-Demand
// Uses simdjson's exception API (errors throw simdjson_error).

namespace sjod {
// Single forward pass; fields are matched in whatever order they appear.
void read(od::parser& p, const sj::padded_string& s, PodSummary& out) {
  od::document doc = p.iterate(s);
  for (od::field f : doc.get_object()) {
    if (f.key() == "metadata") {
      for (od::field m : f.value().get_object()) {
        od::raw_json_string k = m.key();
        if (k == "name")
          out.name = m.value().get_string();
        else if (k == "namespace")
          out.ns = m.value().get_string();
        else if (k == "resourceVersion")
          out.rv = m.value().get_string();
        else if (k == "labels")
          for (od::field l : m.value().get_object()) {
            std::string_view key = l.unescaped_key();
            out.labels.emplace_back(key, std::string_view(l.value().get_string()));
          }
      }
    } else if (f.key() == "spec") {
      for (od::field m : f.value().get_object()) {
        if (m.key() == "nodeName") {
          out.node = m.value().get_string();
        } else if (m.key() == "containers") {
          for (od::object c : m.value().get_array())
            for (od::field cf : c)
              if (cf.key() == "image") out.images.push_back(cf.value().get_string());
        }
      }
    }
  }
}

// Walks every item of a list (touching each item's metadata.name), which is
// the On-Demand equivalent of "parse the whole list".
size_t walk_list(od::parser& p, const sj::padded_string& s) {
  size_t n = 0;
  od::document doc = p.iterate(s);
  for (od::field f : doc.get_object()) {
    if (f.key() != "items") continue;
    for (od::object item : f.value().get_array()) {
      for (od::field m : item) {
        if (m.key() != "metadata") continue;
        for (od::field mf : m.value().get_object())
          if (mf.key() == "name") n += std::string_view(mf.value().get_string()).size();
      }
    }
  }
  return n;
}

// Mutation without a DOM: locate metadata.resourceVersion and metadata.labels
// in the input and splice the new bytes in; everything else is copied verbatim.
// Only what is visited is validated (the rest of the object is trusted).
std::string splice_mutate(od::parser& p, const sj::padded_string& s) {
  struct Edit {
    size_t off, len;
    std::string_view text;
  };
  std::array<Edit, 2> edits{};
  int found = 0;
  const char* base = s.data();
  od::document doc = p.iterate(s);
  for (od::field f : doc.get_object()) {
    if (f.key() != "metadata") continue;
    for (od::field m : f.value().get_object()) {
      if (m.key() == "resourceVersion") {
        std::string_view tok = m.value().raw_json_token();  // "..." incl. quotes
        tok = tok.substr(0, tok.find_last_of('"') + 1);     // drop trailing whitespace
        edits[found++] = {size_t(tok.data() - base), tok.size(), kNewRvJson};
      } else if (m.key() == "labels") {
        od::object labels = m.value().get_object();
        std::string_view raw = labels.raw_json();
        bool empty = raw.find_first_not_of(" \t\r\n", 1) == raw.find('}');
        edits[found++] = {
            size_t(raw.data() - base) + 1, 0,  // right after '{'
            empty ? kNewLabelMember.substr(0, kNewLabelMember.size() - 1) : kNewLabelMember};
      }
      if (found == 2) break;
    }
    break;
  }
  if (found != 2) throw std::runtime_error("splice: metadata.resourceVersion/labels missing");
  if (edits[1].off < edits[0].off) std::swap(edits[0], edits[1]);
  std::string_view in(s.data(), s.size());
  std::string out;
  out.reserve(in.size() + 64);
  size_t pos = 0;
  for (const Edit& e : edits) {
    out.append(in.substr(pos, e.off - pos)).append(e.text);
    pos = e.off + e.len;
  }
  out.append(in.substr(pos));
  return out;
}
}  // namespace sjod

// ----------------------------------------------------------- nlohmann-json
// Templated over nlohmann::json (std::map objects, keys re-sorted on output)
// and nlohmann::ordered_json (insertion order kept).

namespace nl {
template <class J>
std::string_view str(const J& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string()
             ? std::string_view(it->template get_ref<const std::string&>())
             : std::string_view{};
}
template <class J>
void read(const J& pod, PodSummary& out) {
  static const J kEmpty = J::object();
  auto md_it = pod.find("metadata");
  const J& md = md_it != pod.end() ? *md_it : kEmpty;
  out.name = str(md, "name");
  out.ns = str(md, "namespace");
  out.rv = str(md, "resourceVersion");
  if (auto l = md.find("labels"); l != md.end() && l->is_object())
    for (const auto& [k, v] : l->items())
      out.labels.emplace_back(k, v.is_string()
                                     ? std::string_view(v.template get_ref<const std::string&>())
                                     : std::string_view{});
  auto spec_it = pod.find("spec");
  const J& spec = spec_it != pod.end() ? *spec_it : kEmpty;
  out.node = str(spec, "nodeName");
  if (auto cs = spec.find("containers"); cs != spec.end() && cs->is_array())
    for (const J& c : *cs) out.images.push_back(str(c, "image"));
}
template <class J>
void mutate(J& pod) {
  J& md = pod["metadata"];
  md["resourceVersion"] = kNewRv;
  md["labels"][std::string(kNewLabelKey)] = kNewLabelValue;
}
}  // namespace nl

// -------------------------------------------------------- library policies
// parse() yields a DOM (owned, or a view into the policy's reused parser);
// read/serialize/mutate act on it; hold() parses every Pod into its own DOM.

struct RapidJson {
  rapid::Doc parse(const Input& in) {
    rapid::Doc d;
    rapid::parse(d, in.json);
    return d;
  }
  void read(const rapid::Doc& d, PodSummary& s) { rapid::read(d, s); }
  std::string serialize(const rapid::Doc& d) { return rapid::serialize(d); }
  void mutate(rapid::Doc& d) { rapid::mutate(d); }
  static std::vector<rapid::Doc> hold(const std::vector<Input>& pods) {
    std::vector<rapid::Doc> docs(pods.size());
    for (size_t i = 0; i < pods.size(); ++i) rapid::parse(docs[i], pods[i].json);
    return docs;
  }
};

// RapidJSON's pool allocator starts with a 64 KiB chunk per document; here
// each document gets a pool sized to its input instead (a Pod needs ~2x).
struct RapidJsonSizedPool {
  struct SizedDoc {
    rj::MemoryPoolAllocator<> pool;
    rapid::Doc doc;
    explicit SizedDoc(size_t chunk) : pool(chunk), doc(&pool) {}
  };
  static std::vector<std::unique_ptr<SizedDoc>> hold(const std::vector<Input>& pods) {
    std::vector<std::unique_ptr<SizedDoc>> docs;
    docs.reserve(pods.size());
    for (const Input& in : pods) {
      docs.push_back(std::make_unique<SizedDoc>(2 * in.json.size() + 1024));
      rapid::parse(docs.back()->doc, in.json);
    }
    return docs;
  }
};

// No mutate(): simdjson's DOM is read-only. It can be serialized, though.
struct SimdjsonDom {
  sj::dom::parser parser;  // reused across documents, as simdjson intends
  sj::dom::element parse(const Input& in) { return sjdom::parse(parser, in.padded); }
  void read(sj::dom::element e, PodSummary& s) { sjdom::read(e, s); }
  std::string serialize(sj::dom::element e) { return sj::minify(e); }
  static std::vector<sj::dom::document> hold(const std::vector<Input>& pods) {
    std::vector<sj::dom::document> docs(pods.size());
    sj::dom::parser p;  // only scratch space: each document owns its tape and strings
    for (size_t i = 0; i < pods.size(); ++i)
      if (p.parse_into_document(docs[i], pods[i].padded).error())
        throw std::runtime_error("simdjson: parse error");
    return docs;
  }
};

// On-Demand has no DOM: holding an object means holding its (padded) bytes.
struct SimdjsonRawBytes {
  static std::vector<sj::padded_string> hold(const std::vector<Input>& pods) {
    std::vector<sj::padded_string> raw;
    raw.reserve(pods.size());
    for (const Input& in : pods) raw.emplace_back(in.json);
    return raw;
  }
};

template <class J>
struct Nlohmann {
  J parse(const Input& in) { return J::parse(in.json); }
  void read(const J& j, PodSummary& s) { nl::read(j, s); }
  std::string serialize(const J& j) { return j.dump(); }
  void mutate(J& j) { nl::mutate(j); }
  static std::vector<J> hold(const std::vector<Input>& pods) {
    std::vector<J> docs;
    docs.reserve(pods.size());
    for (const Input& in : pods) docs.push_back(J::parse(in.json));
    return docs;
  }
};
using NlohmannJson = Nlohmann<nlohmann::json>;
using NlohmannOrdered = Nlohmann<nlohmann::ordered_json>;

// -------------------------------------------------------------- benchmarks

using benchmark::DoNotOptimize;
using benchmark::State;

void set_bytes(State& st, size_t n) {
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * static_cast<int64_t>(n));
}

// (1) parse into a DOM
template <class L, Input Corpus::*Which>
void bm_parse(State& st) {
  const Input& in = g_corpus->*Which;
  L lib;
  for ([[maybe_unused]] auto _ : st) {
    auto dom = lib.parse(in);
    DoNotOptimize(dom);
  }
  set_bytes(st, in.json.size());
}

// (2) parse + read name, namespace, resourceVersion, nodeName, labels, images
template <class L>
void bm_parse_read(State& st) {
  L lib;
  PodSummary s;
  for ([[maybe_unused]] auto _ : st) {
    s.clear();
    auto dom = lib.parse(g_corpus->pod);
    lib.read(dom, s);
    DoNotOptimize(s);
  }
  set_bytes(st, g_corpus->pod.json.size());
}

void bm_ondemand_parse_read(State& st) {
  od::parser p;
  PodSummary s;
  for ([[maybe_unused]] auto _ : st) {
    s.clear();
    sjod::read(p, g_corpus->pod.padded, s);
    DoNotOptimize(s);
  }
  set_bytes(st, g_corpus->pod.json.size());
}

// (3) serialize an already parsed DOM
template <class L, Input Corpus::*Which>
void bm_serialize(State& st) {
  const Input& in = g_corpus->*Which;
  L lib;
  auto dom = lib.parse(in);
  for ([[maybe_unused]] auto _ : st) DoNotOptimize(lib.serialize(dom));
  set_bytes(st, in.json.size());
}

// (4) set metadata.resourceVersion, add a label, serialize. The DOM is parsed
// inside the loop too (each iteration needs a pristine object), so this is the
// full read-modify-write path of an update.
template <class L>
void bm_parse_mutate_serialize(State& st) {
  L lib;
  for ([[maybe_unused]] auto _ : st) {
    auto dom = lib.parse(g_corpus->pod);
    lib.mutate(dom);
    DoNotOptimize(lib.serialize(dom));
  }
  set_bytes(st, g_corpus->pod.json.size());
}

void bm_ondemand_splice(State& st) {
  od::parser p;
  for ([[maybe_unused]] auto _ : st) DoNotOptimize(sjod::splice_mutate(p, g_corpus->pod.padded));
  set_bytes(st, g_corpus->pod.json.size());
}

// (5) parse a PodList of kListSize Pods
template <class L>
void bm_parse_list(State& st) {
  L lib;
  for ([[maybe_unused]] auto _ : st) {
    auto dom = lib.parse(g_corpus->list);
    DoNotOptimize(dom);
  }
  set_bytes(st, g_corpus->list.json.size());
}

void bm_ondemand_walk_list(State& st) {
  od::parser p;
  for ([[maybe_unused]] auto _ : st) DoNotOptimize(sjod::walk_list(p, g_corpus->list.padded));
  set_bytes(st, g_corpus->list.json.size());
}

// (6) heap held by kListSize Pods, each parsed into its own DOM
template <class L>
void bm_hold(State& st) {
  for ([[maybe_unused]] auto _ : st) {
    size_t before = heap_in_use();
    auto held = L::hold(g_corpus->pods);
    auto bytes = static_cast<double>(heap_in_use() - before);
    DoNotOptimize(held);
    st.counters["heap_bytes"] = bytes;
    st.counters["bytes_per_pod"] = bytes / kListSize;
  }
}

// Names are case/input/library; unsupported pairs are simply absent.
constexpr auto kMs = benchmark::kMillisecond;
BENCHMARK(bm_parse<RapidJson, &Corpus::pod>)->Name("1_parse/pod/rapidjson");
BENCHMARK(bm_parse<SimdjsonDom, &Corpus::pod>)->Name("1_parse/pod/simdjson_dom");
BENCHMARK(bm_parse<NlohmannJson, &Corpus::pod>)->Name("1_parse/pod/nlohmann");
BENCHMARK(bm_parse<NlohmannOrdered, &Corpus::pod>)->Name("1_parse/pod/nlohmann_ordered");
BENCHMARK(bm_parse<RapidJson, &Corpus::status>)->Name("1_parse/status/rapidjson");
BENCHMARK(bm_parse<SimdjsonDom, &Corpus::status>)->Name("1_parse/status/simdjson_dom");
BENCHMARK(bm_parse<NlohmannJson, &Corpus::status>)->Name("1_parse/status/nlohmann");
BENCHMARK(bm_parse<NlohmannOrdered, &Corpus::status>)->Name("1_parse/status/nlohmann_ordered");

BENCHMARK(bm_parse_read<RapidJson>)->Name("2_parse_read/pod/rapidjson");
BENCHMARK(bm_parse_read<SimdjsonDom>)->Name("2_parse_read/pod/simdjson_dom");
BENCHMARK(bm_ondemand_parse_read)->Name("2_parse_read/pod/simdjson_ondemand");
BENCHMARK(bm_parse_read<NlohmannJson>)->Name("2_parse_read/pod/nlohmann");
BENCHMARK(bm_parse_read<NlohmannOrdered>)->Name("2_parse_read/pod/nlohmann_ordered");

BENCHMARK(bm_serialize<RapidJson, &Corpus::pod>)->Name("3_serialize/pod/rapidjson");
BENCHMARK(bm_serialize<SimdjsonDom, &Corpus::pod>)->Name("3_serialize/pod/simdjson_dom");
BENCHMARK(bm_serialize<NlohmannJson, &Corpus::pod>)->Name("3_serialize/pod/nlohmann");
BENCHMARK(bm_serialize<NlohmannOrdered, &Corpus::pod>)->Name("3_serialize/pod/nlohmann_ordered");
BENCHMARK(bm_serialize<RapidJson, &Corpus::status>)->Name("3_serialize/status/rapidjson");
BENCHMARK(bm_serialize<SimdjsonDom, &Corpus::status>)->Name("3_serialize/status/simdjson_dom");
BENCHMARK(bm_serialize<NlohmannJson, &Corpus::status>)->Name("3_serialize/status/nlohmann");
BENCHMARK(bm_serialize<NlohmannOrdered, &Corpus::status>)
    ->Name("3_serialize/status/nlohmann_ordered");

BENCHMARK(bm_parse_mutate_serialize<RapidJson>)->Name("4_parse_mutate_serialize/pod/rapidjson");
BENCHMARK(bm_ondemand_splice)->Name("4_parse_mutate_serialize/pod/simdjson_ondemand_splice");
BENCHMARK(bm_parse_mutate_serialize<NlohmannJson>)->Name("4_parse_mutate_serialize/pod/nlohmann");
BENCHMARK(bm_parse_mutate_serialize<NlohmannOrdered>)
    ->Name("4_parse_mutate_serialize/pod/nlohmann_ordered");

BENCHMARK(bm_parse_list<RapidJson>)->Name("5_parse_list/1000_pods/rapidjson")->Unit(kMs);
BENCHMARK(bm_parse_list<SimdjsonDom>)->Name("5_parse_list/1000_pods/simdjson_dom")->Unit(kMs);
BENCHMARK(bm_ondemand_walk_list)->Name("5_parse_list/1000_pods/simdjson_ondemand_walk")->Unit(kMs);
BENCHMARK(bm_parse_list<NlohmannJson>)->Name("5_parse_list/1000_pods/nlohmann")->Unit(kMs);
BENCHMARK(bm_parse_list<NlohmannOrdered>)
    ->Name("5_parse_list/1000_pods/nlohmann_ordered")
    ->Unit(kMs);

BENCHMARK(bm_hold<RapidJson>)->Name("6_hold_1000_pods/rapidjson")->Unit(kMs);
BENCHMARK(bm_hold<RapidJsonSizedPool>)->Name("6_hold_1000_pods/rapidjson_sized_pool")->Unit(kMs);
BENCHMARK(bm_hold<SimdjsonDom>)->Name("6_hold_1000_pods/simdjson_dom")->Unit(kMs);
BENCHMARK(bm_hold<SimdjsonRawBytes>)->Name("6_hold_1000_pods/simdjson_raw_bytes")->Unit(kMs);
BENCHMARK(bm_hold<NlohmannJson>)->Name("6_hold_1000_pods/nlohmann")->Unit(kMs);
BENCHMARK(bm_hold<NlohmannOrdered>)->Name("6_hold_1000_pods/nlohmann_ordered")->Unit(kMs);

// Cross-checks the libraries against each other before measuring anything.
void self_check() {
  const Corpus& c = *g_corpus;
  auto fail = [](const char* what) {
    throw std::runtime_error(std::string("self-check: ") + what);
  };

  PodSummary expect, got;
  rapid::Doc d;
  rapid::parse(d, c.pod.json);
  rapid::read(d, expect);
  if (expect.name != "web-frontend-7d9f8b6c5d-x2k4p" || expect.labels.size() != 7 ||
      expect.images.size() != 2 || expect.node != "worker-pool-a-3")
    fail("rapidjson read");
  sj::dom::parser dp;
  sjdom::read(sjdom::parse(dp, c.pod.padded), got);
  if (!(got == expect)) fail("simdjson DOM read");
  od::parser op;
  got.clear();
  sjod::read(op, c.pod.padded, got);
  if (!(got == expect)) fail("simdjson On-Demand read");
  nlohmann::ordered_json oj = nlohmann::ordered_json::parse(c.pod.json);
  got.clear();
  nl::read(oj, got);
  if (!(got == expect)) fail("nlohmann read");

  // Serializers must round-trip; mutations must agree across libraries.
  const auto pod = nlohmann::json::parse(c.pod.json);
  if (nlohmann::json::parse(rapid::serialize(d)) != pod) fail("rapidjson serialize");
  if (nlohmann::json::parse(sj::minify(sjdom::parse(dp, c.pod.padded))) != pod)
    fail("simdjson serialize");
  if (oj.dump() != c.pod.json) fail("ordered_json serialize is not byte-identical");
  auto mutated = pod;
  nl::mutate(mutated);
  rapid::mutate(d);
  if (nlohmann::json::parse(rapid::serialize(d)) != mutated) fail("rapidjson mutate");
  if (nlohmann::json::parse(sjod::splice_mutate(op, c.pod.padded)) != mutated)
    fail("splice mutate");
  if (sjod::walk_list(op, c.list.padded) < size_t{kListSize} * 29) fail("list walk");

  std::fprintf(stderr, "inputs: pod %zu B, status %zu B, list of %d pods %zu B (minified)\n",
               c.pod.json.size(), c.status.json.size(), kListSize, c.list.json.size());
  // Stage 1 (SIMD indexing) is dispatched at run time for DOM and On-Demand
  // alike; only On-Demand's value parsing follows the compile-time target.
  std::fprintf(stderr, "simdjson kernel: %s\n", sj::get_active_implementation()->name().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  try {
    static const Corpus corpus = load_corpus();
    g_corpus = &corpus;
    self_check();
  } catch (const std::exception& e) {
    std::cerr << "bench_json: " << e.what() << "\n";
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
