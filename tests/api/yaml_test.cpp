// YAML to JSON with kubectl's (YAML 1.1) scalar rules.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kite/api/json.h"
#include "kite/api/meta/v1/types.h"

namespace kite::api {
namespace {

std::string one(std::string_view yaml) {
  const auto docs = yamlToJsonDocuments(yaml);
  EXPECT_EQ(docs.size(), 1U) << yaml;
  return docs.empty() ? std::string() : docs.front();
}

TEST(Yaml, QuotedScalarsAreStrings) {
  EXPECT_EQ(one("a: 'yes'\nb: \"80\"\nc: 'null'\nd: !!str true\ne: '0644'"),
            R"({"a":"yes","b":"80","c":"null","d":"true","e":"0644"})");
}

TEST(Yaml, PlainScalarsFollowYaml11) {
  EXPECT_EQ(one("a: yes\nb: No\nc: on\nd: OFF\ne: y\nf: n\ng: true\nh: False"),
            R"({"a":true,"b":false,"c":true,"d":false,"e":true,"f":false,"g":true,"h":false})");
  EXPECT_EQ(one("a: ~\nb: null\nc:\nd: Null"), R"({"a":null,"b":null,"c":null,"d":null})");
  EXPECT_EQ(one("a: 80\nb: -3\nc: 0644\nd: 0x1F\ne: 1_000\nf: 0b101\ng: 0o17\nh: +5\ni: -0x10"),
            R"({"a":80,"b":-3,"c":420,"d":31,"e":1000,"f":5,"g":15,"h":5,"i":-16})");
  EXPECT_EQ(one("a: 1.5\nb: 1.10\nc: 1e3\nd: 1.0\ne: .5\nf: 08\ng: -0.25\nh: 1e21\ni: 1e-7"),
            R"({"a":1.5,"b":1.1,"c":1000,"d":1,"e":0.5,"f":8,"g":-0.25,"h":1e+21,"i":1e-7})");
  EXPECT_EQ(one("a: 18446744073709551615\nb: 123456789012345678901234"),
            R"({"a":18446744073709551615,"b":1.2345678901234569e+23})");
  EXPECT_EQ(one("a: 2001-12-14\nb: 1:20\nc: 1.2.3\nd: 0x\ne: -x\nf: 1e400"),
            R"({"a":"2001-12-14","b":"1:20","c":"1.2.3","d":"0x","e":"-x","f":"1e400"})");
}

TEST(Yaml, BlockScalarsAndComments) {
  EXPECT_EQ(one("# leading comment\nscript: |\n  echo hi\n  exit 0\nfolded: >\n  a\n  b\n"
                "num: 1 # trailing comment\n"),
            R"({"script":"echo hi\nexit 0\n","folded":"a b\n","num":1})");
}

TEST(Yaml, KeysBecomeStrings) {
  EXPECT_EQ(one("1: a\nyes: b\n~: c\n1.5: d\n'on': e"),
            R"({"1":"a","true":"b","null":"c","1.5":"d","on":"e"})");
  // As with kubectl, the YAML 1.1 booleans y and n are booleans as keys too.
  EXPECT_EQ(one("y: 1\nn: 2\n'y': 3"), R"({"true":1,"false":2,"y":3})");
  EXPECT_THROW(yamlToJsonDocuments("? [a, b]\n: c"), ParseError);
}

TEST(Yaml, MultipleDocuments) {
  const auto docs = yamlToJsonDocuments(
      "---\n# only a comment\n---\na: 1\n---\n---\nb: [x, 'y']\n...\n---\n~\n---\nc: {}\n---\n");
  EXPECT_EQ(docs, (std::vector<std::string>{R"({"a":1})", R"({"b":["x","y"]})", R"({"c":{}})"}));
  EXPECT_TRUE(yamlToJsonDocuments("").empty());
  EXPECT_TRUE(yamlToJsonDocuments("# nothing\n").empty());
}

TEST(Yaml, AnchorsAliasesAndMergeKeys) {
  EXPECT_EQ(one("base: &b {cpu: 1, memory: 1Gi}\nx: *b\nlist: &l [1, 2]\nz: *l"),
            R"({"base":{"cpu":1,"memory":"1Gi"},"x":{"cpu":1,"memory":"1Gi"},)"
            R"("list":[1,2],"z":[1,2]})");
  EXPECT_EQ(one("a: &a {p: 1, q: 2}\nb: &b {q: 3, r: 4}\nc:\n  <<: [*a, *b]\n  p: 9"),
            R"({"a":{"p":1,"q":2},"b":{"q":3,"r":4},"c":{"p":9,"q":2,"r":4}})");
}

TEST(Yaml, ErrorsCarryLineAndColumn) {
  try {
    yamlToJsonDocuments("a: 1\nb: [1, 2\nc: 3\n");
    FAIL() << "accepted";
  } catch (const ParseError& e) {
    EXPECT_GT(e.line(), 1U);
    EXPECT_GT(e.column(), 0U);
    EXPECT_NE(std::string(e.what()).find("invalid YAML"), std::string::npos);
  }
  try {
    yamlToJsonDocuments("a: 1\nb: .inf\n");
    FAIL() << "accepted";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.line(), 2U);
    EXPECT_EQ(e.column(), 4U);
    EXPECT_EQ(e.detail(), "JSON cannot hold .inf");
  }
}

TEST(Yaml, HostileInputIsRejectedWithoutCrashing) {
  // "Billion laughs": every level doubles the size of the expansion.
  std::string laughs = "a0: &a0 [x, x]\n";
  for (int i = 1; i < 40; ++i) {
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" +
              std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
  }
  try {
    yamlToJsonDocuments(laughs);
    FAIL() << "accepted";
  } catch (const ParseError& e) {
    EXPECT_NE(e.detail().find("excessive aliasing"), std::string::npos);
  }
  EXPECT_THROW(yamlToJsonDocuments(std::string(100000, '[')), ParseError);
  // yaml-cpp would loop forever on a stray closing bracket; we stop with an error.
  EXPECT_THROW(yamlToJsonDocuments("{a: 1}},"), ParseError);
  EXPECT_THROW(yamlToJsonDocuments("]"), ParseError);
  std::string nested;
  for (int i = 0; i < 1500; ++i) nested += "- ";
  nested += "x\n";
  EXPECT_THROW(yamlToJsonDocuments(nested), ParseError);
}

TEST(Yaml, DecodeYamlConvenience) {
  EXPECT_EQ(decodeYaml<meta::v1::TypeMeta>("apiVersion: v1\nkind: Pod\n").kind, "Pod");
  EXPECT_THROW(decodeYaml<meta::v1::TypeMeta>("kind: A\n---\nkind: B\n"), ParseError);
}

}  // namespace
}  // namespace kite::api
