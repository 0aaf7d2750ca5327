"""The real kubectl against `kite server --disable-agent`: the user's examples (apply, get,
describe, delete), short names, output formats, watches, waits, explain, api-resources,
contexts, the namespace finalize recipe, conflicts, validation errors, scale, label,
annotate, patch and edit."""

import glob
import json
import os
import re
import stat
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kite_fixture  # noqa: E402
from kite_fixture import ServerTestCase  # noqa: E402

POD = """apiVersion: v1
kind: Pod
metadata:
  name: %(name)s
  labels:
    app: %(app)s
spec:
  containers:
  - name: c
    image: busybox:1.36
"""

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: %(name)s
spec:
  replicas: 1
  selector:
    matchLabels:
      app: %(name)s
  template:
    metadata:
      labels:
        app: %(name)s
    spec:
      containers:
      - name: c
        image: nginx:1.25
"""


def examples():
    files = sorted(glob.glob(os.path.join(kite_fixture.EXAMPLES, "*.yaml")))
    if not files:
        raise unittest.SkipTest("KITE_EXAMPLES has no *.yaml")
    return files


class ExamplesTest(ServerTestCase):
    """Every file in examples/ as it is: apply, get, describe, delete."""

    def wait_namespace_gone(self, name):
        self.kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=false")
        for _ in range(300):
            r = self.kubectl("get", "namespace", name, check=False)
            if r.returncode != 0 and "NotFound" in r.stderr:
                return
            time.sleep(0.1)
        self.fail("namespace %s still there" % name)

    def test_apply_get_describe_delete_each_file(self):
        for path in examples():
            with open(path) as f:
                text = f.read()
            with self.subTest(file=os.path.basename(path)):
                # Files share the mysql namespace: start each from a clean cluster.
                self.wait_namespace_gone("mysql")
                try:
                    self.apply_get_describe_delete(path, text)
                finally:
                    self.kubectl("delete", "-f", path, "--ignore-not-found", check=False)

    def apply_get_describe_delete(self, path, text):
        applied = self.kubectl("apply", "-f", path).stdout
        self.assertRegex(applied, r"(created|configured|unchanged)")
        again = self.kubectl("apply", "-f", path)
        self.assertNotIn("Warning", again.stderr)
        for line in again.stdout.strip().splitlines():
            self.assertTrue(line.endswith("unchanged"), line)
        items = json.loads(self.kubectl("get", "-f", path, "-o", "json").stdout)
        items = items.get("items", [items])
        self.assertEqual(len(items), text.count("\nkind: ") + text.startswith("kind: "))
        for item in items:
            self.assertTrue(item["metadata"]["uid"])
            self.assertTrue(item["metadata"]["resourceVersion"])
            self.assertTrue(item["metadata"]["creationTimestamp"])
            self.assertIn("kubectl.kubernetes.io/last-applied-configuration",
                          item["metadata"].get("annotations", {}))
        table = self.kubectl("get", "-f", path).stdout
        described = self.kubectl("describe", "-f", path).stdout
        for item in items:
            self.assertIn(item["metadata"]["name"], table)
            self.assertIn(item["metadata"]["name"], described)
        # Upstream a namespace is emptied by its controller after the delete call returns,
        # so deleting the file's other objects right after the namespace succeeds too.
        deleted = self.kubectl("delete", "-f", path, check=False)
        self.assertEqual(deleted.returncode, 0, deleted.stderr)
        self.assertEqual(deleted.stdout.count(" deleted"), len(items), deleted.stdout)
        if "\nkind: Namespace" in "\n" + text:
            self.wait_namespace_gone("mysql")
        r = self.kubectl("get", "-f", path, check=False)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("NotFound", r.stderr)

    def test_apply_all_examples_then_get_all(self):
        self.addCleanup(self.wait_namespace_gone, "mysql")
        for path in examples():
            self.addCleanup(self.kubectl, "delete", "-f", path, "--ignore-not-found",
                            check=False)
            self.kubectl("apply", "-f", path)
        out = self.kubectl("get", "all", "-A").stdout
        self.assertIn("pod/nginx-pod", out)
        self.assertIn("deployment.apps/mysql-deploy", out)
        self.assertIn("service/nginx-nodeport", out)
        wide = self.kubectl("get", "svc", "-o", "wide").stdout
        self.assertRegex(wide, r"nginx-nodeport\s+NodePort\s+10\.43\.\d+\.\d+\s+<none>\s+80:30080/TCP")
        self.assertRegex(wide, r"db-external\s+ExternalName\s+<none>\s+db\.example\.internal")
        self.assertRegex(wide, r"SELECTOR")


class KubectlTest(ServerTestCase):
    def test_short_names(self):
        ns = self.make_namespace("shortnames")
        self.kubectl("apply", "-n", ns, "-f", "-", input=POD % {"name": "p1", "app": "a"})
        self.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOY % {"name": "d1"})
        self.configmap(ns, "c1", {"k": "v"})
        self.service(ns, "s1")
        for short in ["ns", "no", "po", "deploy", "svc", "rs", "cm", "pv", "pvc", "ep", "sa",
                      "ev", "limits", "quota", "ds", "sts", "secrets", "leases",
                      "endpointslices", "podtemplates", "controllerrevisions"]:
            with self.subTest(short=short):
                r = self.kubectl("get", short, "-n", ns, check=False)
                self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("p1", self.kubectl("get", "po", "-n", ns).stdout)
        self.assertIn("d1", self.kubectl("get", "deploy", "-n", ns).stdout)
        self.assertIn("c1", self.kubectl("get", "cm", "-n", ns).stdout)
        self.assertIn("s1", self.kubectl("get", "svc", "-n", ns).stdout)
        self.assertIn(ns, self.kubectl("get", "ns").stdout)

    def test_create_namespace_and_configmap_imperative(self):
        # kubectl's typed clients send protobuf bodies (Content-Type
        # application/vnd.kubernetes.protobuf), which upstream accepts.
        r = self.kubectl("create", "namespace", "imperative", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("namespace/imperative created", r.stdout)
        r = self.kubectl("create", "configmap", "imp", "-n", "imperative",
                         "--from-literal=a=b", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.kubectl("create", "deployment", "imp", "-n", "imperative",
                         "--image=nginx", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.kubectl("create", "service", "clusterip", "imp", "-n", "imperative",
                         "--tcp=80", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_short_name_ing(self):
        r = self.kubectl("get", "ing", "-A", check=False)
        if r.returncode != 0 and "doesn't have a resource type" in r.stderr:
            self.skipTest("networking.k8s.io ingresses are not served yet: " + r.stderr.strip())
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_output_formats(self):
        ns = self.make_namespace("formats")
        self.kubectl("apply", "-n", ns, "-f", "-", input=POD % {"name": "web", "app": "web"})
        table = self.kubectl("get", "pods", "-n", ns).stdout
        self.assertRegex(table, r"NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE")
        self.assertRegex(table, r"web\s+0/1\s+Pending\s+0\s+")
        wide = self.kubectl("get", "pods", "-n", ns, "-o", "wide").stdout
        self.assertRegex(wide, r"NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+"
                         r"NOMINATED NODE\s+READINESS GATES")
        y = self.kubectl("get", "pod", "web", "-n", ns, "-o", "yaml").stdout
        self.assertIn("kind: Pod", y)
        self.assertIn("image: busybox:1.36", y)
        j = json.loads(self.kubectl("get", "pod", "web", "-n", ns, "-o", "json").stdout)
        self.assertEqual(j["kind"], "Pod")
        self.assertEqual(j["apiVersion"], "v1")
        self.assertEqual(j["metadata"]["namespace"], ns)
        self.assertEqual(j["spec"]["containers"][0]["terminationMessagePolicy"], "File")
        jp = self.kubectl("get", "pod", "web", "-n", ns, "-o",
                          "jsonpath={.spec.containers[0].image}").stdout
        self.assertEqual(jp, "busybox:1.36")
        names = self.kubectl("get", "pods", "-n", ns, "-o", "name").stdout
        self.assertEqual(names.strip(), "pod/web")
        lst = json.loads(self.kubectl("get", "pods", "-n", ns, "-o", "json").stdout)
        self.assertEqual(lst["kind"], "List")
        self.assertEqual([i["metadata"]["name"] for i in lst["items"]], ["web"])
        cc = self.kubectl("get", "pods", "-n", ns, "-o",
                          "custom-columns=N:.metadata.name,I:.spec.containers[*].image").stdout
        self.assertRegex(cc, r"web\s+busybox:1.36")
        labels = self.kubectl("get", "pods", "-n", ns, "--show-labels").stdout
        self.assertIn("app=web", labels)
        sel = self.kubectl("get", "pods", "-n", ns, "-l", "app=other").stdout
        self.assertNotIn("web", sel)
        fs = self.kubectl("get", "pods", "-n", ns, "--field-selector", "status.phase=Pending",
                          "-o", "name").stdout
        self.assertEqual(fs.strip(), "pod/web")

    def test_get_all_and_namespace_flag(self):
        ns = self.make_namespace("getall")
        self.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOY % {"name": "d"})
        self.service(ns, "s")
        out = self.kubectl("get", "all", "-n", ns).stdout
        self.assertIn("deployment.apps/d", out)
        self.assertIn("service/s", out)
        other = self.kubectl("get", "deploy", "-n", "default").stdout
        self.assertNotIn(" d ", other)
        r = self.kubectl("get", "all", "-n", "default", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_upstream_default_objects(self):
        # Upstream every cluster has service/kubernetes in default and a default
        # ServiceAccount in each namespace (made by controllers kite may add later).
        svc = self.kubectl("get", "svc", "kubernetes", "-n", "default", check=False)
        if svc.returncode != 0:
            self.skipTest("service/kubernetes not created by the server (controllers pending)")

    def test_config_set_context_namespace(self):
        ns = self.make_namespace("ctxns")
        self.kubectl("apply", "-n", ns, "-f", "-", input=POD % {"name": "ctxpod", "app": "x"})
        with tempfile.TemporaryDirectory() as d:
            cfg = os.path.join(d, "kubeconfig")
            with open(self.server.kubeconfig) as src, open(cfg, "w") as dst:
                dst.write(src.read())
            env = self.server.env(KUBECONFIG=cfg)
            self.kubectl("config", "set-context", "--current", "--namespace", ns, env=env)
            view = self.kubectl("config", "view", "--minify", "-o",
                                "jsonpath={..namespace}", env=env).stdout
            self.assertEqual(view, ns)
            out = self.kubectl("get", "pods", "-o", "name", env=env).stdout
            self.assertEqual(out.strip(), "pod/ctxpod")

    def test_get_watch_sees_change(self):
        ns = self.make_namespace("watch")
        p = self.server.popen_kubectl("get", "configmaps", "-n", ns, "-w", "--no-headers")
        try:
            time.sleep(1)  # not for correctness: the change is looked for below in any case
            self.configmap(ns, "watched", {"a": "b"})
            line = p.stdout.readline()
            while line and "kube-root-ca.crt" in line:
                line = p.stdout.readline()
            self.assertRegex(line, r"^watched\s+1\s+")
        finally:
            self.server.stop_kubectl(p)

    def test_wait_for_condition_jsonpath_and_delete(self):
        ns = self.make_namespace("waits")
        self.configmap(ns, "w", {"a": "b"})
        r = self.kubectl("wait", "--for=jsonpath={.data.a}=b", "configmap/w", "-n", ns,
                         "--timeout=30s")
        self.assertIn("condition met", r.stdout)
        # A status condition set through the status subresource.
        self.kubectl("apply", "-n", ns, "-f", "-", input=POD % {"name": "cp", "app": "c"})
        patch = json.dumps({"status": {"conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}})
        self.kubectl("patch", "pod", "cp", "-n", ns, "--subresource=status", "--type=merge",
                     "-p", patch)
        r = self.kubectl("wait", "--for=condition=Ready", "pod/cp", "-n", ns, "--timeout=30s")
        self.assertIn("condition met", r.stdout)
        # -v=6 logs each request on stderr: delete only once the waiter is watching, or
        # it may start after the delete and find nothing to wait for.
        waiter = self.server.popen_kubectl("wait", "--for=delete", "configmap/w", "-n", ns,
                                           "--timeout=60s", "-v=6")
        try:
            log = []
            for line in waiter.stderr:
                log.append(line)
                if "watch=true" in line:
                    break
            self.assertTrue(any("watch=true" in l for l in log), "".join(log))
            self.kubectl("delete", "configmap", "w", "-n", ns)
            out, err = waiter.communicate(timeout=60)
            self.assertEqual(waiter.returncode, 0, err)
            self.assertIn("condition met", out)
        finally:
            self.server.stop_kubectl(waiter)

    def test_explain_and_api_resources(self):
        r = self.kubectl("explain", "pod.spec")
        self.assertIn("KIND:       Pod", r.stdout)
        self.assertIn("containers", r.stdout)
        self.assertRegex(r.stdout, r"FIELD:\s+spec <PodSpec>")
        r = self.kubectl("explain", "deployment.spec.strategy")
        self.assertIn("rollingUpdate", r.stdout)
        r = self.kubectl("api-resources")
        self.assertRegex(r.stdout, r"NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND")
        self.assertRegex(r.stdout, r"pods\s+po\s+v1\s+true\s+Pod")
        self.assertRegex(r.stdout, r"deployments\s+deploy\s+apps/v1\s+true\s+Deployment")
        self.assertRegex(r.stdout, r"namespaces\s+ns\s+v1\s+false\s+Namespace")
        r = self.kubectl("api-versions")
        self.assertIn("apps/v1", r.stdout)
        r = self.kubectl("version", "-o", "json")
        self.assertEqual(json.loads(r.stdout)["serverVersion"]["minor"], "32")

    def test_auth_can_i(self):
        r = self.kubectl("auth", "can-i", "create", "pods", check=False)
        if r.returncode != 0 and "yes" not in r.stdout:
            self.fail("kubectl auth can-i create pods as system:admin: stdout %r stderr %r "
                      "(SelfSubjectAccessReview not served?)" % (r.stdout, r.stderr))
        self.assertEqual(r.stdout.strip(), "yes")

    def test_namespace_finalize_recipe(self):
        ns = self.make_namespace("stuck")
        # A finalizer nothing will remove keeps the namespace in Terminating; a configmap
        # with its own finalizer keeps content around.
        self.configmap(ns, "held", {"a": "b"})
        self.kubectl("patch", "configmap", "held", "-n", ns, "--type=merge", "-p",
                     '{"metadata":{"finalizers":["example.com/hold"]}}')
        self.kubectl("delete", "namespace", ns, "--wait=false")
        phase = self.kubectl("get", "namespace", ns, "-o", "jsonpath={.status.phase}").stdout
        self.assertEqual(phase, "Terminating")
        doc = json.loads(self.kubectl("get", "namespace", ns, "-o", "json").stdout)
        self.assertIn("kubernetes", doc["spec"].get("finalizers", []))
        doc["spec"]["finalizers"] = []
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(doc, f)
            path = f.name
        try:
            r = self.kubectl("replace", "--raw", "/api/v1/namespaces/%s/finalize" % ns, "-f", path)
            self.assertEqual(json.loads(r.stdout)["spec"].get("finalizers", []), [])
        finally:
            os.unlink(path)
        for _ in range(300):
            r = self.kubectl("get", "namespace", ns, check=False)
            if r.returncode != 0:
                break
            time.sleep(0.1)
        self.assertIn("NotFound", r.stderr)

    def test_conflict_message(self):
        ns = self.make_namespace("conflict")
        self.configmap(ns, "c", {"a": "1"})
        old = self.kubectl("get", "configmap", "c", "-n", ns, "-o", "json").stdout
        self.kubectl("patch", "configmap", "c", "-n", ns, "--type=merge", "-p",
                     '{"data":{"a":"2"}}')
        r = self.kubectl("replace", "-f", "-", input=old, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('Error from server (Conflict): error when replacing "STDIN": Operation '
                      'cannot be fulfilled on configmaps "c": the object has been modified; '
                      'please apply your changes to the latest version and try again',
                      r.stderr)

    def test_already_exists_message(self):
        ns = self.make_namespace("exists")
        cm = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "c", "namespace": ns}})
        self.kubectl("create", "-f", "-", input=cm)
        r = self.kubectl("create", "-f", "-", input=cm, check=False)
        self.assertIn('Error from server (AlreadyExists): error when creating \"STDIN\": configmaps "c" already exists',
                      r.stderr)

    def test_validation_error_message(self):
        bad = """apiVersion: v1
kind: Pod
metadata:
  name: bad
spec:
  containers:
  - name: c
"""
        r = self.kubectl("apply", "-f", "-", input=bad, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('The Pod "bad" is invalid: spec.containers[0].image: Required value',
                      r.stderr)
        typo = (POD % {"name": "typo", "app": "t"}).replace("  - name: c\n",
                                                             "  - name: c\n    imagee: x\n")
        r = self.kubectl("apply", "-f", "-", input=typo, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('unknown field "spec.containers[0].imagee"', r.stderr)
        r = self.kubectl("apply", "-f", "-", check=False,
                         input="apiVersion: v1\nkind: Namespace\nmetadata:\n  name: Not_Valid\n")
        self.assertIn('The Namespace "Not_Valid" is invalid: metadata.name: Invalid value: '
                      '"Not_Valid"', r.stderr)

    def test_not_found_message(self):
        r = self.kubectl("get", "pod", "nope", check=False)
        self.assertEqual(r.stderr.strip(), 'Error from server (NotFound): pods "nope" not found')

    def test_scale_label_annotate(self):
        ns = self.make_namespace("scale")
        self.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOY % {"name": "web"})
        r = self.kubectl("scale", "deploy", "web", "-n", ns, "--replicas=3")
        self.assertIn("deployment.apps/web scaled", r.stdout)
        self.assertEqual(self.kubectl("get", "deploy", "web", "-n", ns, "-o",
                                      "jsonpath={.spec.replicas}").stdout, "3")
        r = self.kubectl("scale", "deploy", "web", "-n", ns, "--replicas=5",
                         "--current-replicas=2", check=False)
        self.assertNotEqual(r.returncode, 0)
        r = self.kubectl("label", "deploy", "web", "-n", ns, "tier=front")
        self.assertIn("deployment.apps/web labeled", r.stdout)
        r = self.kubectl("label", "deploy", "web", "-n", ns, "tier=back", check=False)
        self.assertIn("already has a value", r.stderr)
        self.kubectl("label", "deploy", "web", "-n", ns, "tier=back", "--overwrite")
        r = self.kubectl("annotate", "deploy", "web", "-n", ns, "note=hello")
        self.assertIn("deployment.apps/web annotated", r.stdout)
        got = json.loads(self.kubectl("get", "deploy", "web", "-n", ns, "-o", "json").stdout)
        self.assertEqual(got["metadata"]["labels"]["tier"], "back")
        self.assertEqual(got["metadata"]["annotations"]["note"], "hello")
        self.kubectl("label", "deploy", "web", "-n", ns, "tier-")
        got = json.loads(self.kubectl("get", "deploy", "web", "-n", ns, "-o", "json").stdout)
        self.assertNotIn("tier", got["metadata"].get("labels", {}))
        self.assertGreaterEqual(got["metadata"]["generation"], 2)

    def test_patch_types(self):
        ns = self.make_namespace("patches")
        self.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOY % {"name": "p"})
        # Strategic merge: containers merge by name.
        self.kubectl("patch", "deploy", "p", "-n", ns, "-p",
                     '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}')
        got = json.loads(self.kubectl("get", "deploy", "p", "-n", ns, "-o", "json").stdout)
        names = [c["name"] for c in got["spec"]["template"]["spec"]["containers"]]
        self.assertEqual(sorted(names), ["c", "side"])
        # Merge patch replaces the list.
        self.kubectl("patch", "deploy", "p", "-n", ns, "--type=merge", "-p",
                     '{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"busybox"}]}}}}')
        got = json.loads(self.kubectl("get", "deploy", "p", "-n", ns, "-o", "json").stdout)
        names = [c["name"] for c in got["spec"]["template"]["spec"]["containers"]]
        self.assertEqual(names, ["only"])
        # JSON patch.
        self.kubectl("patch", "deploy", "p", "-n", ns, "--type=json", "-p",
                     '[{"op":"replace","path":"/spec/replicas","value":4}]')
        self.assertEqual(self.kubectl("get", "deploy", "p", "-n", ns, "-o",
                                      "jsonpath={.spec.replicas}").stdout, "4")
        r = self.kubectl("patch", "deploy", "p", "-n", ns, "--type=json", "-p",
                         '[{"op":"test","path":"/spec/replicas","value":9}]', check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("testing value /spec/replicas failed", r.stderr)
        r = self.kubectl("patch", "deploy", "p", "-n", ns, "--type=merge", "-p", "{not json",
                         check=False)
        self.assertNotEqual(r.returncode, 0)
        r = self.kubectl("patch", "deploy", "p", "-n", ns, "--type=merge", "-p",
                         '{"spec":{"replicas":4}}')
        self.assertIn("(no change)", r.stdout)

    def test_edit_with_editor_script(self):
        ns = self.make_namespace("edit")
        self.configmap(ns, "e", {"color": "red"})
        with tempfile.TemporaryDirectory() as d:
            editor = os.path.join(d, "editor.sh")
            with open(editor, "w") as f:
                f.write("#!/bin/sh\nsed -i 's/color: red/color: blue/' \"$1\"\n")
            os.chmod(editor, stat.S_IRWXU)
            r = self.kubectl("edit", "configmap", "e", "-n", ns,
                             env=self.server.env(EDITOR=editor, KUBE_EDITOR=editor))
            self.assertIn("configmap/e edited", r.stdout)
        self.assertEqual(self.kubectl("get", "configmap", "e", "-n", ns, "-o",
                                      "jsonpath={.data.color}").stdout, "blue")

    def test_dry_run_and_diff(self):
        ns = self.make_namespace("dryrun")
        r = self.kubectl("apply", "-n", ns, "--dry-run=server", "-f", "-",
                         input=POD % {"name": "dry", "app": "d"})
        self.assertIn("pod/dry created (server dry run)", r.stdout)
        r = self.kubectl("get", "pod", "dry", "-n", ns, check=False)
        self.assertIn("NotFound", r.stderr)
        r = self.kubectl("apply", "-n", ns, "--server-side", "-f", "-",
                         input=POD % {"name": "ssa", "app": "d"})
        self.assertIn("pod/ssa serverside-applied", r.stdout)

    def test_delete_by_label_and_all(self):
        ns = self.make_namespace("delsel")
        for i in range(3):
            self.configmap(ns, "c%d" % i, {})
        self.kubectl("label", "configmap", "c0", "c1", "-n", ns, "group=x")
        r = self.kubectl("delete", "configmap", "-n", ns, "-l", "group=x")
        self.assertIn('configmap "c0" deleted', r.stdout)
        self.assertIn('configmap "c1" deleted', r.stdout)
        left = self.kubectl("get", "configmap", "-n", ns, "-o", "name").stdout.split()
        self.assertIn("configmap/c2", left)
        self.assertNotIn("configmap/c0", left)
        self.kubectl("delete", "configmap", "--all", "-n", ns)

    def test_chunked_list(self):
        ns = self.make_namespace("chunks")
        for i in range(12):
            self.configmap(ns, "cm-%02d" % i, {})
        r = self.kubectl("get", "configmaps", "-n", ns, "--chunk-size=5", "-o", "name", "-v=6")
        names = [n for n in r.stdout.split() if "cm-" in n]
        self.assertEqual(names, ["configmap/cm-%02d" % i for i in range(12)])
        self.assertIn("continue=", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
