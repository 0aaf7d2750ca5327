"""The scheduler and the controllers of `kite server` end to end on the test bed, with real
kubectl: the seed's Deployments (Recreate, local PV through a PVC on node worker-0), a rolling
update and its undo, local-path volumes and their clean-up, Jobs, a CronJob on schedule,
cascading deletion, unschedulable pods explaining themselves, and a node failure moving a
Deployment's pod to the other node.

Usage (through CTest): testbed.sh exec BED python3 test_workloads.py KITE EXAMPLES_DIR"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
from cluster import (Process, SecondContainerd, agent_args, free_port,  # noqa: E402
                     join_token, node_ready, start_server, stop_server, wait_for)

cluster.KITE = sys.argv[1] if len(sys.argv) > 1 else "kite"
EXAMPLES = sys.argv[2] if len(sys.argv) > 2 else "examples"
del sys.argv[1:3]  # the rest (e.g. -k NAME) goes to unittest

# The seed's local PV is pinned to a node named worker-0: the server's own node is that node.
SERVER_NODE = "worker-0"
SECOND_NODE = "worker-1"
PV_PATH = "/path/to/storage"  # the seed's local.path


def running(pod):
    return pod["status"].get("phase") == "Running" and not pod["metadata"].get(
        "deletionTimestamp")


def ready(pod):
    return running(pod) and all(c.get("ready") for c in pod["status"].get(
        "containerStatuses", []))


class WorkloadsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        # Shortened node-failure timings (upstream's flags), so the failover test is quick.
        cls.server, cls.k = start_server(cls.port, SERVER_NODE, extra=[
            "--node-monitor-grace-period", "8s", "--default-not-ready-toleration-seconds", "3",
            "--default-unreachable-toleration-seconds", "3"])
        wait_for(lambda: node_ready(cls.k.json("get", "node", SERVER_NODE)), 60, "node Ready")

    @classmethod
    def tearDownClass(cls):
        stop_server(cls.server)

    def pods(self, ns, selector=None):
        args = ["get", "pods", "-n", ns] + (["-l", selector] if selector else [])
        return self.k.json(*args)["items"]

    def wait_pods(self, ns, selector, predicate, count, timeout=90):
        return wait_for(lambda: (lambda ps: ps if len(ps) == count and all(
            predicate(p) for p in ps) else None)(self.pods(ns, selector)), timeout,
            f"{count} pods {selector} in {ns}")

    def delete_namespace(self, ns):
        self.k("delete", "namespace", ns, "--ignore-not-found", "--wait=false", check=False)
        wait_for(lambda: self.k.json("get", "namespace", ns) is None, 120, f"namespace {ns} gone")

    # --- the seed's Deployments --------------------------------------------------------
    def test_mysql_deployment_recreate_replaces_its_pod_without_overlap(self):
        created = not os.path.exists("/data/mysql")
        try:
            self.k("apply", "-f", os.path.join(EXAMPLES, "mysql-deployment.yaml"))
            first = self.wait_pods("mysql", "app=mysql", running, 1)[0]
            samples, stop = [], threading.Event()

            def sample():
                while not stop.is_set():
                    samples.append(sum(1 for p in self.pods("mysql", "app=mysql")
                                       if p["status"].get("phase") in ("Pending", "Running")
                                       and not p["metadata"].get("deletionTimestamp")))
                    time.sleep(0.1)

            sampler = threading.Thread(target=sample)
            sampler.start()
            try:
                self.k("set", "env", "-n", "mysql", "deploy/mysql-deploy", "KITE_CHANGE=1")
                new = wait_for(lambda: (lambda ps: ps if ps and ps[0]["metadata"]["name"] !=
                                        first["metadata"]["name"] else None)(
                    [p for p in self.pods("mysql", "app=mysql") if running(p)]), 120,
                    "the replacement pod Running")
            finally:
                stop.set()
                sampler.join()
            self.assertLessEqual(max(samples), 1, "old and new pods overlapped (Recreate)")
            self.assertEqual(len(new), 1)
        finally:
            self.delete_namespace("mysql")
            if created:
                shutil.rmtree("/data/mysql", ignore_errors=True)

    def test_mysql_local_pv_binds_lands_on_worker_0_and_keeps_data(self):
        made = not os.path.exists(PV_PATH)
        os.makedirs(PV_PATH, exist_ok=True)
        try:
            self.k("apply", "-f", os.path.join(EXAMPLES, "mysql-local-pv.yaml"))
            wait_for(lambda: (self.k.json("get", "pvc", "-n", "mysql", "my-pvc") or {}).get(
                "status", {}).get("phase") == "Bound", 60, "my-pvc Bound")
            self.assertEqual(self.k.json("get", "pvc", "-n", "mysql", "my-pvc")["spec"][
                "volumeName"], "my-pv")
            pod = self.wait_pods("mysql", "app=mysql", ready, 1)[0]
            self.assertEqual(pod["spec"]["nodeName"], SERVER_NODE)
            name = pod["metadata"]["name"]
            env = self.k("exec", "-n", "mysql", name, "--", "env").stdout
            self.assertIn("MYSQL_ALLOW_EMPTY_PASSWORD=yes", env)
            self.k("exec", "-n", "mysql", name, "--", "sh", "-c",
                   "echo kept > /var/lib/mysql/kite-data")
            self.k("delete", "pod", "-n", "mysql", name)
            new = wait_for(lambda: (lambda ps: ps[0] if len(ps) == 1 and ps[0]["metadata"][
                "name"] != name else None)([p for p in self.pods("mysql", "app=mysql")
                                            if ready(p)]), 120, "the Deployment's new pod")
            data = self.k("exec", "-n", "mysql", new["metadata"]["name"], "--", "cat",
                          "/var/lib/mysql/kite-data").stdout
            self.assertEqual(data.strip(), "kept")
            with open(os.path.join(PV_PATH, "kite-data")) as f:
                self.assertEqual(f.read().strip(), "kept")  # on the PV's path on the node
        finally:
            self.delete_namespace("mysql")
            self.k("delete", "pv", "my-pv", "--ignore-not-found", check=False)
            if made:
                shutil.rmtree(PV_PATH, ignore_errors=True)
                for parent in ("/path/to", "/path"):
                    try:
                        os.rmdir(parent)
                    except OSError:
                        break

    # --- rolling update and undo ---------------------------------------------------------
    def test_rolling_update_keeps_enough_pods_ready_and_undo_restores_the_image(self):
        ns = "rollout"
        self.k("create", "namespace", ns)
        try:
            deploy = {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": ns},
                "spec": {"replicas": 5, "selector": {"matchLabels": {"app": "web"}},
                         "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                             "maxUnavailable": 1, "maxSurge": 1}},
                         "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                             "terminationGracePeriodSeconds": 1,
                             "containers": [{"name": "c", "image": "busybox:1.35",
                                             "command": ["sleep", "3600"]}]}}}}
            self.k("apply", "-f", "-", stdin=json.dumps(deploy))
            self.k("rollout", "status", "-n", ns, "deploy/web", "--timeout=120s")
            samples, stop = [], threading.Event()

            def sample():
                while not stop.is_set():
                    samples.append(sum(1 for p in self.pods(ns, "app=web") if ready(p)))
                    time.sleep(0.1)

            sampler = threading.Thread(target=sample)
            sampler.start()
            try:
                self.k("set", "image", "-n", ns, "deploy/web", "c=busybox:latest")
                self.k("rollout", "status", "-n", ns, "deploy/web", "--timeout=180s")
            finally:
                stop.set()
                sampler.join()
            self.assertGreaterEqual(min(samples), 4, "fewer than replicas - maxUnavailable ready")
            images = {p["spec"]["containers"][0]["image"] for p in self.pods(ns, "app=web")
                      if ready(p)}
            self.assertEqual(images, {"busybox:latest"})
            history = self.k("rollout", "history", "-n", ns, "deploy/web").stdout
            self.assertIn("2", history)
            self.k("rollout", "undo", "-n", ns, "deploy/web")
            self.k("rollout", "status", "-n", ns, "deploy/web", "--timeout=180s")
            self.assertEqual(self.k.json("get", "deploy", "-n", ns, "web")["spec"]["template"][
                "spec"]["containers"][0]["image"], "busybox:1.35")
            # Deleting the Deployment cascades to its ReplicaSets and pods.
            self.k("delete", "deploy", "-n", ns, "web")
            wait_for(lambda: not self.k.json("get", "rs", "-n", ns)["items"] and
                     not self.pods(ns), 90, "ReplicaSets and pods deleted with the Deployment")
        finally:
            self.delete_namespace(ns)

    def test_a_local_path_claim_keeps_its_data_on_the_node_until_the_claim_goes(self):
        ns = "local-path"
        self.k("create", "namespace", ns)
        try:
            claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "metadata": {"name": "data", "namespace": ns},
                     "spec": {"accessModes": ["ReadWriteOnce"],
                              "resources": {"requests": {"storage": "1Gi"}}}}
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "writer", "namespace": ns},
                   "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                            "containers": [{"name": "c", "image": "busybox:1.35",
                                            "command": ["sh", "-c", "echo kept > /data/file"],
                                            "volumeMounts": [{"name": "d", "mountPath": "/data"}]}],
                            "volumes": [{"name": "d", "persistentVolumeClaim": {
                                "claimName": "data"}}]}}
            self.k("apply", "-f", "-", stdin=json.dumps(claim))
            self.k("apply", "-f", "-", stdin=json.dumps(pod))
            try:
                wait_for(lambda: (self.k.json("get", "pod", "-n", ns, "writer") or {}).get(
                    "status", {}).get("phase") == "Succeeded", 120, "the writer pod Succeeded")
            except AssertionError as e:
                raise AssertionError(f"{e}\n{self.k('describe', 'pod', '-n', ns, check=False).stdout}"
                                     f"\n{self.k('describe', 'pvc', '-n', ns, check=False).stdout}"
                                     + "".join(line for line in open(self.server.log_path)
                                               if "local-path" in line or "writer" in line))
            volume = self.k.json("get", "pvc", "-n", ns, "data")["spec"]["volumeName"]
            path = self.k.json("get", "pv", volume)["spec"]["hostPath"]["path"]
            self.assertTrue(path.startswith(os.path.join(self.server.dir, "data", "storage")))
            with open(os.path.join(path, "file")) as f:
                self.assertEqual(f.read(), "kept\n")
            # The claim goes: a helper pod on the node removes the data, then the volume goes.
            self.k("delete", "pod", "-n", ns, "writer")
            self.k("delete", "pvc", "-n", ns, "data")
            wait_for(lambda: self.k.json("get", "pv", volume) is None, 120, "the volume deleted")
            self.assertFalse(os.path.exists(path), "the volume's data is removed on the node")
            wait_for(lambda: self.k.json("get", "pod", "-n", "kube-system",
                                         "helper-pod-delete-" + volume) is None, 60,
                     "the helper pod removed")
        finally:
            self.delete_namespace(ns)

    # --- Jobs ------------------------------------------------------------------------------
    def test_a_job_completes_and_a_failing_one_stops_at_its_backoff_limit(self):
        ns = "jobs"
        self.k("create", "namespace", ns)
        try:
            def job(name, command, **spec):
                return json.dumps({
                    "apiVersion": "batch/v1", "kind": "Job",
                    "metadata": {"name": name, "namespace": ns},
                    "spec": {**spec, "template": {"spec": {
                        "restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                        "containers": [{"name": "c", "image": "busybox:1.35",
                                        "command": ["sh", "-c", command]}]}}}})

            self.k("apply", "-f", "-", stdin=job("ok", "true", completions=2, parallelism=2))
            self.k("apply", "-f", "-", stdin=job("bad", "exit 3", backoffLimit=1))
            self.k("wait", "-n", ns, "--for=condition=Complete", "job/ok", "--timeout=120s")
            self.k("wait", "-n", ns, "--for=condition=Failed", "job/bad", "--timeout=120s")
            bad = self.k.json("get", "job", "-n", ns, "bad")
            reasons = [c.get("reason") for c in bad["status"]["conditions"]
                       if c["type"] == "Failed"]
            self.assertEqual(reasons, ["BackoffLimitExceeded"])
            self.assertEqual(bad["status"]["failed"], 2)
            # `kubectl delete ns` removes everything in it.
        finally:
            self.delete_namespace(ns)
        self.assertIsNone(self.k.json("get", "job", "-n", ns, "ok"))

    def test_a_cronjob_runs_its_job_on_schedule_and_kubectl_can_start_one_by_hand(self):
        ns = "cron"
        self.k("create", "namespace", ns)
        try:
            # Every minute; the first run is due at the next minute boundary (<= 60 s away).
            self.k("create", "cronjob", "tick", "-n", ns, "--image=busybox:1.35",
                   "--schedule=*/1 * * * *", "--", "sh", "-c", "echo tick-ran")
            job = wait_for(lambda: next(iter(self.k.json(
                "get", "jobs", "-n", ns)["items"]), None), 100, "the CronJob's first Job")
            name = job["metadata"]["name"]
            owner = job["metadata"]["ownerReferences"][0]
            self.assertEqual((owner["kind"], owner["name"], owner.get("controller")),
                             ("CronJob", "tick", True))
            self.assertRegex(name, r"^tick-[0-9]+$")  # scheduled minute since the epoch
            self.k("wait", "-n", ns, "--for=condition=Complete", f"job/{name}",
                   "--timeout=120s")
            self.assertIn("tick-ran", self.k("logs", "-n", ns, f"job/{name}").stdout)
            status = wait_for(lambda: (lambda s: s if s.get("lastSuccessfulTime") else None)(
                self.k.json("get", "cronjob", "-n", ns, "tick")["status"]), 30,
                "lastSuccessfulTime")
            self.assertIn("lastScheduleTime", status)
            # kubectl's client-side "create job --from=cronjob/..." copies the jobTemplate.
            self.k("create", "job", "-n", ns, "by-hand", "--from=cronjob/tick")
            self.k("wait", "-n", ns, "--for=condition=Complete", "job/by-hand",
                   "--timeout=120s")
            # Suspended: no further Job is started.
            self.k("patch", "cronjob", "-n", ns, "tick", "-p", '{"spec":{"suspend":true}}')
            self.assertEqual(self.k.json("get", "cronjob", "-n", ns, "tick")["spec"]["suspend"],
                             True)
        finally:
            self.delete_namespace(ns)

    # --- scheduling failures -------------------------------------------------------------
    def test_an_unschedulable_pod_explains_itself(self):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nowhere"},
               "spec": {"nodeSelector": {"disk": "ssd"}, "containers": [
                   {"name": "c", "image": "busybox:1.35", "command": ["sleep", "10"]}]}}
        try:
            self.k("apply", "-f", "-", stdin=json.dumps(pod))
            described = wait_for(lambda: (lambda d: d if "FailedScheduling" in d else None)(
                self.k("describe", "pod", "nowhere").stdout), 60, "FailedScheduling event")
            self.assertIn("0/1 nodes are available: 1 node(s) didn't match Pod's node "
                          "affinity/selector", described)
            self.assertEqual(self.k.json("get", "pod", "nowhere")["status"]["phase"], "Pending")
        finally:
            self.k("delete", "pod", "nowhere", "--grace-period=0", "--force", check=False)

    # --- node failure ----------------------------------------------------------------------
    def test_killing_a_node_moves_its_deployment_pod_to_the_other_node(self):
        runtime = SecondContainerd()
        agent = Process("agent", lambda d: [
            "agent", "--server", f"https://127.0.0.1:{self.port}", "--token",
            join_token(self.server), "--data-dir", os.path.join(d, "data"),
            *agent_args(d, SECOND_NODE, "unix://" + runtime.socket)])
        ns = "failover"
        try:
            agent.start()
            wait_for(lambda: node_ready(self.k.json("get", "node", SECOND_NODE)), 60,
                     "second node Ready")
            self.k("create", "namespace", ns)
            # Only the second node takes new pods while the Deployment starts.
            self.k("cordon", SERVER_NODE)
            deploy = {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "app", "namespace": ns},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "app"}},
                         "template": {"metadata": {"labels": {"app": "app"}}, "spec": {
                             "terminationGracePeriodSeconds": 1,
                             "containers": [{"name": "c", "image": "busybox:1.35",
                                             "command": ["sleep", "3600"]}]}}}}
            self.k("apply", "-f", "-", stdin=json.dumps(deploy))
            pod = self.wait_pods(ns, "app=app", running, 1)[0]
            self.assertEqual(pod["spec"]["nodeName"], SECOND_NODE)
            self.k("uncordon", SERVER_NODE)
            agent.stop(signal.SIGKILL)
            wait_for(lambda: any(
                c["type"] == "Ready" and c["status"] == "Unknown"
                for c in self.k.json("get", "node", SECOND_NODE)["status"]["conditions"]),
                60, "the killed node NotReady (Unknown)")
            taints = self.k.json("get", "node", SECOND_NODE)["spec"].get("taints", [])
            self.assertIn("node.kubernetes.io/unreachable", [t["key"] for t in taints])
            wait_for(lambda: [p for p in self.pods(ns, "app=app")
                              if running(p) and p["spec"]["nodeName"] == SERVER_NODE],
                     120, "the pod back on the surviving node")
        finally:
            self.k("uncordon", SERVER_NODE, check=False)
            self.k("delete", "namespace", ns, "--wait=false", check=False)
            agent.stop()
            self.k("delete", "node", SECOND_NODE, "--ignore-not-found", check=False)
            subprocess.run(["umount", "-R", agent.dir], stderr=subprocess.DEVNULL)
            shutil.rmtree(agent.dir, ignore_errors=True)
            runtime.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
