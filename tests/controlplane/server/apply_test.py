"""Server-side apply with field ownership, through the real kubectl against `kite server`:
managedFields recorded on create/update/patch, fields a manager stops applying removed,
conflicts with kubectl's message, --force-conflicts, --show-managed-fields, the cap of ten
Update managers ("ancient-changes"), "before-first-apply", and the scale subresource."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kite_fixture import ServerTestCase  # noqa: E402

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: %(ns)s
spec:
  replicas: %(replicas)d
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: c
        image: nginx:1.25
"""


def configmap(ns, data, name="cm"):
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": name, "namespace": ns}, "data": data})


class ServerSideApplyTest(ServerTestCase):
    def ssa(self, manager, body, *extra, check=True):
        return self.kubectl("apply", "--server-side", "--field-manager=" + manager, *extra,
                            "-f", "-", input=body, check=check)

    def managed(self, kind, name, ns):
        obj = self.server.kubectl_json("get", kind, name, "-n", ns, "--show-managed-fields")
        return obj, {(e["manager"], e["operation"]): e for e in obj["metadata"]["managedFields"]}

    def test_conflict_with_updater_then_force(self):
        ns = self.make_namespace("ssa-force")
        self.kubectl("create", "-f", "-", input=DEPLOY % {"ns": ns, "replicas": 1})
        _, managers = self.managed("deploy", "web", ns)
        created = managers[("kubectl-create", "Update")]
        self.assertEqual(created["apiVersion"], "apps/v1")
        self.assertEqual(created["fieldsType"], "FieldsV1")
        self.assertIn("f:replicas", created["fieldsV1"]["f:spec"])

        # Same values: no conflict, shared ownership.
        self.ssa("other", DEPLOY % {"ns": ns, "replicas": 1})
        r = self.ssa("other", DEPLOY % {"ns": ns, "replicas": 3}, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('Apply failed with 1 conflict: conflict with "kubectl-create" '
                      'using apps/v1: .spec.replicas', r.stderr)
        self.assertIn("--force-conflicts", r.stderr)  # kubectl's own advice follows
        self.assertEqual(self.kubectl("get", "deploy", "web", "-n", ns, "-o",
                                      "jsonpath={.spec.replicas}").stdout, "1")

        r = self.ssa("other", DEPLOY % {"ns": ns, "replicas": 3}, "--force-conflicts")
        self.assertIn("deployment.apps/web serverside-applied", r.stdout)
        obj, managers = self.managed("deploy", "web", ns)
        self.assertEqual(obj["spec"]["replicas"], 3)
        self.assertIn("f:replicas", managers[("other", "Apply")]["fieldsV1"]["f:spec"])
        self.assertNotIn("f:replicas",
                         managers[("kubectl-create", "Update")]["fieldsV1"]["f:spec"])
        # The applier's list items are keyed as upstream.
        spec = managers[("other", "Apply")]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]
        self.assertIn('k:{"name":"c"}', spec["f:containers"])

    def test_client_side_apply_migrates_to_server_side(self):
        ns = self.make_namespace("ssa-migrate")
        self.kubectl("apply", "-f", "-", input=DEPLOY % {"ns": ns, "replicas": 1})
        _, managers = self.managed("deploy", "web", ns)
        self.assertIn(("kubectl-client-side-apply", "Update"), managers)
        # After a first server-side apply of the same values, kubectl hands the client-side
        # applier's fields to the server-side manager (a JSON patch of managedFields): later
        # changes do not conflict, and the old entry is gone.
        self.ssa("mine", DEPLOY % {"ns": ns, "replicas": 1})
        r = self.ssa("mine", DEPLOY % {"ns": ns, "replicas": 2})
        self.assertNotIn("Warning", r.stderr)
        obj, managers = self.managed("deploy", "web", ns)
        self.assertEqual(obj["spec"]["replicas"], 2)
        self.assertEqual(obj["spec"]["selector"], {"matchLabels": {"app": "web"}})
        self.assertNotIn(("kubectl-client-side-apply", "Update"), managers)
        self.assertIn("f:replicas", managers[("mine", "Apply")]["fieldsV1"]["f:spec"])

    def test_shared_fields_removal_and_conflict_between_appliers(self):
        ns = self.make_namespace("ssa-share")
        self.ssa("one", configmap(ns, {"a": "1", "b": "2"}))
        self.ssa("two", configmap(ns, {"b": "2", "c": "3"}))
        # "one" stops applying b: two still owns it, so it stays.
        self.ssa("one", configmap(ns, {"a": "1"}))
        obj, managers = self.managed("configmap", "cm", ns)
        self.assertEqual(obj["data"], {"a": "1", "b": "2", "c": "3"})
        self.assertEqual(managers[("one", "Apply")]["fieldsV1"], {"f:data": {"f:a": {}}})
        self.assertEqual(managers[("two", "Apply")]["fieldsV1"],
                         {"f:data": {"f:b": {}, "f:c": {}}})
        # "one" stops applying a, which nobody else owns: it is removed.
        self.ssa("one", configmap(ns, {"b": "2"}))
        obj, _ = self.managed("configmap", "cm", ns)
        self.assertEqual(obj["data"], {"b": "2", "c": "3"})

        r = self.ssa("one", configmap(ns, {"b": "9", "c": "9"}), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('Apply failed with 2 conflicts: conflicts with "two":\n- .data.b\n- .data.c',
                      r.stderr)
        # The Status carries one cause per field.
        raw = self.ssa("one", configmap(ns, {"c": "9"}), "-v=8", check=False)
        self.assertIn("409 Conflict", raw.stderr)
        self.assertIn('reason\\":\\"FieldManagerConflict', raw.stderr)
        self.assertIn('field\\":\\".data.c', raw.stderr)

    def test_update_managers_recorded(self):
        ns = self.make_namespace("ssa-update")
        self.kubectl("create", "-f", "-", input=configmap(ns, {"k": "v"}))
        self.kubectl("label", "configmap", "cm", "-n", ns, "tier=web")
        _, managers = self.managed("configmap", "cm", ns)
        self.assertEqual(managers[("kubectl-create", "Update")]["fieldsV1"],
                         {"f:data": {".": {}, "f:k": {}}})
        self.assertEqual(managers[("kubectl-label", "Update")]["fieldsV1"],
                         {"f:metadata": {"f:labels": {".": {}, "f:tier": {}}}})
        for e in managers.values():
            self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # An applier changing a field an updater owns is a conflict naming the updater.
        r = self.ssa("ssa", configmap(ns, {"k": "w"}), check=False)
        self.assertIn('conflict with "kubectl-create" using v1: .data.k', r.stderr)

    def test_more_than_ten_updaters_are_capped_into_ancient_changes(self):
        ns = self.make_namespace("ssa-cap")
        self.kubectl("create", "-f", "-", input=configmap(ns, {"k": "v"}))
        for i in range(12):
            self.kubectl("label", "configmap", "cm", "-n", ns, f"l{i}=x",
                         f"--field-manager=writer-{i}")
        obj, managers = self.managed("configmap", "cm", ns)
        updates = [e for e in obj["metadata"]["managedFields"] if e["operation"] == "Update"]
        self.assertEqual(len(updates), 10, [e["manager"] for e in updates])
        ancient = managers[("ancient-changes", "Update")]
        # The oldest writers were merged: kubectl-create's data and the first labels.
        self.assertIn("f:k", ancient["fieldsV1"]["f:data"])
        self.assertIn("f:l0", ancient["fieldsV1"]["f:metadata"]["f:labels"])
        self.assertIn(("writer-11", "Update"), managers)
        self.assertNotIn(("writer-0", "Update"), managers)
        # Nothing is lost: an apply changing a merged field still conflicts.
        r = self.ssa("ssa", configmap(ns, {"k": "w"}), check=False)
        self.assertIn('conflict with "ancient-changes"', r.stderr)

    def test_first_apply_to_an_untracked_object_meets_before_first_apply(self):
        ns = self.make_namespace("ssa-bfa")
        self.kubectl("create", "-f", "-", input=configmap(ns, {"k": "v"}))
        # A single empty entry resets managedFields, as upstream documents.
        self.kubectl("patch", "configmap", "cm", "-n", ns, "--type=json", "-p",
                     '[{"op":"replace","path":"/metadata/managedFields","value":[{}]}]')
        obj = self.server.kubectl_json("get", "configmap", "cm", "-n", ns,
                                       "--show-managed-fields")
        self.assertFalse(obj["metadata"].get("managedFields"))
        r = self.ssa("ssa", configmap(ns, {"k": "w"}), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('conflict with "before-first-apply"', r.stderr)
        self.ssa("ssa", configmap(ns, {"k": "w"}), "--force-conflicts")
        _, managers = self.managed("configmap", "cm", ns)
        self.assertEqual(managers[("ssa", "Apply")]["fieldsV1"]["f:data"], {"f:k": {}})

    def test_scale_subresource_owns_replicas(self):
        ns = self.make_namespace("ssa-scale")
        self.ssa("deployer", DEPLOY % {"ns": ns, "replicas": 1})
        self.kubectl("scale", "deployment", "web", "-n", ns, "--replicas=3")
        obj, _ = self.managed("deployment", "web", ns)
        scale = [e for e in obj["metadata"]["managedFields"] if e.get("subresource") == "scale"]
        self.assertEqual(len(scale), 1, obj["metadata"]["managedFields"])
        self.assertIn(scale[0]["manager"], ("kubectl", "kubectl-scale"))
        self.assertEqual(scale[0]["operation"], "Update")
        self.assertEqual(scale[0]["fieldsV1"], {"f:spec": {"f:replicas": {}}})
        # The applier lost spec.replicas: applying 1 again conflicts with the scaler.
        r = self.ssa("deployer", DEPLOY % {"ns": ns, "replicas": 1}, check=False)
        self.assertRegex(r.stderr, r'conflict with "kubectl(-scale)?" with subresource "scale"')

    def test_show_managed_fields_in_yaml(self):
        ns = self.make_namespace("ssa-yaml")
        self.ssa("yaml-mgr", configmap(ns, {"x": "1"}))
        shown = self.kubectl("get", "configmap", "cm", "-n", ns, "-o", "yaml",
                             "--show-managed-fields").stdout
        self.assertIn("managedFields:", shown)
        self.assertIn("manager: yaml-mgr", shown)
        self.assertIn("operation: Apply", shown)
        self.assertIn("f:x: {}", shown)
        hidden = self.kubectl("get", "configmap", "cm", "-n", ns, "-o", "yaml").stdout
        self.assertNotIn("managedFields", hidden)

    def test_list_items_owned_per_key(self):
        ns = self.make_namespace("ssa-lists")
        base = json.loads(json.dumps({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns},
            "spec": {"containers": [{"name": "a", "image": "busybox"}]}}))
        self.ssa("first", json.dumps(base))
        base["spec"]["containers"] = [{"name": "a", "image": "busybox"},
                                      {"name": "b", "image": "busybox"}]
        # A second manager adds container b (pods allow no new containers: dry run only).
        r = self.ssa("second", json.dumps(base), "--dry-run=server", check=False)
        self.assertIn("Forbidden", r.stderr)
        # Labels: one applier per key; dropping a key removes only that key.
        lab = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "p", "namespace": ns, "labels": {"x": "1"}}}
        self.ssa("labels-x", json.dumps(lab))
        lab["metadata"]["labels"] = {"y": "2"}
        self.ssa("labels-y", json.dumps(lab))
        lab["metadata"]["labels"] = {}
        self.ssa("labels-x", json.dumps(lab))
        obj, managers = self.managed("pod", "p", ns)
        self.assertEqual(obj["metadata"]["labels"], {"y": "2"})
        self.assertEqual(obj["spec"]["containers"][0]["image"], "busybox")
        self.assertIn('k:{"name":"a"}', managers[("first", "Apply")]["fieldsV1"]["f:spec"]
                      ["f:containers"])


if __name__ == "__main__":
    unittest.main()
