#pragma once
// Node affinity of PersistentVolumes (local volumes above all): before
// mounting one, the kubelet checks that spec.nodeAffinity.required admits this
// node, with the NodeSelectorTerms semantics of the Kubernetes API. Plain
// structs: the kubelet maps the API objects onto them.

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kite::volumes {

struct NodeSelectorRequirement {
  std::string key;
  // As spelled in the API: "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt".
  std::string op;
  std::vector<std::string> values;
};

struct NodeSelectorTerm {
  std::vector<NodeSelectorRequirement> matchExpressions;  // over the node's labels
  std::vector<NodeSelectorRequirement> matchFields;       // "metadata.name", In/NotIn, one value
};

// Terms are ORed, the requirements of a term ANDed. A term without
// requirements matches nothing, and so does an empty list. NotIn and
// DoesNotExist match a node without the label; Gt and Lt compare the label's
// value as an integer (a label that is not one does not match).
//
// matchFields are evaluated only when nodeName is given; upstream's kubelet
// checks a volume against the node's labels alone, so it ignores them (the
// scheduler does not).
//
// A malformed term (unknown operator, In without values, Gt with a non-integer,
// an invalid label key, ...) matches nothing; when no term matches and some
// were malformed, throws kInvalid with the reasons, as upstream returns them.
bool nodeAffinityMatches(const std::vector<NodeSelectorTerm>& requiredTerms,
                         const std::map<std::string, std::string>& nodeLabels,
                         const std::string& nodeName = "");

// spec.nodeAffinity.required of a PersistentVolume; nullopt when the volume
// has none (then any node will do). Throws kNodeAffinityConflict with
// upstream's "no matching NodeSelectorTerms" when the node is not admitted;
// the kubelet reports it as "MountVolume.NodeAffinity check failed for volume
// ...", the scheduler calls the same situation a "volume node affinity
// conflict".
void checkVolumeNodeAffinity(const std::optional<std::vector<NodeSelectorTerm>>& required,
                             const std::map<std::string, std::string>& nodeLabels,
                             const std::string& nodeName = "");

}  // namespace kite::volumes
