"""Debian's python3-kubernetes against `kite server --disable-agent`: create, list with label
and field selectors, pagination, watch and watch resume from a resourceVersion, errors as
ApiException with the upstream status; and durability: kill -9 during a burst of creates
loses no acknowledged object, and a watch resumes by resourceVersion after a restart."""

import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kite_fixture  # noqa: E402
from kite_fixture import KiteServer, ServerTestCase  # noqa: E402

try:
    import kubernetes
    from kubernetes import client, config, watch
    from kubernetes.client.rest import ApiException
except ImportError:  # pragma: no cover
    kubernetes = None


def api_client(server):
    return config.new_client_from_config(config_file=server.kubeconfig)


def configmap(name, labels=None, data=None):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels),
                              data=data or {"k": "v"})


def namespace(core, name):
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


class ClientTestBase(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        if kubernetes is None:
            raise unittest.SkipTest("python3-kubernetes not installed")
        super().setUpClass()

    def setUp(self):
        self.api = api_client(self.server)
        self.addCleanup(self.api.close)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)


class PythonClientTest(ClientTestBase):
    def test_create_get_and_errors(self):
        ns = namespace(self.core, "pyc-create")
        made = self.core.create_namespaced_config_map(ns, configmap("a", {"x": "1"}))
        self.assertTrue(made.metadata.uid)
        self.assertTrue(made.metadata.resource_version)
        got = self.core.read_namespaced_config_map("a", ns)
        self.assertEqual(got.data, {"k": "v"})
        self.assertEqual(got.metadata.uid, made.metadata.uid)
        with self.assertRaises(ApiException) as e:
            self.core.create_namespaced_config_map(ns, configmap("a"))
        self.assertEqual(e.exception.status, 409)
        self.assertIn('"reason":"AlreadyExists"', e.exception.body.replace(" ", ""))
        with self.assertRaises(ApiException) as e:
            self.core.read_namespaced_config_map("missing", ns)
        self.assertEqual(e.exception.status, 404)
        stale = got
        got.data = {"k": "w"}
        self.core.replace_namespaced_config_map("a", ns, got)
        stale.data = {"k": "z"}
        with self.assertRaises(ApiException) as e:
            self.core.replace_namespaced_config_map("a", ns, stale)
        self.assertEqual(e.exception.status, 409)
        self.assertIn("the object has been modified", e.exception.body)
        pod = client.V1Pod(metadata=client.V1ObjectMeta(name="p"),
                           spec=client.V1PodSpec(containers=[client.V1Container(name="c")]))
        with self.assertRaises(ApiException) as e:
            self.core.create_namespaced_pod(ns, pod)
        self.assertEqual(e.exception.status, 422)
        self.assertIn("spec.containers[0].image", e.exception.body)
        dep = client.V1Deployment(
            metadata=client.V1ObjectMeta(name="d"),
            spec=client.V1DeploymentSpec(
                replicas=2, selector=client.V1LabelSelector(match_labels={"app": "d"}),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels={"app": "d"}),
                    spec=client.V1PodSpec(containers=[client.V1Container(name="c",
                                                                         image="nginx")]))))
        made = self.apps.create_namespaced_deployment(ns, dep)
        self.assertEqual(made.spec.strategy.type, "RollingUpdate")
        scale = self.apps.read_namespaced_deployment_scale("d", ns)
        self.assertEqual(scale.spec.replicas, 2)
        self.apps.patch_namespaced_deployment_scale("d", ns, {"spec": {"replicas": 5}})
        self.assertEqual(self.apps.read_namespaced_deployment("d", ns).spec.replicas, 5)

    def test_list_with_selectors_and_pages(self):
        ns = namespace(self.core, "pyc-list")
        for i in range(10):
            labels = {"parity": "even" if i % 2 == 0 else "odd", "n": str(i)}
            if i < 3:
                labels["low"] = "yes"
            self.core.create_namespaced_config_map(ns, configmap("cm-%d" % i, labels))

        def names(**kw):
            return sorted(c.metadata.name for c in
                          self.core.list_namespaced_config_map(ns, **kw).items)

        self.assertEqual(names(label_selector="parity=even"),
                         ["cm-0", "cm-2", "cm-4", "cm-6", "cm-8"])
        self.assertEqual(names(label_selector="parity!=even,low"), ["cm-1"])
        self.assertEqual(names(label_selector="n in (1,2,3)"), ["cm-1", "cm-2", "cm-3"])
        self.assertEqual(names(label_selector="n notin (1,2,3),parity=odd"),
                         ["cm-5", "cm-7", "cm-9"])
        self.assertEqual(names(label_selector="!low,parity=even"), ["cm-4", "cm-6", "cm-8"])
        self.assertEqual(names(field_selector="metadata.name=cm-7"), ["cm-7"])
        self.assertEqual(len(names(field_selector="metadata.name!=cm-7")), 9)
        all_ns = self.core.list_config_map_for_all_namespaces(label_selector="low=yes")
        self.assertEqual(len(all_ns.items), 3)
        with self.assertRaises(ApiException) as e:
            self.core.list_namespaced_config_map(ns, label_selector="a in (")
        self.assertEqual(e.exception.status, 400)
        # Pages of 3 at one revision: a create between pages is not seen.
        first = self.core.list_namespaced_config_map(ns, limit=3)
        self.assertEqual(len(first.items), 3)
        self.assertTrue(first.metadata._continue)
        self.core.create_namespaced_config_map(ns, configmap("cm-late"))
        seen = [c.metadata.name for c in first.items]
        token = first.metadata._continue
        while token:
            page = self.core.list_namespaced_config_map(ns, limit=3, _continue=token)
            seen += [c.metadata.name for c in page.items]
            token = page.metadata._continue
        self.assertEqual(sorted(seen), sorted("cm-%d" % i for i in range(10)))
        self.assertEqual(len(set(seen)), 10)

    def test_watch_resume_from_resource_version(self):
        ns = namespace(self.core, "pyc-watch")
        rv0 = self.core.list_namespaced_config_map(ns).metadata.resource_version
        self.core.create_namespaced_config_map(ns, configmap("w1"))
        w = watch.Watch()
        events = []
        for ev in w.stream(self.core.list_namespaced_config_map, ns, resource_version=rv0,
                           timeout_seconds=30):
            events.append((ev["type"], ev["object"].metadata.name))
            last_rv = ev["object"].metadata.resource_version
            break
        w.stop()
        self.assertEqual(events, [("ADDED", "w1")])
        # Changes while nobody watches.
        self.core.create_namespaced_config_map(ns, configmap("w2"))
        self.core.patch_namespaced_config_map("w1", ns, {"data": {"k": "changed"}})
        self.core.delete_namespaced_config_map("w2", ns)
        self.core.create_namespaced_config_map(ns, configmap("w3"))
        missed = []
        w = watch.Watch()
        for ev in w.stream(self.core.list_namespaced_config_map, ns, resource_version=last_rv,
                           timeout_seconds=30):
            missed.append((ev["type"], ev["object"].metadata.name))
            if len(missed) == 4:
                break
        w.stop()
        self.assertEqual(missed, [("ADDED", "w2"), ("MODIFIED", "w1"), ("DELETED", "w2"),
                                  ("ADDED", "w3")])

    def test_watch_sees_live_changes_and_bookmark_free_stream(self):
        ns = namespace(self.core, "pyc-live")
        rv = self.core.list_namespaced_config_map(ns).metadata.resource_version
        got = []
        ready = threading.Event()

        def run():
            w = watch.Watch()
            for ev in w.stream(self.core.list_namespaced_config_map, ns, resource_version=rv,
                               timeout_seconds=30):
                got.append((ev["type"], ev["object"].metadata.name))
                if len(got) == 2:
                    w.stop()
            ready.set()

        t = threading.Thread(target=run)
        t.start()
        self.core.create_namespaced_config_map(ns, configmap("live", {"a": "b"}))
        self.core.delete_namespaced_config_map("live", ns)
        t.join(60)
        self.assertEqual(got, [("ADDED", "live"), ("DELETED", "live")])

    def test_watch_too_old_resource_version_is_gone(self):
        # A resourceVersion that never existed in the future direction is not Gone, but one
        # below the compacted history must be; without a way to force compaction through
        # the API the test asks for revision 1 after many writes only if compacted.
        ns = namespace(self.core, "pyc-gone")
        with self.assertRaises(ApiException) as e:
            self.core.list_namespaced_config_map(ns, resource_version="abc",
                                                 resource_version_match="Exact")
        self.assertEqual(e.exception.status, 400)


class DurabilityTest(unittest.TestCase):
    """kill -9 mid-burst and restart on the same data dir."""

    def setUp(self):
        if kubernetes is None:
            self.skipTest("python3-kubernetes not installed")
        kite_fixture.require_tools(type(self))
        self.server = KiteServer()
        self.addCleanup(self.server.cleanup)
        self.server.start()

    def test_kill9_during_burst_keeps_every_acknowledged_create(self):
        api = api_client(self.server)
        core = client.CoreV1Api(api)
        ns = namespace(core, "burst")
        acked = []
        lock = threading.Lock()
        stop = threading.Event()

        def writer(tid):
            c = client.CoreV1Api(api_client(self.server))
            i = 0
            while not stop.is_set():
                name = "w%d-%d" % (tid, i)
                try:
                    c.create_namespaced_config_map(ns, configmap(name, data={"i": str(i)}),
                                                   _request_timeout=10)
                except Exception:  # the server died under us: not acknowledged
                    return
                with lock:
                    acked.append(name)
                i += 1

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        # Kill once some writes are acknowledged (a count, not a time).
        while True:
            with lock:
                if len(acked) >= 200:
                    break
            if not any(t.is_alive() for t in threads):
                self.fail("writers stopped early:\n" + self.server.log())
            threading.Event().wait(0.01)
        self.server.kill9()
        stop.set()
        for t in threads:
            t.join(60)
        api.close()
        self.server.start()
        api = api_client(self.server)
        self.addCleanup(api.close)
        core = client.CoreV1Api(api)
        present = {c.metadata.name for c in core.list_namespaced_config_map(ns).items}
        missing = [n for n in acked if n not in present]
        print("acknowledged %d, present after restart %d" % (len(acked), len(present)),
              file=sys.stderr)
        self.assertEqual(missing, [], "acknowledged creates lost after kill -9")
        # The server goes on accepting writes on the recovered store.
        core.create_namespaced_config_map(ns, configmap("after-restart"))

    def test_watch_resumes_by_resource_version_after_restart(self):
        api = api_client(self.server)
        core = client.CoreV1Api(api)
        ns = namespace(core, "resume")
        core.create_namespaced_config_map(ns, configmap("before"))
        rv = core.list_namespaced_config_map(ns).metadata.resource_version
        core.create_namespaced_config_map(ns, configmap("x1"))
        core.delete_namespaced_config_map("before", ns)
        api.close()
        self.server.kill9()
        self.server.start()
        api = api_client(self.server)
        self.addCleanup(api.close)
        core = client.CoreV1Api(api)
        core.create_namespaced_config_map(ns, configmap("x2"))
        got = []
        w = watch.Watch()
        for ev in w.stream(core.list_namespaced_config_map, ns, resource_version=rv,
                           timeout_seconds=30):
            got.append((ev["type"], ev["object"].metadata.name))
            if len(got) == 3:
                break
        w.stop()
        self.assertEqual(got, [("ADDED", "x1"), ("DELETED", "before"), ("ADDED", "x2")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
