"""The single-node cluster `kite server` is (API server, scheduler, controllers and an agent in
one process) on the test bed, driven with real kubectl, and a second node joining it with
`kite agent` and the join token.

Usage (through CTest): testbed.sh exec BED python3 test_cluster.py KITE EXAMPLES_DIR"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
from cluster import (ENV, Process, SecondContainerd, agent_args, free_port,  # noqa: E402
                     join_token, node_ready, start_server, stop_server, wait_for)

cluster.KITE = sys.argv[1] if len(sys.argv) > 1 else "kite"
EXAMPLES = sys.argv[2] if len(sys.argv) > 2 else "examples"
del sys.argv[1:3]  # the rest (e.g. -k NAME) goes to unittest

SERVER_NODE = "kite-server-node"
AGENT_NODE = "kite-agent-node"


class ClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.server, cls.k = start_server(cls.port, SERVER_NODE)
        cls.kubeconfig = cls.k.kubeconfig
        cls.agent = None

    @classmethod
    def tearDownClass(cls):
        try:
            cls.kubectl("delete", "pods", "--all", "--grace-period=1", "--wait=false",
                        check=False)
            wait_for(lambda: not cls.kubectl_json("get", "pods")["items"], 60, "pods deleted")
        except AssertionError:
            pass
        finally:
            if cls.agent:
                cls.agent.stop()
                shutil.rmtree(cls.agent.dir, ignore_errors=True)
            stop_server(cls.server)

    # --- helpers ---------------------------------------------------------------
    @classmethod
    def kubectl(cls, *args, stdin=None, check=True):
        return cls.k(*args, stdin=stdin, check=check)

    @classmethod
    def kubectl_json(cls, *args):
        return cls.k.json(*args)

    @classmethod
    def node(cls, name):
        return cls.kubectl_json("get", "node", name)

    ready = staticmethod(node_ready)

    def containerd_pod_ids(self, uid):
        out = subprocess.run(["ctr", "--address", ENV["KITE_TB_CONTAINERD_SOCK"], "-n", "k8s.io",
                              "containers", "list", "-q",
                              f'labels."io.kubernetes.pod.uid"=={uid}'],
                             capture_output=True, text=True, check=True)
        return sorted(out.stdout.split())

    def port_forwarded_page(self, target):
        local = free_port()
        forward = subprocess.Popen(
            ["kubectl", "--kubeconfig", self.kubeconfig, "port-forward", "--address", "0.0.0.0",
             target, f"{local}:80"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            forward.stdout.readline()  # "Forwarding from 0.0.0.0:PORT -> 80"
            return wait_for(lambda: self.http_page(local), 30, "page through port-forward")
        finally:
            forward.terminate()
            forward.wait(10)
            forward.stdout.close()

    @staticmethod
    def http_url(url):
        out = subprocess.run(["curl", "-fsS", "--max-time", "3", url],
                             capture_output=True, text=True)
        return out.stdout if out.returncode == 0 else None

    @staticmethod
    def http_page(port):
        out = subprocess.run(["curl", "-fsS", "--max-time", "3", f"http://127.0.0.1:{port}/"],
                             capture_output=True, text=True)
        return out.stdout if out.returncode == 0 else None

    # --- tests -------------------------------------------------------------------
    def test_1_server_node_is_ready_with_its_facts(self):
        node = wait_for(lambda: (lambda n: n if self.ready(n) else None)(self.node(SERVER_NODE)),
                        60, "server node Ready")
        labels = node["metadata"]["labels"]
        wait_for(lambda: self.node(SERVER_NODE)["metadata"]["labels"].get(
            "node-role.kubernetes.io/control-plane") == "true", 30, "control-plane role label")
        self.assertEqual(labels["kubernetes.io/hostname"], SERVER_NODE)
        self.assertEqual(labels["kubernetes.io/os"], "linux")
        info = node["status"]["nodeInfo"]
        self.assertEqual(info["kernelVersion"], os.uname().release)
        self.assertTrue(info["containerRuntimeVersion"].startswith("containerd://"), info)
        self.assertIn({"type": "InternalIP", "address": "127.0.0.1"}, node["status"]["addresses"])
        wide = self.kubectl("get", "node", SERVER_NODE, "-o", "wide").stdout
        self.assertIn("Ready", wide)
        self.assertIn("control-plane", wide)
        self.assertIn("containerd://", wide)

    def test_2_seed_nginx_pod_is_scheduled_runs_and_survives_an_agent_kill9(self):
        created = not os.path.exists("/data/nginx")
        try:
            self.kubectl("apply", "-f", os.path.join(EXAMPLES, "nginx-pod.yaml"))
            pod = wait_for(lambda: (lambda p: p if p and p["status"].get("phase") == "Running"
                                    else None)(self.kubectl_json("get", "pod", "nginx-pod")),
                           120, "nginx-pod Running")
            self.assertEqual(pod["spec"]["nodeName"], SERVER_NODE)  # the scheduler bound it
            events = self.kubectl_json("get", "events", "--field-selector",
                                       "involvedObject.name=nginx-pod")["items"]
            self.assertIn("Scheduled", [e["reason"] for e in events])
            # The seed's commands, through the API server to the agent's kubelet port.
            self.kubectl("logs", "nginx-pod")
            conf = self.kubectl("exec", "nginx-pod", "--", "sh", "-c",
                                "cat /etc/nginx/nginx.conf").stdout
            self.assertIn("http {", conf)
            self.assertIn("Welcome to nginx!", self.port_forwarded_page("pod/nginx-pod"))
            # The seed's services.yaml, verbatim: its ClusterIP reaches the pod through the
            # agent's nftables proxy.
            self.kubectl("apply", "-f", os.path.join(EXAMPLES, "services.yaml"))
            ip = self.kubectl_json("get", "service", "nginx-clusterip")["spec"]["clusterIP"]
            # The bed's namespace has no default route (a real node has one): give the
            # service range a route so a local connect() reaches the nat output hook.
            subprocess.run(["ip", "route", "replace", "10.43.0.0/16", "dev", "kitebr0"],
                           check=True)
            try:
                page = wait_for(lambda: self.http_url(f"http://{ip}:80/"), 30,
                                "the page through the ClusterIP")
            finally:
                subprocess.run(["ip", "route", "del", "10.43.0.0/16", "dev", "kitebr0"])
            self.assertIn("Welcome to nginx!", page)
            lb = wait_for(lambda: self.kubectl_json("get", "service", "nginx-lb")["status"].get(
                "loadBalancer", {}).get("ingress"), 30, "LoadBalancer ingress")
            self.assertEqual(lb, [{"ip": "127.0.0.1", "ipMode": "VIP"}] if "ipMode" in lb[0]
                             else [{"ip": "127.0.0.1"}])
            uid = pod["metadata"]["uid"]
            before = self.containerd_pod_ids(uid)
            self.assertTrue(before)
            # kill -9 the whole server (agent included) and start it again: no pod restarts.
            type(self).server.stop(signal.SIGKILL)
            type(self).server.start()
            wait_for(lambda: self.ready(self.node(SERVER_NODE)), 60, "node Ready again")
            time.sleep(5)  # a few sync periods of the restarted kubelet
            pod = self.kubectl_json("get", "pod", "nginx-pod")
            self.assertEqual(pod["status"]["phase"], "Running")
            self.assertEqual(self.containerd_pod_ids(uid), before)
            self.assertEqual(pod["status"]["containerStatuses"][0]["restartCount"], 0)
            self.kubectl("delete", "pod", "nginx-pod", "--grace-period=5")
            wait_for(lambda: not self.containerd_pod_ids(uid), 60, "nothing left in containerd")
        finally:
            self.kubectl("delete", "pod", "nginx-pod", "--ignore-not-found", check=False)
            self.kubectl("delete", "-f", os.path.join(EXAMPLES, "services.yaml"),
                         "--ignore-not-found", check=False)
            if created:
                shutil.rmtree("/data/nginx", ignore_errors=True)

    def test_3_an_agent_joins_with_the_token_and_its_lease_stops_with_it(self):
        token = join_token(self.server)
        url = f"https://127.0.0.1:{self.port}"
        # No second containerd on the bed: the node registers and keeps its Lease without one.
        missing = "unix://" + os.path.join(ENV["KITE_TB_DIR"], "no-such-runtime.sock")
        agent = Process("agent", lambda d: [
            "agent", "--data-dir", os.path.join(d, "data"),
            *agent_args(d, AGENT_NODE, missing)])
        type(self).agent = agent
        os.environ["KITE_URL"], os.environ["KITE_TOKEN"] = url, token  # as K3S_URL/K3S_TOKEN
        try:
            agent.start()
        finally:
            del os.environ["KITE_URL"], os.environ["KITE_TOKEN"]
        wait_for(lambda: self.node(AGENT_NODE), 60, "agent node registered")
        # Without its runtime the node is registered but not Ready, saying why.
        ready = [c for c in self.node(AGENT_NODE)["status"]["conditions"] if c["type"] == "Ready"]
        self.assertEqual(ready[0]["status"], "False")
        self.assertEqual(ready[0]["reason"], "KubeletNotReady")
        self.assertEqual(ready[0]["message"], "container runtime is down")
        agent_dir = os.path.join(agent.dir, "data", "agent")
        for name in os.listdir(agent_dir):
            mode = os.stat(os.path.join(agent_dir, name)).st_mode & 0o077
            self.assertEqual(mode, 0, name)
        lease = lambda: self.kubectl_json("get", "lease", "-n", "kube-node-lease", AGENT_NODE)
        first = wait_for(lambda: (lambda l: l["spec"]["renewTime"] if l else None)(lease()), 30,
                         "agent lease")
        wait_for(lambda: lease()["spec"]["renewTime"] != first, 30, "lease renewed")
        agent.stop()
        stopped = lease()["spec"]["renewTime"]
        time.sleep(5)
        self.assertEqual(lease()["spec"]["renewTime"], stopped)

    def test_5_a_second_node_with_its_own_containerd_runs_a_pod_pinned_to_it(self):
        token = join_token(self.server)
        runtime = SecondContainerd()
        node = "kite-second-node"
        agent = Process("agent2", lambda d: [
            "agent", "--server", f"https://127.0.0.1:{self.port}", "--token", token,
            "--data-dir", os.path.join(d, "data"),
            *agent_args(d, node, "unix://" + runtime.socket)])
        manifest = json.dumps({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pinned"},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1, "containers": [
                {"name": "c", "image": "busybox:1.35", "command": ["sleep", "3600"]}]}})
        try:
            agent.start()
            wait_for(lambda: self.ready(self.node(node)), 60, "second node Ready")
            self.kubectl("apply", "-f", "-", stdin=manifest)
            pod = wait_for(lambda: (lambda p: p if p and p["status"].get("phase") == "Running"
                                    else None)(self.kubectl_json("get", "pod", "pinned")),
                           90, "pinned pod Running")
            uid = pod["metadata"]["uid"]
            self.assertTrue(runtime.container_ids(uid))        # on the second containerd
            self.assertFalse(self.containerd_pod_ids(uid))     # not on the server's
            self.kubectl("delete", "pod", "pinned")
            wait_for(lambda: not runtime.container_ids(uid), 60, "pinned pod removed")
        finally:
            self.kubectl("delete", "pod", "pinned", "--ignore-not-found", "--grace-period=0",
                         "--force", check=False)
            agent.stop()
            subprocess.run(["umount", "-R", agent.dir], stderr=subprocess.DEVNULL)
            shutil.rmtree(agent.dir, ignore_errors=True)
            runtime.stop()

    def test_6_memory_pressure_evicts_besteffort_pods_first(self):
        """A node whose eviction threshold can never be met (memory.available<100000Gi)."""
        runtime = SecondContainerd()
        node = "kite-pressure-node"

        def pod(name, resources):
            return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                    "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                             "containers": [{"name": "c", "image": "busybox:1.35",
                                             "command": ["sleep", "3600"],
                                             "resources": resources}]}}

        pods = {"guaranteed": {"requests": {"cpu": "100m", "memory": "64Mi"},
                               "limits": {"cpu": "100m", "memory": "64Mi"}},
                # Well under its request, as the ranking assumes: with 1Mi a container's
                # kernel memory and first-touch page cache could put it over, and then its
                # excess could outrank the BestEffort pod's whole usage.
                "burstable": {"requests": {"memory": "32Mi"}},
                "besteffort": {}}
        for name, resources in pods.items():
            self.kubectl("apply", "-f", "-", stdin=json.dumps(pod(name, resources)))
        # The node starts with all three waiting for it, so the ranking alone decides.
        agent = Process("agent3", lambda d: [
            "agent", "--server", f"https://127.0.0.1:{self.port}", "--token",
            join_token(self.server), "--data-dir", os.path.join(d, "data"),
            *agent_args(d, node, "unix://" + runtime.socket, extra=[
                "--eviction-hard", "memory.available<100000Gi", "--housekeeping-interval",
                "1s"])])
        order = []
        try:
            agent.start()

            def evicted():
                for name in pods:
                    p = self.kubectl_json("get", "pod", name)
                    if name not in order and p and p["status"].get("reason") == "Evicted":
                        order.append(name)
                return len(order) == len(pods)

            wait_for(evicted, 90, "all three pods evicted")
            self.assertEqual(order, ["besteffort", "burstable", "guaranteed"])
            status = self.kubectl_json("get", "pod", "besteffort")["status"]
            self.assertEqual(status["phase"], "Failed")
            self.assertIn("The node was low on resource: memory.", status["message"])
            conditions = {c["type"]: c["status"]
                          for c in self.node(node)["status"]["conditions"]}
            self.assertEqual(conditions["MemoryPressure"], "True")
            reasons = [e["reason"] for e in self.kubectl_json(
                "get", "events", "--field-selector", "involvedObject.name=besteffort")["items"]]
            self.assertIn("Evicted", reasons)
        finally:
            for name in pods:
                self.kubectl("delete", "pod", name, "--grace-period=0", "--force", check=False)
            agent.stop()
            subprocess.run(["umount", "-R", agent.dir], stderr=subprocess.DEVNULL)
            shutil.rmtree(agent.dir, ignore_errors=True)
            runtime.stop()
            self.kubectl("delete", "node", node, "--ignore-not-found", check=False)

    def test_4_a_wrong_token_does_not_join(self):
        agent = Process("bad-agent", lambda d: [
            "agent", "--server", f"https://127.0.0.1:{self.port}", "--token",
            "K10" + "0" * 64 + "::server:0123456789abcdef", "--data-dir", os.path.join(d, "data"),
            *agent_args(d, "kite-bad-node", "unix:///nonexistent.sock")])
        try:
            agent.start()
            self.assertNotEqual(agent.proc.wait(30), 0)
            self.assertIn("refusing to trust", agent.log_text())
            self.assertIsNone(self.node("kite-bad-node"))
        finally:
            agent.stop()
            shutil.rmtree(agent.dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
