// The Priority admission functions on their own: which class and value a pod gets, and the
// one-globalDefault rule, without a server.

#include "priority_admission.h"

#include <gtest/gtest.h>

#include <string>

#include "api_error.h"
#include "priority_classes.h"

namespace kite::controlplane::apiserver {
namespace {

namespace corev1 = api::core::v1;
namespace schedv1 = api::scheduling::v1;

schedv1::PriorityClass priorityClass(const std::string& name, std::int32_t value,
                                     bool globalDefault = false) {
  schedv1::PriorityClass pc;
  pc.metadata.name = name;
  pc.value = value;
  pc.globalDefault = globalDefault;
  defaultPriorityClass(pc);
  return pc;
}

corev1::Pod pod(const std::string& className = {}) {
  corev1::Pod p;
  p.metadata.name = "p";
  p.spec.priorityClassName = className;
  return p;
}

TEST(PriorityAdmission, GlobalDefaultIsTheLowestOfThoseClaimingIt) {
  EXPECT_EQ(globalDefaultPriorityClass({priorityClass("a", 1)}), nullptr);
  const PriorityClasses classes = {priorityClass("high", 90, true), priorityClass("x", 5),
                                   priorityClass("low", 10, true)};
  ASSERT_NE(globalDefaultPriorityClass(classes), nullptr);
  EXPECT_EQ(globalDefaultPriorityClass(classes)->metadata.name, "low");
}

TEST(PriorityAdmission, ResolvesTheClassOrTheDefault) {
  auto never = priorityClass("never", 3);
  never.preemptionPolicy = "Never";
  const PriorityClasses classes = {never, priorityClass("fallback", 8, true)};
  auto p = pod("never");
  admitPodPriority(p, classes);
  EXPECT_EQ(p.spec.priority, 3);
  EXPECT_EQ(p.spec.preemptionPolicy, "Never");

  p = pod();
  admitPodPriority(p, classes);
  EXPECT_EQ(p.spec.priorityClassName, "fallback");
  EXPECT_EQ(p.spec.priority, 8);
  EXPECT_EQ(p.spec.preemptionPolicy, "PreemptLowerPriority");

  p = pod();
  admitPodPriority(p, {});
  EXPECT_EQ(p.spec.priorityClassName, "");
  EXPECT_EQ(p.spec.priority, 0);
  EXPECT_EQ(p.spec.preemptionPolicy, "PreemptLowerPriority");
}

TEST(PriorityAdmission, RefusesUnknownClassesAndOtherValues) {
  auto p = pod("missing");
  try {
    admitPodPriority(p, {});
    FAIL() << "admitted";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), 403);
    EXPECT_EQ(e.status().message,
              "pods \"p\" is forbidden: no PriorityClass with name missing was found");
  }
  p = pod("c");
  p.spec.preemptionPolicy = "Never";
  try {
    admitPodPriority(p, {priorityClass("c", 1)});
    FAIL() << "admitted";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status().message,
              "pods \"p\" is forbidden: the string value of PreemptionPolicy (Never) must not be "
              "provided in pod spec; priority admission controller computed PreemptLowerPriority "
              "from the given PriorityClass name");
  }
  p = pod("c");
  p.spec.priority = 2;
  EXPECT_THROW(admitPodPriority(p, {priorityClass("c", 1)}), ApiError);
  p.spec.priority = 1;
  EXPECT_NO_THROW(admitPodPriority(p, {priorityClass("c", 1)}));
}

TEST(PriorityAdmission, UpdateKeepsAdmittedPriority) {
  auto old = pod("c");
  old.spec.priority = 4;
  old.spec.preemptionPolicy = "Never";
  auto next = pod("c");
  keepPodPriority(next, old);
  EXPECT_EQ(next.spec.priority, 4);
  EXPECT_EQ(next.spec.preemptionPolicy, "Never");
  next.spec.priority = 9;  // a change stays, for validation to refuse
  keepPodPriority(next, old);
  EXPECT_EQ(next.spec.priority, 9);
}

TEST(PriorityAdmission, OneGlobalDefault) {
  const PriorityClasses classes = {priorityClass("d", 1, true), priorityClass("other", 2)};
  EXPECT_NO_THROW(admitPriorityClass(priorityClass("new", 3), classes));
  EXPECT_NO_THROW(admitPriorityClass(priorityClass("d", 1, true), classes));
  try {
    admitPriorityClass(priorityClass("other", 2, true), classes);
    FAIL() << "admitted";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), 403);
    EXPECT_EQ(e.status().message,
              "priorityclasses.scheduling.k8s.io \"other\" is forbidden: PriorityClass d is "
              "already marked as default. Only one default can exist");
  }
}

TEST(PriorityClasses, ValidationOfNamesValuesAndUpdates) {
  std::vector<api::FieldError> errors;
  for (const auto& pc : systemPriorityClasses()) validatePriorityClass(errors, pc);
  EXPECT_TRUE(errors.empty());
  EXPECT_TRUE(isSystemPriorityClass("system-node-critical"));
  EXPECT_FALSE(isSystemPriorityClass("system-other"));

  validatePriorityClass(errors, priorityClass("system-node-critical", 5));
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(errors[0].field, "metadata.name");
  EXPECT_NE(errors[0].detail.find("value of system-node-critical PriorityClass must be 2000001000"),
            std::string::npos);
  errors.clear();
  validatePriorityClass(errors, priorityClass("user", kHighestUserDefinablePriority));
  EXPECT_TRUE(errors.empty());
  validatePriorityClass(errors, priorityClass("user", kHighestUserDefinablePriority + 1));
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(errors[0].field, "value");
  errors.clear();

  auto next = priorityClass("user", 1);
  next.description = "changed";
  validatePriorityClassUpdate(errors, next, priorityClass("user", 1));
  EXPECT_TRUE(errors.empty());
  next.value = 2;
  next.preemptionPolicy = "Never";
  validatePriorityClassUpdate(errors, next, priorityClass("user", 1));
  ASSERT_EQ(errors.size(), 2U);
  EXPECT_EQ(errors[0].field, "value");
  EXPECT_EQ(errors[1].field, "preemptionPolicy");
}

}  // namespace
}  // namespace kite::controlplane::apiserver
