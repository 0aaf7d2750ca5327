"""The real kubectl's `rollout history` and `rollout undo` for DaemonSets and StatefulSets
against a `kite server --disable-agent` that runs its controllers: the controllers keep
ControllerRevisions, kubectl lists them and rolls back by patching the owner with one.

There is no kubelet: the test plays it by marking pods Running and Ready through the status
subresource (as upstream's integration tests do), and checks the objects' spec and status,
the pods' revision labels and the ControllerRevisions rather than running containers.
"""

import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kite_fixture  # noqa: E402
from kite_fixture import KiteServer, ServerTestCase  # noqa: E402

IMAGE1 = "busybox:1.36"
IMAGE2 = "busybox:1.37"


class ControllersServer(KiteServer):
    """The fixture's server with the controller manager on (no agent, no scheduler: pods
    that are not bound go away at once when deleted, and the DaemonSet binds its own)."""

    def _spawn(self, timeout):
        log = open(self.log_path, "ab")
        try:
            args = [kite_fixture.KITE, "server", "--disable-agent", "--disable-scheduler",
                    "--disable=coredns", "--data-dir", self.data_dir,
                    "--bind-address", "127.0.0.1", "--https-listen-port", str(self.port),
                    "--write-kubeconfig", self.kubeconfig]
            if self.etcd_endpoint:
                args += ["--datastore-endpoint", self.etcd_endpoint]
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        finally:
            log.close()
        kite_fixture._live.add(self.proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                kite_fixture._live.discard(self.proc)
                return False
            if os.path.exists(self.kubeconfig):
                r = self.kubectl("get", "--raw", "/readyz", check=False, timeout=10)
                if r.returncode == 0:
                    return True
            time.sleep(0.1)
        self.stop()
        return False


def template(app, image):
    return {"metadata": {"labels": {"app": app}},
            "spec": {"terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "main", "image": image}]}}


class RolloutHistoryTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        kite_fixture.require_tools(cls)
        cls.server = ControllersServer()
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()

    def setUp(self):
        self.ns = None
        self.nodes = []

    def tearDown(self):
        if self.ns:
            self.kubectl("delete", "namespace", self.ns, "--wait=false", check=False)
        for node in self.nodes:
            self.kubectl("delete", "node", node, "--wait=false", check=False)

    # -- helpers ----------------------------------------------------------------------------

    def get(self, *args):
        return self.server.kubectl_json("-n", self.ns, "get", *args)

    def pods(self, app):
        """The pods of app that are not being deleted."""
        items = self.get("pods", "-l", "app=" + app)["items"]
        return [p for p in items if not p["metadata"].get("deletionTimestamp")]

    def mark_ready(self, app):
        """What a kubelet would report: Running and Ready."""
        for p in self.pods(app):
            if p.get("status", {}).get("phase") == "Running":
                continue
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            status = {"status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": now}]}}
            self.kubectl("-n", self.ns, "patch", "pod", p["metadata"]["name"],
                         "--subresource=status", "--type=merge", "-p", json.dumps(status),
                         check=False)

    def revisions(self, uid):
        """{revision number: ControllerRevision} of the owner with this uid."""
        out = {}
        for r in self.get("controllerrevisions")["items"]:
            refs = [o for o in r["metadata"].get("ownerReferences", []) if o.get("controller")]
            if refs and refs[0]["uid"] == uid:
                out[r["revision"]] = r
        return out

    def wait_for(self, what, pred, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = pred()
            if result:
                return result
            time.sleep(0.3)
        self.fail("timed out waiting for " + what)

    def assert_skipped(self, ref, revision):
        """`rollout undo` to the revision already running changes nothing, in kubectl's words."""
        before = self.get(ref)["metadata"]["generation"]
        r = self.kubectl("-n", self.ns, "rollout", "undo", ref, "--to-revision=%d" % revision)
        self.assertEqual(r.stdout.strip(),
                         "%s skipped rollback (current template already matches revision %d)"
                         % (ref.replace("/", ".apps/", 1), revision))
        self.assertEqual(self.get(ref)["metadata"]["generation"], before)

    def history_numbers(self, ref):
        r = self.kubectl("-n", self.ns, "rollout", "history", ref)
        return [int(m) for m in re.findall(r"^(\d+)\s", r.stdout, re.M)], r.stdout

    # -- tests ------------------------------------------------------------------------------

    def test_daemonset_history_and_undo(self):
        self.ns = self.make_namespace("ds-history")
        for name in ("rh-node-a", "rh-node-b"):
            self.apply_json({"apiVersion": "v1", "kind": "Node",
                             "metadata": {"name": name, "labels": {"rollout-history": "yes"}}})
            self.nodes.append(name)
        tmpl = template("agent", IMAGE1)
        tmpl["spec"]["nodeSelector"] = {"rollout-history": "yes"}
        self.apply_json({"apiVersion": "apps/v1", "kind": "DaemonSet",
                         "metadata": {"name": "agent", "namespace": self.ns},
                         "spec": {"selector": {"matchLabels": {"app": "agent"}},
                                  "template": tmpl}})
        uid = self.get("daemonset", "agent")["metadata"]["uid"]
        self.wait_for("revision 1", lambda: 1 in self.revisions(uid))

        def converged(image):
            self.mark_ready("agent")
            ds = self.get("daemonset", "agent")
            st = ds.get("status", {})
            pods = self.pods("agent")
            revs = self.revisions(uid)
            newest = revs[max(revs)]
            hash_ = newest["metadata"]["labels"]["controller-revision-hash"]
            return (len(pods) == 2 and
                    all(p["spec"]["containers"][0]["image"] == image and
                        p["metadata"]["labels"].get("controller-revision-hash") == hash_
                        for p in pods) and
                    st.get("observedGeneration") == ds["metadata"]["generation"] and
                    st.get("updatedNumberScheduled") == 2 and st.get("numberAvailable") == 2)

        self.wait_for("pods at " + IMAGE1, lambda: converged(IMAGE1))
        r = self.kubectl("-n", self.ns, "rollout", "status", "daemonset/agent", "--timeout=30s")
        self.assertIn("successfully rolled out", r.stdout)
        # kubectl compares the revision's data with its own encoding of the DaemonSet byte for
        # byte: an undo to the running revision is skipped.
        self.assert_skipped("daemonset/agent", 1)

        self.kubectl("-n", self.ns, "set", "image", "daemonset/agent", "main=" + IMAGE2)
        self.wait_for("revision 2", lambda: 2 in self.revisions(uid))
        self.wait_for("pods at " + IMAGE2, lambda: converged(IMAGE2))
        numbers, text = self.history_numbers("daemonset/agent")
        self.assertEqual(numbers, [1, 2], text)
        self.assertIn("daemonset.apps/agent", text)
        # kubectl applies revision 1's data to show its template.
        r = self.kubectl("-n", self.ns, "rollout", "history", "daemonset/agent", "--revision=1")
        self.assertIn(IMAGE1, r.stdout)
        self.assertNotIn(IMAGE2, r.stdout)

        r = self.kubectl("-n", self.ns, "rollout", "undo", "daemonset/agent", "--to-revision=1")
        self.assertIn("rolled back", r.stdout)
        ds = self.get("daemonset", "agent")
        self.assertEqual(ds["spec"]["template"]["spec"]["containers"][0]["image"], IMAGE1)
        # Revision 1 is reused as number 3 (no third object), as upstream.
        self.wait_for("revision 1 renumbered 3",
                      lambda: sorted(self.revisions(uid)) == [2, 3])
        self.wait_for("pods back at " + IMAGE1, lambda: converged(IMAGE1))
        numbers, text = self.history_numbers("daemonset/agent")
        self.assertEqual(numbers, [2, 3], text)
        self.assert_skipped("daemonset/agent", 3)
        # Undo again without a revision: back to the previous one (2).
        r = self.kubectl("-n", self.ns, "rollout", "undo", "daemonset/agent")
        self.assertIn("rolled back", r.stdout)
        self.wait_for("pods back at " + IMAGE2, lambda: converged(IMAGE2))
        self.assertEqual(sorted(self.revisions(uid)), [3, 4])

    def test_statefulset_history_and_undo(self):
        self.ns = self.make_namespace("sts-history")
        self.apply_json({"apiVersion": "apps/v1", "kind": "StatefulSet",
                         "metadata": {"name": "web", "namespace": self.ns},
                         "spec": {"replicas": 2, "serviceName": "web",
                                  "selector": {"matchLabels": {"app": "web"}},
                                  "template": template("web", IMAGE1)}})
        uid = self.get("statefulset", "web")["metadata"]["uid"]
        self.wait_for("revision 1", lambda: 1 in self.revisions(uid))

        def converged(image):
            self.mark_ready("web")
            sts = self.get("statefulset", "web")
            st = sts.get("status", {})
            pods = self.pods("web")
            revs = self.revisions(uid)
            newest = revs[max(revs)]["metadata"]["name"]
            return (len(pods) == 2 and
                    all(p["spec"]["containers"][0]["image"] == image and
                        p["metadata"]["labels"].get("controller-revision-hash") == newest
                        for p in pods) and
                    st.get("observedGeneration") == sts["metadata"]["generation"] and
                    st.get("updateRevision") == newest and
                    st.get("currentRevision") == newest and
                    st.get("updatedReplicas") == 2 and st.get("readyReplicas") == 2)

        self.wait_for("pods at " + IMAGE1, lambda: converged(IMAGE1))
        self.kubectl("-n", self.ns, "set", "image", "statefulset/web", "main=" + IMAGE2)
        self.wait_for("revision 2", lambda: 2 in self.revisions(uid))
        self.wait_for("pods at " + IMAGE2, lambda: converged(IMAGE2))
        r = self.kubectl("-n", self.ns, "rollout", "status", "statefulset/web", "--timeout=30s")
        self.assertIn("complete", r.stdout)
        numbers, text = self.history_numbers("statefulset/web")
        self.assertEqual(numbers, [1, 2], text)
        self.assert_skipped("statefulset/web", 2)
        r = self.kubectl("-n", self.ns, "rollout", "history", "statefulset/web", "--revision=1")
        self.assertIn(IMAGE1, r.stdout)

        r = self.kubectl("-n", self.ns, "rollout", "undo", "statefulset/web", "--to-revision=1")
        self.assertIn("rolled back", r.stdout)
        sts = self.get("statefulset", "web")
        self.assertEqual(sts["spec"]["template"]["spec"]["containers"][0]["image"], IMAGE1)
        self.wait_for("revision 1 renumbered 3",
                      lambda: sorted(self.revisions(uid)) == [2, 3])
        self.wait_for("pods back at " + IMAGE1, lambda: converged(IMAGE1))
        numbers, text = self.history_numbers("statefulset/web")
        self.assertEqual(numbers, [2, 3], text)
        self.assert_skipped("statefulset/web", 3)

    def test_template_with_html_characters_undo_is_skipped(self):
        # Go escapes <, > and & in strings (\u003c ...); the revision's data keeps kubectl's
        # bytes, so the comparison still matches.
        self.ns = self.make_namespace("sts-escapes")
        tmpl = template("esc", IMAGE1)
        tmpl["spec"]["containers"][0]["command"] = ["sh", "-c", "true && echo '<a>' > /tmp/x"]
        self.apply_json({"apiVersion": "apps/v1", "kind": "StatefulSet",
                         "metadata": {"name": "esc", "namespace": self.ns},
                         "spec": {"replicas": 1, "serviceName": "esc",
                                  "selector": {"matchLabels": {"app": "esc"}},
                                  "template": tmpl}})
        uid = self.get("statefulset", "esc")["metadata"]["uid"]
        self.wait_for("revision 1", lambda: 1 in self.revisions(uid))
        self.assert_skipped("statefulset/esc", 1)

    def test_deployment_undo_to_running_revision_is_skipped(self):
        """kubectl compares the ReplicaSet's template with the Deployment's itself."""
        self.ns = self.make_namespace("deploy-history")
        self.apply_json({"apiVersion": "apps/v1", "kind": "Deployment",
                         "metadata": {"name": "app", "namespace": self.ns},
                         "spec": {"replicas": 1,
                                  "selector": {"matchLabels": {"app": "app"}},
                                  "template": template("app", IMAGE1)}})

        def revisions():
            return sorted(int(rs["metadata"].get("annotations", {}).get(
                "deployment.kubernetes.io/revision", "0"))
                for rs in self.get("replicasets", "-l", "app=app")["items"])

        self.wait_for("revision 1", lambda: revisions() == [1])
        self.assert_skipped("deployment/app", 1)
        self.kubectl("-n", self.ns, "set", "image", "deployment/app", "main=" + IMAGE2)
        self.wait_for("revision 2", lambda: revisions() == [1, 2])
        self.assert_skipped("deployment/app", 2)
        r = self.kubectl("-n", self.ns, "rollout", "undo", "deployment/app", "--to-revision=1")
        self.assertIn("rolled back", r.stdout)
        self.wait_for("revision 1 renumbered 3", lambda: revisions() == [2, 3])
        self.assert_skipped("deployment/app", 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
