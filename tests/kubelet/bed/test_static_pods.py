"""`kite kubelet` running static pods on the real test bed.

Usage (through CTest):
  testbed.sh exec BED python3 test_static_pods.py KITE EXAMPLES_DIR [GRPC_HEALTH_SERVER]
GRPC_HEALTH_SERVER is tests/kubelet/bed/grpc_health_server from the build (the grpc probe
test skips without it)."""

import os
import shutil
import subprocess
import sys
import textwrap
import unittest
import uuid

from harness import (Kubelet, container_state, http_get, phase, tcp_exchange, waiting_reason)

KITE = sys.argv[1] if len(sys.argv) > 1 else "kite"
EXAMPLES = sys.argv[2] if len(sys.argv) > 2 else "examples"
GRPC_SERVER = sys.argv[3] if len(sys.argv) > 3 and not sys.argv[3].startswith("-") else None
del sys.argv[1:4 if GRPC_SERVER else 3]  # the rest (e.g. -k NAME) goes to unittest


def busybox_pod(name, command, restart="Always", image="busybox:1.35", extra=""):
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Pod
        metadata:
          name: {name}
        spec:
          restartPolicy: {restart}
          terminationGracePeriodSeconds: 2
          containers:
          - name: main
            image: {image}
            command: ["sh", "-c", {command!r}]
        """) + extra


class HostDirs:
    """Host directories the seed's hostPath volumes use: removed afterwards if
    the test created them, left alone otherwise."""

    def __init__(self, *paths):
        self.created = [p for p in paths if not os.path.exists(p)]

    def cleanup(self):
        for p in self.created:
            shutil.rmtree(p, ignore_errors=True)


class StaticPodsTest(unittest.TestCase):
    def setUp(self):
        self.kubelet = Kubelet(KITE)
        self.kubelet.start()

    def tearDown(self):
        self.kubelet.cleanup()

    def test_seed_nginx_pod_verbatim(self):
        dirs = HostDirs("/data", "/data/nginx")
        self.addCleanup(dirs.cleanup)
        self.kubelet.copy_manifest(os.path.join(EXAMPLES, "nginx-pod.yaml"))
        pod = self.kubelet.wait_pod("nginx-pod", lambda p: phase(p) == "Running" and
                                    container_state(p, "nginx")["ready"], timeout=90)
        init = container_state(pod, "cp-ngx-conf", init=True)
        self.assertEqual(init["state"]["terminated"]["reason"], "Completed")
        self.assertTrue(os.path.exists("/data/nginx/nginx.conf"), "init container filled /data/nginx")
        page = self.kubelet.wait_for(lambda: http_get(pod["status"]["podIP"], 80), 20, "nginx page")
        self.assertIn("Welcome to nginx!", page)
        conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
        self.assertEqual(conditions["Initialized"], "True")
        self.assertEqual(conditions["Ready"], "True")
        self.assertEqual(pod["status"]["qosClass"], "BestEffort")

        # Removing the manifest stops and removes the pod; hostPath data stays.
        self.kubelet.remove_manifest("nginx-pod.yaml")
        self.kubelet.wait_for(lambda: self.kubelet.pod("nginx-pod") is None and
                              not self.kubelet.cri_pods() and not self.kubelet.cri_containers(),
                              60, "nginx pod gone from kubelet and containerd")
        self.assertTrue(os.path.exists("/data/nginx/nginx.conf"))

    def test_seed_mysql_pod_keeps_its_data(self):
        dirs = HostDirs("/data", "/data/mysql")
        self.addCleanup(dirs.cleanup)
        key = "k" + uuid.uuid4().hex[:8]
        self.kubelet.copy_manifest(os.path.join(EXAMPLES, "mysql-pod.yaml"))
        pod = self.kubelet.wait_pod("mysql-pod", lambda p: phase(p) == "Running", 90, "mysql")
        ip = pod["status"]["podIP"]
        self.assertEqual(self.kubelet.wait_for(lambda: tcp_exchange(ip, 3306, f"SET {key} kept"),
                                               20, "mysql answers"), "OK")
        self.assertIn("skipping Namespace", self.kubelet.log_text())

        self.kubelet.remove_manifest("mysql-pod.yaml")
        self.kubelet.wait_for(lambda: self.kubelet.pod("mysql-pod", "mysql") is None and
                              not self.kubelet.cri_pods(), 60, "mysql pod gone")
        self.kubelet.copy_manifest(os.path.join(EXAMPLES, "mysql-pod.yaml"))
        pod = self.kubelet.wait_pod("mysql-pod", lambda p: phase(p) == "Running", 90, "mysql")
        self.assertEqual(self.kubelet.wait_for(
            lambda: tcp_exchange(pod["status"]["podIP"], 3306, f"GET {key}"), 20, "mysql GET"),
            "kept")

    def test_kill9_then_restart_adopts_without_restarting(self):
        self.kubelet.write_manifest("sleeper.yaml", busybox_pod("sleeper", "sleep 3600"))
        self.kubelet.wait_pod("sleeper", lambda p: phase(p) == "Running")
        before = self.kubelet.cri_containers()
        status_before = container_state(self.kubelet.pod("sleeper"), "main")
        self.kubelet.kill9()
        self.kubelet.start()
        pod = self.kubelet.wait_pod("sleeper", lambda p: phase(p) == "Running" and
                                    container_state(p, "main")["ready"])
        self.assertEqual(self.kubelet.cri_containers(), before, "nothing was recreated")
        after = container_state(pod, "main")
        self.assertEqual(after["containerID"], status_before["containerID"])
        self.assertEqual(after["restartCount"], 0)
        self.assertEqual(after["state"]["running"]["startedAt"],
                         status_before["state"]["running"]["startedAt"])

    def test_container_of_another_tool_is_left_alone(self):
        sock = os.environ["KITE_TB_CONTAINERD_SOCK"]
        name = "foreign-" + uuid.uuid4().hex[:6]
        ctr = ["ctr", "--address", sock, "-n", "k8s.io"]
        image = "docker.io/library/busybox:1.35"
        subprocess.run(ctr + ["images", "pull", "--plain-http", "--hosts-dir",
                              os.environ["KITE_TB_HOSTS_DIR"], image],
                       check=True, capture_output=True)
        subprocess.run(ctr + ["run", "-d", image, name, "sleep", "3600"], check=True,
                       capture_output=True)

        def cleanup():
            subprocess.run(ctr + ["tasks", "kill", "-s", "SIGKILL", name], capture_output=True)
            self.kubelet.wait_for(lambda: subprocess.run(ctr + ["tasks", "delete", name],
                                                         capture_output=True).returncode == 0 or
                                  True, 5, "task deleted")
            subprocess.run(ctr + ["containers", "delete", name], capture_output=True)
        self.addCleanup(cleanup)

        self.kubelet.write_manifest("sleeper.yaml", busybox_pod("sleeper", "sleep 3600"))
        self.kubelet.wait_pod("sleeper", lambda p: phase(p) == "Running")
        self.kubelet.kill9()
        self.kubelet.start()
        self.kubelet.wait_pod("sleeper", lambda p: phase(p) == "Running")
        tasks = subprocess.run(ctr + ["tasks", "list"], capture_output=True, text=True).stdout
        self.assertRegex(tasks, name + r"\s+\d+\s+RUNNING")

    def test_init_failure_follows_restart_policy(self):
        extra = textwrap.indent(textwrap.dedent("""\
            initContainers:
            - name: init
              image: busybox:1.35
              command: ["sh", "-c", "exit 3"]
            """), "  ")
        self.kubelet.write_manifest("never.yaml", busybox_pod("never", "sleep 3600", "Never",
                                                              extra=extra))
        self.kubelet.write_manifest("always.yaml", busybox_pod("always", "sleep 3600", "Always",
                                                               extra=extra))
        failed = self.kubelet.wait_pod("never", lambda p: phase(p) == "Failed", 60)
        self.assertEqual(container_state(failed, "init", True)["state"]["terminated"]["exitCode"], 3)
        self.assertEqual(waiting_reason(failed, "main"), "PodInitializing")
        retried = self.kubelet.wait_pod("always", lambda p: waiting_reason(p, "init", True) ==
                                        "CrashLoopBackOff", 60)
        self.assertEqual(phase(retried), "Pending")
        self.assertGreaterEqual(container_state(retried, "init", True)["restartCount"], 1)

    def test_crashing_container_enters_crash_loop_backoff(self):
        self.kubelet.write_manifest("crash.yaml", busybox_pod("crash", "echo bye; exit 1"))
        pod = self.kubelet.wait_pod("crash", lambda p: waiting_reason(p, "main") ==
                                    "CrashLoopBackOff", 60)
        state = container_state(pod, "main")
        self.assertGreaterEqual(state["restartCount"], 1)
        self.assertEqual(state["lastState"]["terminated"]["exitCode"], 1)
        self.assertEqual(state["lastState"]["terminated"]["reason"], "Error")
        self.assertIn("back-off", state["state"]["waiting"]["message"])

    def test_pull_policy_never(self):
        self.kubelet.write_manifest("never.yaml", busybox_pod(
            "missing", "sleep 3600", image="kite/removable:1.0").replace(
            "command:", "imagePullPolicy: Never\n    command:"))
        pod = self.kubelet.wait_pod("missing", lambda p: waiting_reason(p, "main") ==
                                    "ErrImageNeverPull", 60)
        self.assertEqual(container_state(pod, "main")["state"]["waiting"]["message"],
                         'Container image "kite/removable:1.0" is not present with pull policy of Never')

    def test_bad_manifest_is_reported_and_others_run(self):
        self.kubelet.write_manifest("bad.yaml", busybox_pod("bad", "sleep 1").replace(
            "restartPolicy", "restartPolicee"))
        self.kubelet.write_manifest("good.yaml", busybox_pod("good", "sleep 3600"))
        self.kubelet.wait_pod("good", lambda p: phase(p) == "Running")
        self.assertIsNone(self.kubelet.pod("bad"))
        log = self.kubelet.wait_for(lambda: "restartPolicee" in self.kubelet.log_text() and
                                    self.kubelet.log_text(), 10, "error logged")
        self.assertRegex(log, r'bad\.yaml: unknown field "spec\.restartPolicee"')

    def test_missing_hostpath_directory_blocks_the_pod(self):
        missing = "/nonexistent-kite-" + uuid.uuid4().hex[:6]
        extra = textwrap.indent(textwrap.dedent(f"""\
            volumes:
            - name: data
              hostPath:
                path: {missing}
                type: Directory
            """), "  ")
        manifest = busybox_pod("hp", "sleep 3600", extra=extra).replace(
            '    command:', '    volumeMounts:\n    - {name: data, mountPath: /data}\n    command:')
        self.kubelet.write_manifest("hp.yaml", manifest)
        pod = self.kubelet.wait_pod("hp", lambda p: "doesn't exist" in p["status"].get("message", ""))
        self.assertEqual(phase(pod), "Pending")
        self.assertEqual(waiting_reason(pod, "main"), "ContainerCreating")
        self.assertFalse(self.kubelet.cri_pods(), "no sandbox for a pod whose volume failed")

    def test_readiness_http_probe_gates_ready(self):
        probe = textwrap.indent(textwrap.dedent("""\
              readinessProbe:
                httpGet: {path: /ready, port: 8080}
                periodSeconds: 1
            """), "    ")
        manifest = busybox_pod("web", "mkdir -p /www; (sleep 4; echo ok > /www/ready) & "
                                      "exec httpd -f -p 8080 -h /www").rstrip("\n") + "\n" + probe
        self.kubelet.write_manifest("web.yaml", manifest)
        pod = self.kubelet.wait_pod("web", lambda p: phase(p) == "Running")
        self.assertFalse(container_state(pod, "main")["ready"], "not ready before /ready exists")
        pod = self.kubelet.wait_pod("web", lambda p: container_state(p, "main")["ready"], 30)
        conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
        self.assertEqual(conditions["Ready"], "True")

    def test_liveness_exec_probe_restarts_the_container(self):
        probe = textwrap.indent(textwrap.dedent("""\
              livenessProbe:
                exec: {command: [cat, /tmp/alive]}
                periodSeconds: 1
                failureThreshold: 2
            """), "    ")
        manifest = busybox_pod("live", "touch /tmp/alive; sleep 3; rm /tmp/alive; sleep 3600"
                               ).rstrip("\n") + "\n" + probe
        self.kubelet.write_manifest("live.yaml", manifest)
        pod = self.kubelet.wait_pod("live", lambda p: container_state(p, "main")["restartCount"] >= 1,
                                    60)
        self.assertIn("Liveness probe failed", self.kubelet.log_text())
        self.assertEqual(phase(pod), "Running")

    def test_startup_tcp_probe_marks_started(self):
        probe = textwrap.indent(textwrap.dedent("""\
              startupProbe:
                tcpSocket: {port: 8080}
                periodSeconds: 1
                failureThreshold: 30
            """), "    ")
        manifest = busybox_pod("slow", "sleep 4; mkdir -p /www; exec httpd -f -p 8080 -h /www"
                               ).rstrip("\n") + "\n" + probe
        self.kubelet.write_manifest("slow.yaml", manifest)
        pod = self.kubelet.wait_pod("slow", lambda p: phase(p) == "Running")
        self.assertFalse(container_state(pod, "main")["started"])
        pod = self.kubelet.wait_pod("slow", lambda p: container_state(p, "main")["started"], 30)
        self.assertTrue(container_state(pod, "main")["ready"])

    @unittest.skipUnless(GRPC_SERVER, "needs the grpc_health_server binary")
    def test_grpc_probes_readiness_and_liveness(self):
        # The container runs the build's gRPC health server through a chroot into the host's
        # root, mounted read-only: the kubelet probes the pod IP as it would any gRPC server.
        # Readiness asks for the default service (SERVING after a 3 s start delay); liveness
        # asks for "down", which answers NOT_SERVING, so the container is restarted.
        manifest = textwrap.dedent(f"""\
            apiVersion: v1
            kind: Pod
            metadata:
              name: grpc
            spec:
              terminationGracePeriodSeconds: 2
              containers:
              - name: main
                image: busybox:1.35
                command: ["sh", "-c", "sleep 3; exec chroot /host {GRPC_SERVER} 9090 down"]
                readinessProbe:
                  grpc: {{port: 9090}}
                  periodSeconds: 1
                livenessProbe:
                  grpc: {{port: 9090, service: down}}
                  initialDelaySeconds: 6
                  periodSeconds: 1
                  failureThreshold: 2
                volumeMounts:
                - {{name: host, mountPath: /host, readOnly: true}}
              volumes:
              - name: host
                hostPath: {{path: /, type: Directory}}
            """)
        self.kubelet.write_manifest("grpc.yaml", manifest)
        pod = self.kubelet.wait_pod("grpc", lambda p: phase(p) == "Running")
        self.assertFalse(container_state(pod, "main")["ready"], "not ready before the server runs")
        pod = self.kubelet.wait_pod("grpc", lambda p: container_state(p, "main")["ready"], 30)
        self.assertEqual(container_state(pod, "main")["restartCount"], 0)
        pod = self.kubelet.wait_pod(
            "grpc", lambda p: container_state(p, "main")["restartCount"] >= 1, 60)
        log = self.kubelet.log_text()
        self.assertIn("Liveness probe failed", log)
        self.assertIn("NOT_SERVING", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
