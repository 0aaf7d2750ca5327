#include "kite/api/labels.h"

#include <gtest/gtest.h>

#include "kite/api/json.h"

namespace kite::api::labels {
namespace {

Set web() { return {{"app", "web"}, {"tier", "frontend"}, {"replicas", "3"}}; }

TEST(Labels, StructuredSelector) {
  meta::v1::LabelSelector sel;
  EXPECT_TRUE(matches(sel, web()));  // empty matches everything
  EXPECT_FALSE(matches(std::optional<meta::v1::LabelSelector>(), web()));  // absent: nothing
  sel.matchLabels = {{"app", "web"}};
  EXPECT_TRUE(matches(sel, web()));
  sel.matchExpressions.push_back({.key = "tier", .operator_ = "In", .values = {"frontend", "x"}});
  sel.matchExpressions.push_back({.key = "legacy", .operator_ = "DoesNotExist"});
  sel.matchExpressions.push_back({.key = "app", .operator_ = "Exists"});
  sel.matchExpressions.push_back({.key = "tier", .operator_ = "NotIn", .values = {"backend"}});
  EXPECT_TRUE(matches(sel, web()));
  EXPECT_FALSE(matches(sel, {{"app", "web"}, {"tier", "backend"}}));
  EXPECT_FALSE(matches(sel, {{"app", "web"}, {"tier", "frontend"}, {"legacy", ""}}));
  EXPECT_EQ(Selector::fromLabelSelector(sel).toString(),
            "app=web,app,!legacy,tier in (frontend,x),tier notin (backend)");
}

TEST(Labels, StructuredSelectorErrors) {
  auto error = [](const meta::v1::LabelSelector& sel) -> std::string {
    try {
      Selector::fromLabelSelector(sel);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no error";
  };
  meta::v1::LabelSelector sel;
  sel.matchExpressions = {{.key = "a", .operator_ = "Equals", .values = {"x"}}};
  EXPECT_EQ(error(sel), R"("Equals" is not a valid label selector operator)");
  sel.matchExpressions = {{.key = "a", .operator_ = "In"}};
  EXPECT_EQ(error(sel), "for 'in', 'notin' operators, values set can't be empty");
  sel.matchExpressions = {{.key = "a", .operator_ = "Exists", .values = {"x"}}};
  EXPECT_EQ(error(sel), "values set must be empty for exists and does not exist");
  sel.matchExpressions = {{.key = "-bad", .operator_ = "Exists"}};
  EXPECT_NE(error(sel).find("invalid label key \"-bad\""), std::string::npos);
  sel.matchExpressions.clear();
  sel.matchLabels = {{"app", "has space"}};
  EXPECT_NE(error(sel).find("invalid label value"), std::string::npos);
  EXPECT_FALSE(matches(sel, {{"app", "has space"}}));  // invalid selectors match nothing
}

TEST(Labels, StringSyntax) {
  const Selector s = Selector::parse("app=web, tier in (frontend, edge),!legacy,replicas>2");
  EXPECT_TRUE(s.matches(web()));
  EXPECT_FALSE(s.matches({{"app", "web"}, {"tier", "edge"}, {"replicas", "2"}}));
  EXPECT_EQ(s.toString(), "app=web,!legacy,replicas>2,tier in (edge,frontend)");
  EXPECT_TRUE(Selector::parse("").matchesEverything());
  EXPECT_TRUE(Selector::parse("app!=db").matches(web()));
  EXPECT_TRUE(Selector::parse("app!=db").matches({}));  // != matches a missing key
  EXPECT_TRUE(Selector::parse("app==web,tier notin (backend)").matches(web()));
  EXPECT_TRUE(Selector::parse("example.com/role").matches({{"example.com/role", ""}}));
  EXPECT_TRUE(Selector::parse("replicas<5").matches(web()));
  EXPECT_FALSE(Selector::parse("app<5").matches(web()));  // not an integer
  EXPECT_TRUE(Selector::parse("env=").matches({{"env", ""}}));
  for (const char* bad :
       {"=web", "app in web", "app in (a", "app,,tier", "app=a=b", "!", "app>x", "a b"}) {
    EXPECT_THROW(Selector::parse(bad), std::invalid_argument) << bad;
  }
  EXPECT_FALSE(Selector::nothing().matches({}));
  EXPECT_TRUE(Selector::fromSet({{"app", "web"}}).matches(web()));
}

TEST(Labels, Validation) {
  EXPECT_EQ(validateKey("app.kubernetes.io/name"), "");
  EXPECT_EQ(validateKey("a"), "");
  EXPECT_NE(validateKey("Example.com/a"), "");
  EXPECT_NE(validateKey(std::string(64, 'a')), "");
  EXPECT_NE(validateKey("/a"), "");
  EXPECT_EQ(validateValue(""), "");
  EXPECT_EQ(validateValue("v1.2_3-x"), "");
  EXPECT_NE(validateValue("-x"), "");
}

}  // namespace
}  // namespace kite::api::labels
