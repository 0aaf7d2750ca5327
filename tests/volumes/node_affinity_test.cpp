#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "kite/volumes/error.h"
#include "kite/volumes/node_affinity.h"
#include "test_util.h"

namespace kite::volumes {
namespace {

using testing::errorOf;
using Labels = std::map<std::string, std::string>;

// The node's labels; a function, as a static map could throw before main.
const Labels& node() {
  static const Labels labels{{"kubernetes.io/hostname", "node-1"},
                             {"topology.kubernetes.io/zone", "eu-1a"},
                             {"disk", "ssd"},
                             {"cores", "16"},
                             {"gpu", "none"}};
  return labels;
}

NodeSelectorTerm expressions(std::vector<NodeSelectorRequirement> requirements) {
  return {std::move(requirements), {}};
}

struct Case {
  std::string name;
  std::vector<NodeSelectorTerm> terms;
  std::string nodeName;
  bool matches;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class NodeAffinityTruthTable : public ::testing::TestWithParam<Case> {};

TEST_P(NodeAffinityTruthTable, Matches) {
  EXPECT_EQ(nodeAffinityMatches(GetParam().terms, node(), GetParam().nodeName), GetParam().matches);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NodeAffinityTruthTable,
    ::testing::Values(
        Case{"InMatchesListedValue",
             {expressions({{"kubernetes.io/hostname", "In", {"node-0", "node-1"}}})},
             "",
             true},
        Case{"InFailsForOtherValue", {expressions({{"disk", "In", {"hdd"}}})}, "", false},
        Case{"InFailsWithoutLabel", {expressions({{"rack", "In", {"r1"}}})}, "", false},
        Case{"NotInMatchesWithoutLabel", {expressions({{"rack", "NotIn", {"r1"}}})}, "", true},
        Case{"NotInFailsForListedValue",
             {expressions({{"disk", "NotIn", {"ssd", "nvme"}}})},
             "",
             false},
        Case{"NotInMatchesOtherValue", {expressions({{"disk", "NotIn", {"hdd"}}})}, "", true},
        Case{"ExistsMatches", {expressions({{"gpu", "Exists", {}}})}, "", true},
        Case{"ExistsFailsWithoutLabel", {expressions({{"rack", "Exists", {}}})}, "", false},
        Case{"DoesNotExistMatchesWithoutLabel",
             {expressions({{"rack", "DoesNotExist", {}}})},
             "",
             true},
        Case{
            "DoesNotExistFailsWithLabel", {expressions({{"disk", "DoesNotExist", {}}})}, "", false},
        Case{"GtComparesAsIntegers", {expressions({{"cores", "Gt", {"8"}}})}, "", true},
        Case{"GtIsStrict", {expressions({{"cores", "Gt", {"16"}}})}, "", false},
        Case{"LtComparesAsIntegers", {expressions({{"cores", "Lt", {"100"}}})}, "", true},
        Case{"LtFailsForLargerValue", {expressions({{"cores", "Lt", {"4"}}})}, "", false},
        Case{"GtFailsForNonIntegerLabel", {expressions({{"gpu", "Gt", {"1"}}})}, "", false},
        Case{"GtFailsWithoutLabel", {expressions({{"rack", "Gt", {"1"}}})}, "", false},
        Case{
            "ExpressionsOfATermAreAnded",
            {expressions({{"disk", "In", {"ssd"}}, {"topology.kubernetes.io/zone", "In", {"us"}}})},
            "",
            false},
        Case{"TermsAreOred",
             {expressions({{"disk", "In", {"hdd"}}}), expressions({{"cores", "Gt", {"2"}}})},
             "",
             true},
        Case{"NoTermsMatchNothing", {}, "", false},
        Case{"EmptyTermMatchesNothing", {NodeSelectorTerm{}}, "", false},
        Case{"FieldInMatchesNodeName",
             {{{}, {{"metadata.name", "In", {"node-1"}}}}},
             "node-1",
             true},
        Case{"FieldInFailsForOtherNode",
             {{{}, {{"metadata.name", "In", {"node-2"}}}}},
             "node-1",
             false},
        Case{"FieldNotInMatchesOtherNode",
             {{{}, {{"metadata.name", "NotIn", {"node-2"}}}}},
             "node-1",
             true},
        Case{"FieldsIgnoredWithoutNodeNameAsUpstreamKubelet",
             {{{}, {{"metadata.name", "In", {"node-2"}}}}},
             "",
             true},
        Case{"FieldsAndExpressionsAreAnded",
             {{{{"disk", "In", {"hdd"}}}, {{"metadata.name", "In", {"node-1"}}}}},
             "node-1",
             false}),
    [](const auto& param) { return param.param.name; });

TEST(NodeAffinity, MalformedTermIsAnErrorWhenNothingMatches) {
  struct Bad {
    NodeSelectorRequirement requirement;
    std::string message;
  };
  const std::vector<Bad> cases{
      {{"disk", "Like", {"ssd"}}, "\"Like\" is not a valid node selector operator"},
      {{"disk", "In", {}},
       "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"},
      {{"disk", "Exists", {"ssd"}},
       "values: Invalid value: [ssd]: values set must be empty for exists and does not exist"},
      {{"cores", "Gt", {"1", "2"}},
       "values: Invalid value: [1 2]: for 'Gt', 'Lt' operators, exactly one value is required"},
      {{"cores", "Lt", {"many"}},
       "values: Invalid value: [many]: for 'Gt', 'Lt' operators, the value must be an integer"},
  };
  for (const auto& bad : cases) {
    const auto e = errorOf([&] { nodeAffinityMatches({expressions({bad.requirement})}, node()); });
    EXPECT_EQ(e.reason(), Reason::kInvalid);
    EXPECT_EQ(std::string(e.what()), bad.message);
  }
  const auto key = errorOf([] {
    nodeAffinityMatches({expressions({{"bad key", "Exists", {}}})}, node());
  });
  EXPECT_NE(std::string(key.what()).find("key: Invalid value: \"bad key\""), std::string::npos);
  const auto field = errorOf([] {
    nodeAffinityMatches({{{}, {{"metadata.uid", "In", {"x"}}}}}, node(), "n");
  });
  EXPECT_STREQ(field.what(), "\"metadata.uid\" is not a valid field selector key");
}

TEST(NodeAffinity, MalformedTermDoesNotSpoilAMatchingOne) {
  EXPECT_TRUE(nodeAffinityMatches(
      {expressions({{"disk", "Like", {"ssd"}}}), expressions({{"disk", "In", {"ssd"}}})}, node()));
}

TEST(NodeAffinity, SeveralErrorsAreListed) {
  const auto e = errorOf([] {
    nodeAffinityMatches({expressions({{"a", "Foo", {}}}), expressions({{"b", "Bar", {}}})}, node());
  });
  EXPECT_STREQ(e.what(),
               "[\"Foo\" is not a valid node selector operator, \"Bar\" is not a valid node "
               "selector operator]");
}

TEST(CheckVolumeNodeAffinity, NoAffinityAdmitsAnyNode) {
  EXPECT_NO_THROW(checkVolumeNodeAffinity(std::nullopt, {}));
}

TEST(CheckVolumeNodeAffinity, MatchingNodeIsAdmitted) {
  EXPECT_NO_THROW(checkVolumeNodeAffinity(
      std::vector{expressions({{"kubernetes.io/hostname", "In", {"node-1"}}})}, node()));
}

TEST(CheckVolumeNodeAffinity, OtherNodeIsAConflictWithUpstreamWording) {
  const auto e = errorOf([] {
    checkVolumeNodeAffinity(
        std::vector{expressions({{"kubernetes.io/hostname", "In", {"node-2"}}})}, node());
  });
  EXPECT_EQ(e.reason(), Reason::kNodeAffinityConflict);
  EXPECT_STREQ(e.what(), "no matching NodeSelectorTerms");
  EXPECT_STREQ(reasonName(e.reason()), "VolumeNodeAffinityConflict");
}

TEST(CheckVolumeNodeAffinity, RequiredWithoutTermsAdmitsNoNode) {
  EXPECT_EQ(
      errorOf([] { checkVolumeNodeAffinity(std::vector<NodeSelectorTerm>{}, node()); }).reason(),
      Reason::kNodeAffinityConflict);
}

}  // namespace
}  // namespace kite::volumes
