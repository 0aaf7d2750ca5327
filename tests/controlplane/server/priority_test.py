"""PriorityClasses and the Priority admission through the real kubectl against a real
`kite server`: the built-in system classes listed by `kubectl get pc`, served in
api-resources and explain, protected from deletion; pods get their class's priority, an
unknown class is refused with upstream's message, and the globalDefault class applies to pods
without one (and only one class may be the default)."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kite_fixture import ServerTestCase  # noqa: E402


def pod(name, class_name=None):
    spec = {"containers": [{"name": "c", "image": "busybox:1.36"}]}
    if class_name:
        spec["priorityClassName"] = class_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": spec}


def priority_class(name, value, global_default=False):
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": name}, "value": value, "globalDefault": global_default}


class PriorityTest(ServerTestCase):

    def create(self, obj, check=True):
        return self.kubectl("create", "-f", "-", input=json.dumps(obj), check=check)

    def test_get_pc_lists_the_system_classes(self):
        r = self.kubectl("get", "pc")
        self.assertRegex(r.stdout, r"NAME\s+VALUE\s+GLOBAL-DEFAULT\s+AGE\s+PREEMPTIONPOLICY")
        self.assertRegex(r.stdout, r"system-cluster-critical\s+2000000000\s+false\s+\S+\s+"
                                   r"PreemptLowerPriority")
        self.assertRegex(r.stdout, r"system-node-critical\s+2000001000\s+false")
        r = self.kubectl("get", "priorityclasses.scheduling.k8s.io", "system-node-critical",
                         "-o", "jsonpath={.description}")
        self.assertIn("system critical pods", r.stdout)
        # kubectl's PriorityClass describer reads through the typed client (protobuf).
        r = self.kubectl("describe", "pc", "system-node-critical")
        self.assertRegex(r.stdout, r"Value:\s+2000001000")
        self.assertRegex(r.stdout, r"PreemptionPolicy:\s+PreemptLowerPriority")
        r = self.kubectl("delete", "pc", "system-node-critical", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("this is a system priority class and cannot be deleted", r.stderr)

    def test_system_classes_survive_a_restart_as_they_are(self):
        # The server creates them only when absent: a changed description stays.
        self.kubectl("patch", "pc", "system-cluster-critical", "--type=merge", "-p",
                     '{"description":"ours"}')
        uid = self.server.kubectl_json("get", "pc", "system-cluster-critical")["metadata"]["uid"]
        self.server.stop()
        self.server.start()
        got = self.server.kubectl_json("get", "pc", "system-cluster-critical")
        self.assertEqual(got["description"], "ours")
        self.assertEqual(got["metadata"]["uid"], uid)
        self.assertEqual(len(self.server.kubectl_json("get", "pc")["items"]), 2)

    def test_api_resources_and_explain(self):
        r = self.kubectl("api-resources", "--api-group=scheduling.k8s.io")
        self.assertRegex(r.stdout,
                         r"priorityclasses\s+pc\s+scheduling.k8s.io/v1\s+false\s+PriorityClass")
        r = self.kubectl("explain", "priorityclass")
        self.assertIn("KIND:       PriorityClass", r.stdout)
        self.assertIn("globalDefault", r.stdout)
        self.assertIn("preemptionPolicy", r.stdout)

    def test_kubectl_create_priorityclass(self):
        # `kubectl create priorityclass` sends protobuf: upstream's field numbers.
        self.kubectl("create", "priorityclass", "batch-low", "--value=-10",
                     "--description=batch work", "--preemption-policy=Never")
        self.addCleanup(self.kubectl, "delete", "pc", "batch-low")
        got = self.server.kubectl_json("get", "pc", "batch-low")
        self.assertEqual(got["value"], -10)
        self.assertEqual(got["description"], "batch work")
        self.assertEqual(got["preemptionPolicy"], "Never")
        self.assertNotIn("globalDefault", got)
        r = self.kubectl("patch", "pc", "batch-low", "--type=merge", "-p", '{"value":5}',
                         check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("value: Forbidden: may not be changed in an update.", r.stderr)

    def test_apply_and_server_side_apply(self):
        pc = priority_class("applied", 300)
        pc["description"] = "first"
        self.apply_json(pc)
        self.addCleanup(self.kubectl, "delete", "pc", "applied")
        pc["description"] = "second"
        self.apply_json(pc)
        self.assertEqual(self.server.kubectl_json("get", "pc", "applied")["description"], "second")
        pc["description"] = "third"
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
                     input=json.dumps(pc))
        got = self.server.kubectl_json("get", "pc", "applied")
        self.assertEqual(got["description"], "third")
        self.assertEqual(got["value"], 300)

    def test_pod_gets_the_priority_of_its_class(self):
        self.create(pod("critical", "system-node-critical"))
        self.addCleanup(self.kubectl, "delete", "pod", "critical", "--wait=false")
        got = self.server.kubectl_json("get", "pod", "critical")
        self.assertEqual(got["spec"]["priority"], 2000001000)
        self.assertEqual(got["spec"]["preemptionPolicy"], "PreemptLowerPriority")

    def test_unknown_class_is_refused(self):
        r = self.create(pod("lost", "no-such-class"), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('pods "lost" is forbidden: no PriorityClass with name no-such-class was '
                      'found', r.stderr)
        r = self.kubectl("get", "pod", "lost", check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_global_default_applies_and_is_unique(self):
        self.create(priority_class("everyday", 1000, global_default=True))
        self.addCleanup(self.kubectl, "delete", "pc", "everyday")
        r = self.create(priority_class("another", 2000, global_default=True), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("PriorityClass everyday is already marked as default. Only one default "
                      "can exist", r.stderr)
        r = self.create(priority_class("too-high", 1000000001), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("maximum allowed value of a user defined priority is 1000000000", r.stderr)

        self.create(pod("plain"))
        self.addCleanup(self.kubectl, "delete", "pod", "plain", "--wait=false")
        got = self.server.kubectl_json("get", "pod", "plain")
        self.assertEqual(got["spec"]["priority"], 1000)
        self.assertEqual(got["spec"]["priorityClassName"], "everyday")


if __name__ == "__main__":
    unittest.main()
