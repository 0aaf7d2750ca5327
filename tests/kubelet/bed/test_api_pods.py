"""`kite kubelet --kubeconfig` running pods from a real `kite server` on the
test bed, driven with real kubectl: status written back, ConfigMap env vars,
graceful deletion leaving nothing in containerd, mirror pods of static pods.

Usage (through CTest): testbed.sh exec BED python3 test_api_pods.py KITE EXAMPLES_DIR"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

from harness import ENV, Kubelet, free_port

KITE = sys.argv[1] if len(sys.argv) > 1 else "kite"
EXAMPLES = sys.argv[2] if len(sys.argv) > 2 else "examples"
del sys.argv[1:3]  # the rest (e.g. -k NAME) goes to unittest

NODE = "kite-api-node"


class Server:
    """`kite server --disable-agent` without control loops on a free loopback port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="server-", dir=ENV["KITE_TB_DIR"])
        self.kubeconfig = os.path.join(self.dir, "admin.kubeconfig")
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "server.log"), "a")
        self.proc = subprocess.Popen(
            [KITE, "server", "--disable-agent", "--disable-scheduler",
             "--disable-controller-manager", "--bind-address", "127.0.0.1",
             "--https-listen-port", str(self.port), "--data-dir", os.path.join(self.dir, "data"),
             "--write-kubeconfig", self.kubeconfig, "--log-level", "warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        Kubelet.wait_for(lambda: os.path.exists(self.kubeconfig) and
                         self.kubectl_ok("get", "--raw", "/readyz"), 30, "API server")

    def kubectl_ok(self, *args):
        return subprocess.run(["kubectl", "--kubeconfig", self.kubeconfig, *args],
                              capture_output=True).returncode == 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class ApiPodsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.kubelet = Kubelet(KITE, node_name=NODE,
                              extra_args=["--kubeconfig", cls.server.kubeconfig,
                                          "--node-ip", "127.0.0.1"])
        cls.kubelet.start()
        cls.wait_for = staticmethod(Kubelet.wait_for)
        cls.wait_for(lambda: cls.kubectl_json("get", "node", NODE), 30, "node registered")

    @classmethod
    def tearDownClass(cls):
        try:
            subprocess.run(["kubectl", "--kubeconfig", cls.server.kubeconfig, "delete", "pods",
                            "--all", "--grace-period=1", "--wait=false"], capture_output=True)
        finally:
            cls.kubelet.cleanup()
            cls.server.stop()

    # --- helpers ---------------------------------------------------------------
    @classmethod
    def kubectl(cls, *args, stdin=None, check=True):
        out = subprocess.run(["kubectl", "--kubeconfig", cls.server.kubeconfig, *args],
                             input=stdin, capture_output=True, text=True)
        if check and out.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {out.stderr}")
        return out

    @classmethod
    def kubectl_json(cls, *args):
        out = cls.kubectl(*args, "-o", "json", check=False)
        return json.loads(out.stdout) if out.returncode == 0 else None

    def api_pod(self, name):
        return self.kubectl_json("get", "pod", name)

    def wait_api_pod(self, name, predicate, timeout=60):
        return self.wait_for(lambda: (lambda p: p if p and predicate(p) else None)(
            self.api_pod(name)), timeout, f"pod {name} in the API")

    def containerd_has_pod(self, uid):
        out = subprocess.run(["ctr", "--address", ENV["KITE_TB_CONTAINERD_SOCK"], "-n", "k8s.io",
                              "containers", "list", "-q",
                              f'labels."io.kubernetes.pod.uid"=={uid}'],
                             capture_output=True, text=True, check=True)
        return out.stdout.strip() != ""

    def container_log(self, pod, container):
        path = os.path.join(self.kubelet.logs,
                            f"{pod['metadata']['namespace']}_{pod['metadata']['name']}_"
                            f"{pod['metadata']['uid']}", container, "0.log")
        with open(path) as f:
            return f.read()

    # --- tests -------------------------------------------------------------------
    def test_seed_nginx_pod_runs_reports_status_and_is_deleted_gracefully(self):
        created = not os.path.exists("/data/nginx")
        with open(os.path.join(EXAMPLES, "nginx-pod.yaml")) as f:
            manifest = f.read().replace("spec:\n", f"spec:\n  nodeName: {NODE}\n", 1)
        try:
            self.kubectl("apply", "-f", "-", stdin=manifest)
            pod = self.wait_api_pod("nginx-pod", lambda p: p["status"].get("phase") == "Running" and
                                    all(c["ready"] for c in p["status"].get("containerStatuses", [])),
                                    timeout=90)
            status = pod["status"]
            conditions = {c["type"]: c["status"] for c in status["conditions"]}
            for ctype in ("PodScheduled", "Initialized", "ContainersReady", "Ready",
                          "PodReadyToStartContainers"):
                self.assertEqual(conditions.get(ctype), "True", (ctype, status["conditions"]))
            self.assertTrue(status["podIP"])
            self.assertEqual(status["podIPs"][0]["ip"], status["podIP"])
            self.assertEqual(status["hostIP"], "127.0.0.1")
            self.assertEqual(status["hostIPs"], [{"ip": "127.0.0.1"}])
            self.assertTrue(status["startTime"])
            self.assertEqual(status["qosClass"], "BestEffort")
            init = status["initContainerStatuses"][0]
            self.assertEqual(init["name"], "cp-ngx-conf")
            self.assertEqual(init["state"]["terminated"]["reason"], "Completed")
            main = status["containerStatuses"][0]
            self.assertEqual(main["name"], "nginx")
            self.assertIn("running", main["state"])
            self.assertTrue(main["containerID"].startswith("containerd://"))
            uid = pod["metadata"]["uid"]
            self.assertTrue(self.containerd_has_pod(uid))

            # Events from the kubelet, about the container that started.
            def started_event():
                for e in self.kubectl_json("get", "events")["items"]:
                    if e["involvedObject"].get("uid") == uid and e["reason"] == "Started" and \
                            e["involvedObject"].get("fieldPath") == "spec.containers{nginx}":
                        return e
                return None
            event = self.wait_for(started_event, 20, "Started event")
            self.assertEqual(event["source"], {"component": "kubelet", "host": NODE})
            self.assertEqual(event["message"], "Started container nginx")
            # ...and about its image: pulled now, or already there (IfNotPresent).
            pulled = [e for e in self.kubectl_json("get", "events")["items"]
                      if e["involvedObject"].get("uid") == uid and e["reason"] == "Pulled" and
                      e["involvedObject"].get("fieldPath") == "spec.containers{nginx}"]
            self.assertEqual(len(pulled), 1, "one Pulled event for nginx")
            self.assertRegex(pulled[0]["message"],
                             r'^(Successfully pulled image "nginx:1.22.1" in [0-9.]+s .*'
                             r'|Container image "nginx:1.22.1" already present on machine)$')

            # Graceful deletion: the kubelet stops it and deletes the object for good.
            started = time.time()
            self.kubectl("delete", "pod", "nginx-pod", "--timeout=60s")
            self.assertLess(time.time() - started, 40)
            self.assertIsNone(self.api_pod("nginx-pod"))
            self.wait_for(lambda: not self.containerd_has_pod(uid), 20, "nothing left in containerd")
            self.assertIn("Stopping container nginx", self.kubelet.log_text())
        finally:
            if created:
                shutil.rmtree("/data/nginx", ignore_errors=True)

    def test_configmap_env_volume_and_service_variables(self):
        self.kubectl("create", "configmap", "settings", "--from-literal=greeting=hello-from-api")
        self.kubectl("create", "service", "clusterip", "web", "--tcp=80:8080")
        pod_yaml = textwrap.dedent(f"""\
            apiVersion: v1
            kind: Pod
            metadata:
              name: echo
            spec:
              nodeName: {NODE}
              terminationGracePeriodSeconds: 1
              containers:
              - name: main
                image: busybox:1.35
                command: ["sh", "-c", "echo GREETING=$GREETING; echo FILE=$(cat /cfg/greeting); echo WEB=$WEB_SERVICE_HOST:$WEB_SERVICE_PORT $WEB_PORT_80_TCP; echo API=$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT; sleep 3600"]
                env:
                - name: GREETING
                  valueFrom:
                    configMapKeyRef: {{name: settings, key: greeting}}
                volumeMounts:
                - {{name: cfg, mountPath: /cfg}}
              volumes:
              - name: cfg
                configMap: {{name: settings}}
            """)
        self.kubectl("apply", "-f", "-", stdin=pod_yaml)
        pod = self.wait_api_pod("echo", lambda p: p["status"].get("phase") == "Running")
        log = self.wait_for(lambda: (lambda t: t if "API=" in t else None)(
            self.container_log(pod, "main")), 20, "container output")
        self.assertIn("GREETING=hello-from-api", log)
        self.assertIn("FILE=hello-from-api", log)
        web = self.kubectl_json("get", "service", "web")
        self.assertIn(f"WEB={web['spec']['clusterIP']}:80 tcp://{web['spec']['clusterIP']}:80",
                      log)
        kubernetes = self.kubectl_json("get", "service", "kubernetes", "-n", "default")
        if kubernetes:  # made by the server's own bootstrap, when it makes it
            port = kubernetes["spec"]["ports"][0]["port"]
            self.assertIn(f"API={kubernetes['spec']['clusterIP']}:{port}", log)

        # The ConfigMap changes: the volume follows on a resync (env does not, as upstream).
        self.kubectl("patch", "configmap", "settings", "-p", '{"data":{"greeting":"changed"}}')
        volume = os.path.join(self.kubelet.root, "pods", pod["metadata"]["uid"], "volumes",
                              "kubernetes.io~configmap", "cfg", "greeting")
        self.wait_for(lambda: open(volume).read() == "changed", 30, "configMap volume updated")

        uid = pod["metadata"]["uid"]
        self.kubectl("delete", "pod", "echo", "--timeout=60s")
        self.wait_for(lambda: not self.containerd_has_pod(uid), 20, "nothing left in containerd")

    def test_static_pod_has_a_mirror_pod(self):
        self.kubelet.write_manifest("static-web.yaml", textwrap.dedent("""\
            apiVersion: v1
            kind: Pod
            metadata:
              name: static-web
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: main
                image: busybox:1.35
                command: ["sleep", "3600"]
            """))
        name = f"static-web-{NODE}"
        mirror = self.wait_api_pod(name, lambda p: p["status"].get("phase") == "Running")
        annotations = mirror["metadata"]["annotations"]
        self.assertEqual(annotations["kubernetes.io/config.source"], "file")
        self.assertTrue(annotations["kubernetes.io/config.mirror"])
        owner = mirror["metadata"]["ownerReferences"][0]
        self.assertEqual((owner["kind"], owner["name"]), ("Node", NODE))
        self.assertEqual(mirror["spec"]["nodeName"], NODE)
        # The kubelet does not run the mirror pod as a second pod.
        self.assertEqual(len([p for p in self.kubelet.pods()
                              if p["metadata"]["name"] == name]), 1)

        self.kubelet.remove_manifest("static-web.yaml")
        self.wait_for(lambda: self.api_pod(name) is None, 30, "mirror pod deleted")

    def test_claim_of_a_local_volume_is_mounted(self):
        host_dir = tempfile.mkdtemp(prefix="local-pv-", dir=self.kubelet.dir)
        with open(os.path.join(host_dir, "hello"), "w") as f:
            f.write("from-the-pv")
        hostname = self.kubectl_json("get", "node", NODE)["metadata"]["labels"][
            "kubernetes.io/hostname"]

        def volume(name, host):
            return textwrap.dedent(f"""\
                apiVersion: v1
                kind: PersistentVolume
                metadata: {{name: {name}}}
                spec:
                  capacity: {{storage: 1Gi}}
                  accessModes: [ReadWriteOnce]
                  local: {{path: {host_dir}}}
                  nodeAffinity:
                    required:
                      nodeSelectorTerms:
                      - matchExpressions:
                        - {{key: kubernetes.io/hostname, operator: In, values: [{host}]}}
                ---
                apiVersion: v1
                kind: PersistentVolumeClaim
                metadata: {{name: claim-{name}}}
                spec:
                  accessModes: [ReadWriteOnce]
                  resources: {{requests: {{storage: 1Gi}}}}
                  volumeName: {name}
                """)
        self.kubectl("apply", "-f", "-", stdin=volume("pv-here", hostname) +
                     "---\n" + volume("pv-far", "some-other-node"))
        for claim in ("claim-pv-here", "claim-pv-far"):  # no controllers here to bind them
            self.kubectl("patch", "pvc", claim, "--subresource=status", "--type=merge",
                         "-p", '{"status":{"phase":"Bound"}}')

        def pod(name, claim):
            return textwrap.dedent(f"""\
                apiVersion: v1
                kind: Pod
                metadata: {{name: {name}}}
                spec:
                  nodeName: {NODE}
                  terminationGracePeriodSeconds: 1
                  containers:
                  - name: main
                    image: busybox:1.35
                    command: ["sh", "-c", "cat /data/hello; echo; echo written > /data/out; sleep 3600"]
                    volumeMounts: [{{name: data, mountPath: /data}}]
                  volumes:
                  - name: data
                    persistentVolumeClaim: {{claimName: {claim}}}
                """)
        self.kubectl("apply", "-f", "-", stdin=pod("pv-user", "claim-pv-here"))
        self.kubectl("apply", "-f", "-", stdin=pod("pv-far-user", "claim-pv-far"))
        running = self.wait_api_pod("pv-user", lambda p: p["status"].get("phase") == "Running")
        self.wait_for(lambda: "from-the-pv" in self.container_log(running, "main"), 20,
                      "the PV's file read in the container")
        self.wait_for(lambda: os.path.exists(os.path.join(host_dir, "out")), 10,
                      "the container's file on the PV")

        # A volume of another node: not mounted, a FailedMount event says why.
        def failed_mount():
            for e in self.kubectl_json("get", "events")["items"]:
                if e["involvedObject"]["name"] == "pv-far-user" and e["reason"] == "FailedMount":
                    return e
            return None
        event = self.wait_for(failed_mount, 30, "FailedMount event")
        self.assertIn("node affinity", event["message"])
        self.assertEqual(event["type"], "Warning")
        self.assertEqual(self.api_pod("pv-far-user")["status"].get("phase", "Pending"), "Pending")
        self.kubectl("delete", "pod", "pv-user", "pv-far-user", "--timeout=60s")


if __name__ == "__main__":
    unittest.main(verbosity=2)
