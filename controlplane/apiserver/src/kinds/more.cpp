// Kinds of batch, networking.k8s.io, storage.k8s.io, events.k8s.io and policy: defaults,
// checks and kubectl's columns as upstream prints them.
#include <limits>
#include <string>

#include "../registry.h"
#include "kite/api/batch/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/events/v1/types.h"
#include "kite/api/labels.h"
#include "kite/api/networking/v1/types.h"
#include "kite/api/pod_defaults.h"
#include "kite/api/pod_validation.h"
#include "kite/api/pod_warnings.h"
#include "kite/api/policy/v1/types.h"
#include "kite/api/storage/v1/types.h"
#include "pod_template_warnings.h"

namespace kite::controlplane::apiserver {

namespace {

namespace batchv1 = api::batch::v1;
namespace netv1 = api::networking::v1;
namespace storagev1 = api::storage::v1;
namespace eventsv1 = api::events::v1;
namespace policyv1 = api::policy::v1;
namespace corev1 = api::core::v1;
using api::FieldError;

template <class T>
std::string age(const T& o, TimePoint now) {
  return humanAge(creationTime(o.metadata), now);
}

void defaultJobTemplate(corev1::PodTemplateSpec& t) {
  corev1::Pod pod;
  pod.spec = std::move(t.spec);
  const bool restartUnset = pod.spec.restartPolicy.empty();
  api::applyPodDefaults(pod);
  if (restartUnset) pod.spec.restartPolicy = "Never";
  t.spec = std::move(pod.spec);
}

void defaultJobSpec(batchv1::JobSpec& s) {
  // As upstream: both unset is a non-parallel Job (both 1); parallelism alone is a work queue,
  // whose completions stay unset (done once one pod succeeded and the rest finished).
  if (!s.completions && !s.parallelism) s.completions = 1;
  if (!s.parallelism) s.parallelism = 1;
  // With a per-index limit the Job-wide one must not fail the Job first.
  if (!s.backoffLimit) {
    s.backoffLimit = s.backoffLimitPerIndex ? std::numeric_limits<int32_t>::max() : 6;
  }
  if (!s.completionMode) s.completionMode = "NonIndexed";
  if (!s.suspend) s.suspend = false;
  if (!s.podReplacementPolicy) s.podReplacementPolicy = "TerminatingOrFailed";
  defaultJobTemplate(s.template_);
}

void validateJobTemplate(std::vector<FieldError>& errors, const corev1::PodTemplateSpec& t,
                         const std::string& path) {
  api::appendErrors(errors, api::validatePodTemplateSpec(t, path));
  const auto& rp = t.spec.restartPolicy;
  if (rp != "OnFailure" && rp != "Never") {
    errors.push_back(
        FieldError::notSupported(path + ".spec.restartPolicy", rp, {"OnFailure", "Never"}));
  }
}

std::string jobStatus(const batchv1::Job& j) {
  for (const auto& c : j.status.conditions) {
    if (c.status != "True") continue;
    if (c.type == "Complete") return "Complete";
    if (c.type == "Failed") return "Failed";
    if (c.type == "Suspended") return "Suspended";
    if (c.type == "FailureTarget") return "FailureTarget";
    if (c.type == "SuccessCriteriaMet") return "SuccessCriteriaMet";
  }
  if (j.metadata.deletionTimestamp) return "Terminating";
  return "Running";
}

void addJobs(Registry& r) {
  KindHooks<batchv1::Job> h;
  h.defaults = [](batchv1::Job& j) {
    defaultJobSpec(j.spec);
    // Upstream generates the selector from the job's uid unless manualSelector; kite labels
    // the template with the job name so a selector can be formed before the uid exists.
    if (!j.spec.selector && !j.spec.manualSelector.value_or(false)) {
      j.spec.template_.metadata.labels["batch.kubernetes.io/job-name"] = j.metadata.name;
      j.spec.template_.metadata.labels["job-name"] = j.metadata.name;
      api::meta::v1::LabelSelector s;
      s.matchLabels["batch.kubernetes.io/job-name"] = j.metadata.name;
      j.spec.selector = s;
    }
  };
  h.prepareForCreate = [](batchv1::Job& j) { j.status = {}; };
  h.validate = [](std::vector<FieldError>& errors, const batchv1::Job& j) {
    validateJobTemplate(errors, j.spec.template_, "spec.template");
    if (j.spec.parallelism && *j.spec.parallelism < 0) {
      errors.push_back(FieldError::invalid("spec.parallelism", *j.spec.parallelism,
                                           "must be greater than or equal to 0"));
    }
    if (j.spec.backoffLimit && *j.spec.backoffLimit < 0) {
      errors.push_back(FieldError::invalid("spec.backoffLimit", *j.spec.backoffLimit,
                                           "must be greater than or equal to 0"));
    }
    if (j.spec.completionMode == "Indexed" && !j.spec.completions) {
      errors.push_back(FieldError::required("spec.completions", "when completion mode is Indexed"));
    }
  };
  h.validateUpdate = [](std::vector<FieldError>& errors, const batchv1::Job& j,
                        const batchv1::Job& old) {
    if (!(j.spec.template_ == old.spec.template_)) {
      errors.push_back(FieldError::invalid("spec.template", "", "field is immutable"));
    }
  };
  h.warnings = templateWarnings<batchv1::Job>;
  h.columns = {{"Status", "string", "", "Status of the job.", 0},
               {"Completions", "string", "", "The completion status of the job.", 0},
               {"Duration", "string", "", "Time required to complete the job.", 0},
               ageColumn(),
               {"Containers", "string", "", "", 1},
               {"Images", "string", "", "", 1},
               {"Selector", "string", "", "", 1}};
  h.row = [](const batchv1::Job& j, TimePoint now) -> std::vector<TableCell> {
    std::string completions =
        std::to_string(j.status.succeeded) + "/" +
        (j.spec.completions ? std::to_string(*j.spec.completions) : std::string("1"));
    std::string duration;
    if (j.status.startTime) {
      const auto start = j.status.startTime->timePoint();
      const auto end = j.status.completionTime ? j.status.completionTime->timePoint() : now;
      duration = humanDuration(std::chrono::duration_cast<std::chrono::seconds>(end - start));
    }
    std::string containers;
    std::string images;
    for (const auto& c : j.spec.template_.spec.containers) {
      if (!containers.empty()) containers.push_back(',');
      if (!images.empty()) images.push_back(',');
      containers += c.name;
      images += c.image;
    }
    std::string selector = "<none>";
    if (j.spec.selector)
      selector = api::labels::Selector::fromLabelSelector(*j.spec.selector).toString();
    return {jobStatus(j), completions, duration, age(j, now), containers, images, selector};
  };
  r.add(std::make_unique<TypedResource<batchv1::Job>>(builtinInfo("batch", "v1", "jobs"),
                                                      std::move(h)));

  KindHooks<batchv1::CronJob> cj;
  cj.defaults = [](batchv1::CronJob& c) {
    if (c.spec.concurrencyPolicy.empty()) c.spec.concurrencyPolicy = "Allow";
    if (!c.spec.suspend) c.spec.suspend = false;
    if (!c.spec.successfulJobsHistoryLimit) c.spec.successfulJobsHistoryLimit = 3;
    if (!c.spec.failedJobsHistoryLimit) c.spec.failedJobsHistoryLimit = 1;
    auto& js = c.spec.jobTemplate.spec;
    if (!js.backoffLimit) js.backoffLimit = 6;
    defaultJobTemplate(js.template_);
  };
  cj.prepareForCreate = [](batchv1::CronJob& c) { c.status = {}; };
  cj.validate = [](std::vector<FieldError>& errors, const batchv1::CronJob& c) {
    if (c.spec.schedule.empty()) errors.push_back(FieldError::required("spec.schedule", ""));
    validateJobTemplate(errors, c.spec.jobTemplate.spec.template_,
                        "spec.jobTemplate.spec.template");
    static const std::vector<std::string> kPolicies = {"Allow", "Forbid", "Replace"};
    if (std::find(kPolicies.begin(), kPolicies.end(), c.spec.concurrencyPolicy) ==
        kPolicies.end()) {
      errors.push_back(
          FieldError::notSupported("spec.concurrencyPolicy", c.spec.concurrencyPolicy, kPolicies));
    }
  };
  cj.warnings = [](const batchv1::CronJob& c, const batchv1::CronJob* old) {
    if (old != nullptr && c.spec == old->spec) return std::vector<std::string>{};
    return api::podSpecWarnings(c.spec.jobTemplate.spec.template_.spec,
                                "spec.jobTemplate.spec.template.spec");
  };
  cj.columns = {{"Schedule", "string", "", "", 0},      {"Timezone", "string", "", "", 0},
                {"Suspend", "boolean", "", "", 0},      {"Active", "integer", "", "", 0},
                {"Last Schedule", "string", "", "", 0}, ageColumn(),
                {"Containers", "string", "", "", 1},    {"Images", "string", "", "", 1},
                {"Selector", "string", "", "", 1}};
  cj.row = [](const batchv1::CronJob& c, TimePoint now) -> std::vector<TableCell> {
    std::string last = "<none>";
    if (c.status.lastScheduleTime) last = humanAge(c.status.lastScheduleTime->timePoint(), now);
    std::string containers;
    std::string images;
    for (const auto& ct : c.spec.jobTemplate.spec.template_.spec.containers) {
      if (!containers.empty()) containers.push_back(',');
      if (!images.empty()) images.push_back(',');
      containers += ct.name;
      images += ct.image;
    }
    return {c.spec.schedule,
            c.spec.timeZone.value_or("<none>"),
            std::string(c.spec.suspend.value_or(false) ? "True" : "False"),
            static_cast<std::int64_t>(c.status.active.size()),
            last,
            age(c, now),
            containers,
            images,
            std::string("<none>")};
  };
  r.add(std::make_unique<TypedResource<batchv1::CronJob>>(builtinInfo("batch", "v1", "cronjobs"),
                                                          std::move(cj)));
}

void addNetworking(Registry& r) {
  KindHooks<netv1::Ingress> ing;
  ing.prepareForCreate = [](netv1::Ingress& i) { i.status = {}; };
  ing.columns = {{"Class", "string", "", "", 0},
                 {"Hosts", "string", "", "", 0},
                 {"Address", "string", "", "", 0},
                 {"Ports", "string", "", "", 0},
                 ageColumn()};
  ing.row = [](const netv1::Ingress& i, TimePoint now) -> std::vector<TableCell> {
    std::string hosts;
    for (const auto& rule : i.spec.rules) {
      if (!hosts.empty()) hosts.push_back(',');
      hosts += rule.host.empty() ? "*" : rule.host;
    }
    std::string address;
    for (const auto& lb : i.status.loadBalancer.ingress) {
      if (!address.empty()) address.push_back(',');
      address += lb.ip.empty() ? lb.hostname : lb.ip;
    }
    return {i.spec.ingressClassName.value_or("<none>"), hosts.empty() ? std::string("*") : hosts,
            address, std::string(i.spec.tls.empty() ? "80" : "80, 443"), age(i, now)};
  };
  r.add(std::make_unique<TypedResource<netv1::Ingress>>(
      builtinInfo("networking.k8s.io", "v1", "ingresses"), std::move(ing)));

  KindHooks<netv1::IngressClass> ic;
  ic.columns = {
      {"Controller", "string", "", "", 0}, {"Parameters", "string", "", "", 0}, ageColumn()};
  ic.row = [](const netv1::IngressClass& c, TimePoint now) -> std::vector<TableCell> {
    return {c.spec.controller, std::string("<none>"), age(c, now)};
  };
  r.add(std::make_unique<TypedResource<netv1::IngressClass>>(
      builtinInfo("networking.k8s.io", "v1", "ingressclasses"), std::move(ic)));

  KindHooks<netv1::NetworkPolicy> np;
  np.defaults = [](netv1::NetworkPolicy& p) {
    if (p.spec.policyTypes.empty()) {
      p.spec.policyTypes = {"Ingress"};
      if (!p.spec.egress.empty()) p.spec.policyTypes.emplace_back("Egress");
    }
    for (auto& rule : p.spec.ingress) {
      for (auto& port : rule.ports) {
        if (!port.protocol) port.protocol = "TCP";
      }
    }
    for (auto& rule : p.spec.egress) {
      for (auto& port : rule.ports) {
        if (!port.protocol) port.protocol = "TCP";
      }
    }
  };
  np.columns = {{"Pod-Selector", "string", "", "", 0}, ageColumn()};
  np.row = [](const netv1::NetworkPolicy& p, TimePoint now) -> std::vector<TableCell> {
    std::string sel = api::labels::Selector::fromLabelSelector(p.spec.podSelector).toString();
    return {sel.empty() ? std::string("<none>") : sel, age(p, now)};
  };
  r.add(std::make_unique<TypedResource<netv1::NetworkPolicy>>(
      builtinInfo("networking.k8s.io", "v1", "networkpolicies"), std::move(np)));
}

void addStorageEventsPolicy(Registry& r) {
  KindHooks<storagev1::StorageClass> sc;
  sc.defaults = [](storagev1::StorageClass& c) {
    if (!c.reclaimPolicy) c.reclaimPolicy = "Delete";
    if (!c.volumeBindingMode) c.volumeBindingMode = "Immediate";
  };
  sc.validate = [](std::vector<FieldError>& errors, const storagev1::StorageClass& c) {
    if (c.provisioner.empty()) errors.push_back(FieldError::required("provisioner", ""));
  };
  sc.columns = {{"Provisioner", "string", "", "", 0},
                {"ReclaimPolicy", "string", "", "", 0},
                {"VolumeBindingMode", "string", "", "", 0},
                {"AllowVolumeExpansion", "string", "", "", 0},
                ageColumn()};
  sc.row = [](const storagev1::StorageClass& c, TimePoint now) -> std::vector<TableCell> {
    std::string name = c.provisioner;
    return {name, c.reclaimPolicy.value_or("Delete"), c.volumeBindingMode.value_or("Immediate"),
            std::string(c.allowVolumeExpansion.value_or(false) ? "true" : "false"), age(c, now)};
  };
  r.add(std::make_unique<TypedResource<storagev1::StorageClass>>(
      builtinInfo("storage.k8s.io", "v1", "storageclasses"), std::move(sc)));

  r.add(std::make_unique<TypedResource<eventsv1::Event>>(
      builtinInfo("events.k8s.io", "v1", "events"), KindHooks<eventsv1::Event>{}));

  KindHooks<policyv1::PodDisruptionBudget> pdb;
  pdb.prepareForCreate = [](policyv1::PodDisruptionBudget& p) { p.status = {}; };
  pdb.columns = {{"Min Available", "string", "", "", 0},
                 {"Max Unavailable", "string", "", "", 0},
                 {"Allowed Disruptions", "integer", "", "", 0},
                 ageColumn()};
  pdb.row = [](const policyv1::PodDisruptionBudget& p, TimePoint now) -> std::vector<TableCell> {
    auto text = [](const std::optional<api::IntOrString>& v) {
      if (!v) return std::string("N/A");
      return v->toString();
    };
    return {text(p.spec.minAvailable), text(p.spec.maxUnavailable),
            static_cast<std::int64_t>(p.status.disruptionsAllowed), age(p, now)};
  };
  r.add(std::make_unique<TypedResource<policyv1::PodDisruptionBudget>>(
      builtinInfo("policy", "v1", "poddisruptionbudgets"), std::move(pdb)));
}

}  // namespace

void addMoreKinds(Registry& r) {
  addJobs(r);
  addNetworking(r);
  addStorageEventsPolicy(r);
}

}  // namespace kite::controlplane::apiserver
