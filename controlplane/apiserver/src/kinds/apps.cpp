// apps/v1 workloads: defaults (replicas, strategies, the pod template's own defaults), the
// selector-matches-template rule, and kubectl's columns.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../registry.h"
#include "kite/api/apps/v1/types.h"
#include "kite/api/labels.h"
#include "kite/api/pod_defaults.h"
#include "kite/api/pod_validation.h"
#include "kite/api/pod_warnings.h"
#include "pod_template_warnings.h"

namespace kite::controlplane::apiserver {

namespace {

namespace appsv1 = api::apps::v1;
namespace corev1 = api::core::v1;
using api::FieldError;

void defaultTemplate(corev1::PodTemplateSpec& t) {
  corev1::Pod pod;
  pod.spec = std::move(t.spec);
  api::applyPodDefaults(pod);
  t.spec = std::move(pod.spec);
}

std::string labelsText(const std::map<std::string, std::string>& labels) {
  std::string out = "map[string]string{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out.append(", ");
    first = false;
    out.append("\"").append(k).append("\":\"").append(v).append("\"");
  }
  return out + "}";
}

// Every workload: a non-empty selector that matches its template's labels.
void validateSelector(std::vector<FieldError>& errors,
                      const std::optional<api::meta::v1::LabelSelector>& selector,
                      const corev1::PodTemplateSpec& tmpl) {
  if (!selector || (selector->matchLabels.empty() && selector->matchExpressions.empty())) {
    errors.push_back(FieldError::required("spec.selector", ""));
    return;
  }
  try {
    auto s = api::labels::Selector::fromLabelSelector(*selector);
    if (!s.matches(tmpl.metadata.labels)) {
      errors.push_back(FieldError::invalid("spec.template.metadata.labels",
                                           labelsText(tmpl.metadata.labels),
                                           "`selector` does not match template `labels`"));
    }
  } catch (const std::invalid_argument& e) {
    errors.push_back(FieldError::invalid("spec.selector", "", e.what()));
  }
}

void validateSelectorImmutable(std::vector<FieldError>& errors,
                               const std::optional<api::meta::v1::LabelSelector>& now,
                               const std::optional<api::meta::v1::LabelSelector>& old) {
  if (!(now == old)) {
    errors.push_back(FieldError::invalid("spec.selector", "", "field is immutable"));
  }
}

std::string containersText(const corev1::PodTemplateSpec& t, bool images) {
  std::string out;
  for (const auto& c : t.spec.containers) {
    if (!out.empty()) out.push_back(',');
    out.append(images ? c.image : c.name);
  }
  return out;
}

std::string selectorText(const std::optional<api::meta::v1::LabelSelector>& s) {
  if (!s) return "<none>";
  try {
    std::string text = api::labels::Selector::fromLabelSelector(*s).toString();
    return text.empty() ? "<none>" : text;
  } catch (const std::invalid_argument&) {
    return "<error>";
  }
}

std::vector<TableColumn> workloadTail() {
  return {ageColumn(),
          {"Containers", "string", "", "Names of each container in the template.", 1},
          {"Images", "string", "", "Images referenced by each container in the template.", 1},
          {"Selector", "string", "", "Label selector for pods.", 1}};
}

template <class T>
std::vector<TableColumn> withTail(std::vector<TableColumn> head) {
  auto tail = workloadTail();
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

template <class T>
void appendTail(std::vector<TableCell>& cells, const T& o, TimePoint now) {
  cells.emplace_back(humanAge(creationTime(o.metadata), now));
  cells.emplace_back(containersText(o.spec.template_, false));
  cells.emplace_back(containersText(o.spec.template_, true));
  cells.emplace_back(selectorText(o.spec.selector));
}

void addDeployments(Registry& r) {
  KindHooks<appsv1::Deployment> h;
  h.defaults = [](appsv1::Deployment& d) {
    auto& s = d.spec;
    if (!s.replicas) s.replicas = 1;
    if (s.strategy.type.empty()) s.strategy.type = "RollingUpdate";
    if (s.strategy.type == "RollingUpdate") {
      if (!s.strategy.rollingUpdate) s.strategy.rollingUpdate.emplace();
      if (!s.strategy.rollingUpdate->maxUnavailable)
        s.strategy.rollingUpdate->maxUnavailable = "25%";
      if (!s.strategy.rollingUpdate->maxSurge) s.strategy.rollingUpdate->maxSurge = "25%";
    }
    if (!s.revisionHistoryLimit) s.revisionHistoryLimit = 10;
    if (!s.progressDeadlineSeconds) s.progressDeadlineSeconds = 600;
    defaultTemplate(s.template_);
  };
  h.prepareForCreate = [](appsv1::Deployment& d) { d.status = {}; };
  h.validate = [](std::vector<FieldError>& errors, const appsv1::Deployment& d) {
    validateSelector(errors, d.spec.selector, d.spec.template_);
    api::appendErrors(errors, api::validateReplicatedPodTemplate(d.spec.template_, "spec.template",
                                                                 api::ReplicatedOwner::ReplicaSet));
    if (d.spec.replicas && *d.spec.replicas < 0) {
      errors.push_back(FieldError::invalid("spec.replicas", *d.spec.replicas,
                                           "must be greater than or equal to 0"));
    }
    static const std::vector<std::string> kTypes = {"Recreate", "RollingUpdate"};
    if (std::find(kTypes.begin(), kTypes.end(), d.spec.strategy.type) == kTypes.end()) {
      errors.push_back(
          FieldError::notSupported("spec.strategy.type", d.spec.strategy.type, kTypes));
    }
    if (d.spec.strategy.type == "Recreate" && d.spec.strategy.rollingUpdate) {
      errors.push_back(FieldError::forbidden("spec.strategy.rollingUpdate",
                                             "may not be specified when strategy `type` is "
                                             "'Recreate'"));
    }
  };
  h.warnings = templateWarnings<appsv1::Deployment>;
  h.validateUpdate = [](std::vector<FieldError>& errors, const appsv1::Deployment& d,
                        const appsv1::Deployment& old) {
    validateSelectorImmutable(errors, d.spec.selector, old.spec.selector);
  };
  h.columns = withTail<appsv1::Deployment>(
      {{"Ready", "string", "", "Number of the pod with ready state", 0},
       {"Up-to-date", "string", "",
        "Total number of non-terminated pods targeted by this deployment that have the desired "
        "template spec.",
        0},
       {"Available", "string", "",
        "Total number of available pods (ready for at least minReadySeconds) targeted by this "
        "deployment.",
        0}});
  h.row = [](const appsv1::Deployment& d, TimePoint now) {
    std::vector<TableCell> cells{
        std::to_string(d.status.readyReplicas) + "/" + std::to_string(d.spec.replicas.value_or(1)),
        static_cast<std::int64_t>(d.status.updatedReplicas),
        static_cast<std::int64_t>(d.status.availableReplicas)};
    appendTail(cells, d, now);
    return cells;
  };
  r.add(std::make_unique<TypedResource<appsv1::Deployment>>(
      builtinInfo("apps", "v1", "deployments"), std::move(h)));
}

void addReplicaSets(Registry& r) {
  KindHooks<appsv1::ReplicaSet> h;
  h.defaults = [](appsv1::ReplicaSet& rs) {
    if (!rs.spec.replicas) rs.spec.replicas = 1;
    defaultTemplate(rs.spec.template_);
  };
  h.prepareForCreate = [](appsv1::ReplicaSet& rs) { rs.status = {}; };
  h.validate = [](std::vector<FieldError>& errors, const appsv1::ReplicaSet& rs) {
    validateSelector(errors, rs.spec.selector, rs.spec.template_);
    api::appendErrors(errors, api::validateReplicatedPodTemplate(rs.spec.template_, "spec.template",
                                                                 api::ReplicatedOwner::ReplicaSet));
  };
  h.warnings = templateWarnings<appsv1::ReplicaSet>;
  h.validateUpdate = [](std::vector<FieldError>& errors, const appsv1::ReplicaSet& rs,
                        const appsv1::ReplicaSet& old) {
    validateSelectorImmutable(errors, rs.spec.selector, old.spec.selector);
  };
  h.columns =
      withTail<appsv1::ReplicaSet>({{"Desired", "integer", "", "Number of desired pods.", 0},
                                    {"Current", "integer", "", "Number of actual pods.", 0},
                                    {"Ready", "integer", "", "Number of ready pods.", 0}});
  h.row = [](const appsv1::ReplicaSet& rs, TimePoint now) {
    std::vector<TableCell> cells{static_cast<std::int64_t>(rs.spec.replicas.value_or(1)),
                                 static_cast<std::int64_t>(rs.status.replicas),
                                 static_cast<std::int64_t>(rs.status.readyReplicas)};
    appendTail(cells, rs, now);
    return cells;
  };
  r.add(std::make_unique<TypedResource<appsv1::ReplicaSet>>(
      builtinInfo("apps", "v1", "replicasets"), std::move(h)));
}

// apps/v1 has no field for a DaemonSet's template generation: upstream's API server keeps it
// in this annotation (the controller labels its pods with it), and clients cannot set it.
constexpr std::string_view kTemplateGeneration = "deprecated.daemonset.template.generation";

// A decimal int64 as upstream parses this annotation (Go's strconv.ParseInt, base 10: an
// optional sign, then digits): the value, or the error text upstream answers with.
struct ParsedInt {
  std::optional<std::int64_t> value;
  std::string error;
};

ParsedInt parseDecimalInt64(const std::string& text) {
  auto fail = [&text](std::string_view reason) {
    std::string quoted = "\"";
    for (const char c : text) {
      if (c == '"' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    return ParsedInt{std::nullopt,
                     "strconv.ParseInt: parsing " + quoted + "\": " + std::string(reason)};
  };
  std::string_view digits = text;
  const bool negative = !digits.empty() && digits.front() == '-';
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) digits.remove_prefix(1);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return fail("invalid syntax");
  }
  // from_chars takes the '-' but not a '+'; the range check is its own.
  const std::string_view number = negative ? std::string_view(text) : digits;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc{} || end != number.data() + number.size()) {
    return fail("value out of range");
  }
  return {value, {}};
}

std::optional<std::int64_t> templateGenerationOf(const appsv1::DaemonSet& d) {
  const auto it = d.metadata.annotations.find(std::string(kTemplateGeneration));
  if (it == d.metadata.annotations.end()) return std::nullopt;
  return parseDecimalInt64(it->second).value;
}

// Upstream's conversion of a request's DaemonSet moves the annotation into the internal
// TemplateGeneration and fails for a value that is not an int64.
std::optional<std::string> templateGenerationConversionError(const appsv1::DaemonSet& d) {
  const auto it = d.metadata.annotations.find(std::string(kTemplateGeneration));
  if (it == d.metadata.annotations.end()) return std::nullopt;
  auto parsed = parseDecimalInt64(it->second);
  if (parsed.value) return std::nullopt;
  return std::move(parsed.error);
}

void setTemplateGeneration(appsv1::DaemonSet& d, std::int64_t generation) {
  d.metadata.annotations[std::string(kTemplateGeneration)] = std::to_string(generation);
}

// Upstream's PrepareForCreate: a generation the client gave is kept when it is at least 1,
// a smaller one or none starts at 1 (one that is not an integer was refused while decoding).
void prepareTemplateGenerationForCreate(appsv1::DaemonSet& d) {
  const auto given = templateGenerationOf(d);
  setTemplateGeneration(d, given && *given >= 1 ? *given : 1);
}

// Upstream's PrepareForUpdate: the stored value, plus one when the pod template changed;
// what the client sent is ignored. A DaemonSet stored before kite kept the annotation
// continues from its metadata.generation, which is what its pods were labelled with.
void prepareTemplateGenerationForUpdate(appsv1::DaemonSet& d, const appsv1::DaemonSet& old) {
  const std::int64_t stored = templateGenerationOf(old).value_or(old.metadata.generation);
  setTemplateGeneration(d, d.spec.template_ == old.spec.template_ ? stored : stored + 1);
}

void addDaemonAndStatefulSets(Registry& r) {
  KindHooks<appsv1::DaemonSet> ds;
  ds.defaults = [](appsv1::DaemonSet& d) {
    if (d.spec.updateStrategy.type.empty()) d.spec.updateStrategy.type = "RollingUpdate";
    if (!d.spec.revisionHistoryLimit) d.spec.revisionHistoryLimit = 10;
    defaultTemplate(d.spec.template_);
  };
  ds.prepareForCreate = [](appsv1::DaemonSet& d) {
    d.status = {};
    prepareTemplateGenerationForCreate(d);
  };
  ds.prepareForUpdate = prepareTemplateGenerationForUpdate;
  ds.conversionError = templateGenerationConversionError;
  // Upstream warns on an update that moves the template generation, i.e. changes the template.
  ds.warnings = [](const appsv1::DaemonSet& d, const appsv1::DaemonSet* old) {
    if (old != nullptr && d.spec.template_ == old->spec.template_)
      return std::vector<std::string>{};
    return api::podSpecWarnings(d.spec.template_.spec, "spec.template.spec");
  };
  ds.validate = [](std::vector<FieldError>& errors, const appsv1::DaemonSet& d) {
    validateSelector(errors, d.spec.selector, d.spec.template_);
    api::appendErrors(errors, api::validateReplicatedPodTemplate(d.spec.template_, "spec.template",
                                                                 api::ReplicatedOwner::DaemonSet));
  };
  ds.columns = withTail<appsv1::DaemonSet>({{"Desired", "integer", "", "", 0},
                                            {"Current", "integer", "", "", 0},
                                            {"Ready", "integer", "", "", 0},
                                            {"Up-to-date", "integer", "", "", 0},
                                            {"Available", "integer", "", "", 0},
                                            {"Node Selector", "string", "", "", 0}});
  ds.row = [](const appsv1::DaemonSet& d, TimePoint now) {
    std::string nodeSelector;
    for (const auto& [k, v] : d.spec.template_.spec.nodeSelector) {
      if (!nodeSelector.empty()) nodeSelector.push_back(',');
      nodeSelector.append(k).append("=").append(v);
    }
    std::vector<TableCell> cells{static_cast<std::int64_t>(d.status.desiredNumberScheduled),
                                 static_cast<std::int64_t>(d.status.currentNumberScheduled),
                                 static_cast<std::int64_t>(d.status.numberReady),
                                 static_cast<std::int64_t>(d.status.updatedNumberScheduled),
                                 static_cast<std::int64_t>(d.status.numberAvailable),
                                 nodeSelector.empty() ? std::string("<none>") : nodeSelector};
    appendTail(cells, d, now);
    return cells;
  };
  r.add(std::make_unique<TypedResource<appsv1::DaemonSet>>(builtinInfo("apps", "v1", "daemonsets"),
                                                           std::move(ds)));

  KindHooks<appsv1::StatefulSet> ss;
  ss.defaults = [](appsv1::StatefulSet& s) {
    if (!s.spec.replicas) s.spec.replicas = 1;
    if (s.spec.podManagementPolicy.empty()) s.spec.podManagementPolicy = "OrderedReady";
    if (s.spec.updateStrategy.type.empty()) s.spec.updateStrategy.type = "RollingUpdate";
    defaultTemplate(s.spec.template_);
  };
  ss.prepareForCreate = [](appsv1::StatefulSet& s) { s.status = {}; };
  ss.validate = [](std::vector<FieldError>& errors, const appsv1::StatefulSet& s) {
    validateSelector(errors, s.spec.selector, s.spec.template_);
    api::appendErrors(errors,
                      api::validateReplicatedPodTemplate(s.spec.template_, "spec.template",
                                                         api::ReplicatedOwner::StatefulSet));
  };
  ss.warnings = templateWarnings<appsv1::StatefulSet>;
  ss.columns = {{"Ready", "string", "", "Number of the pod with ready state", 0},
                ageColumn(),
                {"Containers", "string", "", "", 1},
                {"Images", "string", "", "", 1}};
  ss.row = [](const appsv1::StatefulSet& s, TimePoint now) -> std::vector<TableCell> {
    return {
        std::to_string(s.status.readyReplicas) + "/" + std::to_string(s.spec.replicas.value_or(1)),
        humanAge(creationTime(s.metadata), now), containersText(s.spec.template_, false),
        containersText(s.spec.template_, true)};
  };
  r.add(std::make_unique<TypedResource<appsv1::StatefulSet>>(
      builtinInfo("apps", "v1", "statefulsets"), std::move(ss)));

  r.add(std::make_unique<TypedResource<appsv1::ControllerRevision>>(
      builtinInfo("apps", "v1", "controllerrevisions"), KindHooks<appsv1::ControllerRevision>{}));
}

}  // namespace

void addAppsKinds(Registry& r) {
  addDeployments(r);
  addReplicaSets(r);
  addDaemonAndStatefulSets(r);
}

}  // namespace kite::controlplane::apiserver
