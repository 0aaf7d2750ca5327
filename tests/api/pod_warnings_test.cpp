// Pod spec warnings in upstream's wording and at the path of the spec they were found in.

#include "kite/api/pod_warnings.h"

#include <gtest/gtest.h>

namespace kite::api {
namespace {

TEST(PodWarningsTest, NegativeGracePeriodWarnsAtItsPath) {
  core::v1::PodSpec spec;
  spec.terminationGracePeriodSeconds = -3;
  EXPECT_EQ(podSpecWarnings(spec, "spec"),
            std::vector<std::string>{"spec.terminationGracePeriodSeconds: must be >= 0; negative "
                                     "values are invalid and will be treated as 1"});
  EXPECT_EQ(podSpecWarnings(spec, "spec.template.spec"),
            std::vector<std::string>{
                "spec.template.spec.terminationGracePeriodSeconds: must be >= 0; negative values "
                "are invalid and will be treated as 1"});
}

TEST(PodWarningsTest, ZeroPositiveOrUnsetGracePeriodDoesNotWarn) {
  core::v1::PodSpec spec;
  EXPECT_TRUE(podSpecWarnings(spec, "spec").empty());
  spec.terminationGracePeriodSeconds = 0;
  EXPECT_TRUE(podSpecWarnings(spec, "spec").empty());
  spec.terminationGracePeriodSeconds = 30;
  EXPECT_TRUE(podSpecWarnings(spec, "spec").empty());
}

}  // namespace
}  // namespace kite::api
