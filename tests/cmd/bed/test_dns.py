"""Cluster DNS end to end on the test bed: `kite server` (API server, controllers, and its agent
with the nftables proxy and the node's DNS server) runs the seed's services.yaml in front of the
seed's nginx pod, applied verbatim with real kubectl. Pods resolve Service names through the
kube-dns Service (10.43.0.10) that leads to the agent's DNS server on the node address, and
`dig` (Debian dnsutils, the bed's own: the bed images are busybox only) run in a pod's network
namespace resolves a Service, a headless Service, an ExternalName and an SRV record there.

The bed's network namespace has only loopback, and a pod cannot be sent to 127.0.0.1, so the
node gets an address of its own for the test, on lo (the bed kernel has no dummy links; removed
at the end).

Usage (through CTest): testbed.sh exec BED python3 test_dns.py KITE EXAMPLES_DIR"""

import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
from cluster import (ENV, Kubectl, Process, agent_args, free_port, node_ready,  # noqa: E402
                     stop_server, wait_for)

cluster.KITE = sys.argv[1] if len(sys.argv) > 1 else "kite"
EXAMPLES = sys.argv[2] if len(sys.argv) > 2 else "examples"
del sys.argv[1:3]  # the rest (e.g. -k NAME) goes to unittest

NODE = "dns-node"
NODE_IP = "192.0.2.10"  # TEST-NET-1: on no real network
CLUSTER_DNS = "10.43.0.10"
DOMAIN = "default.svc.cluster.local"
WELCOME = "Welcome to nginx!"

# Two plain pods behind a headless Service with a named port (the seed has no headless one);
# peer-a is also the client the checks run in.
PEERS = [{
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": name, "labels": {"dns-test": "peer"}},
    "spec": {"terminationGracePeriodSeconds": 0,
             "containers": [{"name": "c", "image": "busybox:1.35",
                             "command": ["sleep", "3600"]}]}} for name in ("peer-a", "peer-b")]
HEADLESS = {
    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "peers"},
    "spec": {"clusterIP": "None", "selector": {"dns-test": "peer"},
             "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}}


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


class DnsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ip("addr", "add", NODE_IP + "/32", "dev", "lo")
        cls.created_data = not os.path.exists("/data/nginx")
        port = free_port()

        def args(d):
            node = agent_args(d, NODE, ENV["KITE_TB_CRI_ENDPOINT"], proxy=True)
            node[node.index("--node-ip") + 1] = NODE_IP
            return ["server", "--bind-address", "127.0.0.1", "--https-listen-port", str(port),
                    "--data-dir", os.path.join(d, "data"),
                    "--write-kubeconfig", os.path.join(d, "admin.kubeconfig"), *node]

        cls.server = Process("server", args)
        cls.server.start()
        cls.k = Kubectl(os.path.join(cls.server.dir, "admin.kubeconfig"))
        try:
            wait_for(lambda: os.path.exists(cls.k.kubeconfig) and node_ready(
                cls.k.json("get", "node", NODE)), 60, "the server's node Ready")
            cls.k("apply", "-f", os.path.join(EXAMPLES, "nginx-pod.yaml"))
            cls.k("apply", "-f", os.path.join(EXAMPLES, "services.yaml"))
            cls.k("apply", "-f", "-",
                  stdin="\n".join(json.dumps(o) for o in PEERS + [HEADLESS]))
            for name in ("nginx-pod", "peer-a", "peer-b"):
                wait_for(lambda name=name: cls.ready(name), 120, f"{name} Ready")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.k("delete", "pods", "--all", "--grace-period=0", "--wait=false", check=False)
            wait_for(lambda: not (cls.k.json("get", "pods") or {"items": []})["items"], 60,
                     "pods deleted")
        except AssertionError:
            pass
        finally:
            stop_server(cls.server)
            ip("addr", "del", NODE_IP + "/32", "dev", "lo", check=False)
            if cls.created_data:
                shutil.rmtree("/data/nginx", ignore_errors=True)

    @classmethod
    def ready(cls, name):
        pod = cls.k.json("get", "pod", name)
        return bool(pod) and any(c["type"] == "Ready" and c["status"] == "True"
                                 for c in pod["status"].get("conditions", []))

    def pod_ips(self, selector):
        return sorted(p["status"]["podIP"] for p in
                      self.k.json("get", "pods", "-l", selector)["items"])

    def in_pod(self, pod, *command):
        out = self.k("exec", pod, "--", *command, check=False)
        return out.stdout if out.returncode == 0 else None

    def pod_pid(self, pod):
        """The PID of the pod's container on the bed's containerd (for its network namespace)."""
        cid = self.k.json("get", "pod", pod)["status"]["containerStatuses"][0]["containerID"]
        cid = cid.split("://", 1)[1]
        out = subprocess.run(["ctr", "--address", ENV["KITE_TB_CONTAINERD_SOCK"], "-n",
                              "k8s.io", "task", "ls"], capture_output=True, text=True, check=True)
        for line in out.stdout.splitlines():
            fields = line.split()
            if fields and fields[0] == cid:
                return fields[1]
        raise AssertionError(f"no task for {pod}: {out.stdout}")

    def dig(self, *query):
        """dig at the pod's nameserver, run in the pod's network namespace; (status, answers)."""
        out = subprocess.run(
            ["nsenter", f"--net=/proc/{self.pod_pid('peer-a')}/ns/net", "dig", "+tries=2",
             "+time=3", "+noall", "+comments", "+answer", f"@{CLUSTER_DNS}", *query],
            capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        header = [line for line in out.stdout.splitlines() if "status:" in line]
        self.assertTrue(header, out.stdout)
        status = header[0].split("status:")[1].split(",")[0].strip()
        answers = [line.split() for line in out.stdout.splitlines()
                   if line and not line.startswith(";")]
        return status, answers

    # --- tests -------------------------------------------------------------------------
    def test_kube_dns_service_leads_to_the_node(self):
        svc = self.k.json("get", "service", "-n", "kube-system", "kube-dns")
        self.assertEqual(svc["spec"]["clusterIP"], CLUSTER_DNS)
        self.assertEqual(sorted((p["name"], p["protocol"], p["port"]) for p in svc["spec"][
            "ports"]), [("dns", "UDP", 53), ("dns-tcp", "TCP", 53)])
        slices = self.k.json("get", "endpointslices", "-n", "kube-system", "-l",
                             "kubernetes.io/service-name=kube-dns")["items"]
        self.assertEqual([(e["addresses"], e["nodeName"], e["conditions"]["ready"])
                          for s in slices for e in s["endpoints"]], [([NODE_IP], NODE, True)])

    def test_pods_resolv_conf_names_the_cluster_dns(self):
        conf = self.in_pod("peer-a", "cat", "/etc/resolv.conf")
        lines = conf.splitlines()
        self.assertIn(f"nameserver {CLUSTER_DNS}", lines)
        search = [line for line in lines if line.startswith("search ")]
        self.assertTrue(search and search[0].split()[1:4] == [
            DOMAIN, "svc.cluster.local", "cluster.local"], conf)
        self.assertIn("options ndots:5", lines)

    def test_seed_services_reach_nginx_by_name_and_cluster_ip(self):
        cluster_ip = self.k.json("get", "service", "nginx-clusterip")["spec"]["clusterIP"]
        for url in ("http://nginx-clusterip/", f"http://nginx-clusterip.{DOMAIN}/",
                    f"http://{cluster_ip}/", "http://nginx-lb:8080/"):
            # busybox wget crashes with -T (as tests/testbed notes): timeout bounds it instead.
            page = wait_for(lambda url=url: self.in_pod("peer-a", "timeout", "5", "wget", "-q",
                                                        "-O", "-", url), 30, f"{url} from a pod")
            self.assertIn(WELCOME, page, url)

    def test_dig_service_a_record(self):
        cluster_ip = self.k.json("get", "service", "nginx-clusterip")["spec"]["clusterIP"]
        status, answers = self.dig(f"nginx-clusterip.{DOMAIN}", "A")
        self.assertEqual(status, "NOERROR")
        self.assertEqual([(a[0], a[3], a[4]) for a in answers],
                         [(f"nginx-clusterip.{DOMAIN}.", "A", cluster_ip)])

    def test_dig_headless_service_gives_the_pod_ips(self):
        want = self.pod_ips("dns-test=peer")
        self.assertEqual(len(want), 2)
        status, answers = self.dig(f"peers.{DOMAIN}", "A")
        self.assertEqual(status, "NOERROR")
        self.assertEqual(sorted(a[4] for a in answers if a[3] == "A"), want)

    def test_dig_external_name_cname(self):
        status, answers = self.dig(f"db-external.{DOMAIN}", "CNAME")
        self.assertEqual(status, "NOERROR")
        self.assertEqual([(a[3], a[4]) for a in answers], [("CNAME", "db.example.internal.")])

    def test_dig_srv_for_a_named_port(self):
        status, answers = self.dig(f"_http._tcp.peers.{DOMAIN}", "SRV")
        self.assertEqual(status, "NOERROR")
        targets = sorted(a[7] for a in answers if a[3] == "SRV")
        self.assertEqual(targets, sorted(f"{i.replace('.', '-')}.peers.{DOMAIN}."
                                          for i in self.pod_ips("dns-test=peer")))
        self.assertTrue(all(a[6] == "80" for a in answers if a[3] == "SRV"), answers)

    def test_dig_missing_service_is_nxdomain(self):
        status, answers = self.dig(f"no-such-service.{DOMAIN}", "A")
        self.assertEqual((status, answers), ("NXDOMAIN", []))


if __name__ == "__main__":
    unittest.main(verbosity=2)
