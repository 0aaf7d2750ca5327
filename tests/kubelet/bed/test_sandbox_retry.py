"""`kite kubelet` on the real test bed replacing a sandbox whose creation failed half-way.

The pod's pause process is killed while the CNI network cannot be set up (a conflist naming a
plugin that does not exist comes first in the bed's CNI conf dir): the replacement sandbox
fails, and since tearing its network down fails too, containerd keeps it (NOTREADY, no
creation time) with its name reserved. Once the network works again the kubelet must come up
with a sandbox of a higher attempt (the failed one's name stays taken until it is removed),
remove the failed one, and keep the killed one for its containers' history.

Usage (through CTest): testbed.sh exec BED python3 test_sandbox_retry.py KITE"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import unittest

from harness import ENV, Kubelet, container_state

KITE = sys.argv[1] if len(sys.argv) > 1 else "kite"
del sys.argv[1:2]  # the rest (e.g. -k NAME) goes to unittest

# Sorted before the bed's own conflist, and containerd reads only the first (max_conf_num 1).
FAILING_CONF = os.path.join(ENV["KITE_TB_DIR"], "cni", "net.d", "00-kite-failing.conflist")

POD = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata:
      name: retry
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox:1.35
        command: ["sh", "-c", "sleep 3600"]
    """)


def task_pid(sandbox_id):
    out = subprocess.run(["ctr", "--address", ENV["KITE_TB_CONTAINERD_SOCK"], "-n", "k8s.io",
                          "tasks", "list"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == sandbox_id:
            return int(fields[1])
    return None


def running(p):
    state = container_state(p, "main")
    return state is not None and "running" in state.get("state", {})


def restarts(p):
    return container_state(p, "main").get("restartCount", 0)


def attempt_of(kubelet, sandbox_id):
    status = json.loads(kubelet.cri("inspectp", sandbox_id))
    status = status.get("status", status)
    return int(status.get("metadata", {}).get("attempt", 0))


class SandboxRetryTest(unittest.TestCase):
    def setUp(self):
        self.kubelet = Kubelet(KITE)
        self.kubelet.start()

    def tearDown(self):
        if os.path.exists(FAILING_CONF):
            os.remove(FAILING_CONF)
        self.kubelet.cleanup()

    def test_a_half_failed_sandbox_is_replaced_by_the_next_attempt(self):
        k = self.kubelet
        k.write_manifest("retry.yaml", POD)
        k.wait_pod("retry", running, 90)
        [original] = k.cri_pods()

        with open(FAILING_CONF, "w") as f:
            json.dump({"cniVersion": "1.0.0", "name": "kite-failing",
                       "plugins": [{"type": "kite-no-such-plugin"}]}, f)
        # containerd reloads the conf dir on change; give it a moment to.
        Kubelet.wait_for(lambda: subprocess.run(["sleep", "2"]).returncode == 0, 5, "reload")
        pid = task_pid(original)
        self.assertIsNotNone(pid)
        os.kill(pid, signal.SIGKILL)

        # The replacement fails, and containerd keeps it.
        Kubelet.wait_for(lambda: "FailedCreatePodSandBox" in k.log_text(), 60,
                         "a failed sandbox creation")
        Kubelet.wait_for(lambda: len(k.cri_pods()) >= 2, 30, "the failed sandbox left behind")
        failed = [s for s in k.cri_pods() if s != original]

        os.remove(FAILING_CONF)
        pod = k.wait_pod("retry", lambda p: running(p) and restarts(p) >= 1, 90)
        self.assertIn("SandboxChanged", k.log_text())
        sandboxes = k.cri_pods()
        self.assertIn(original, sandboxes)  # kept: its container is the previous instance
        # Every failed one goes (before the next attempt, or on a later sync when its removal
        # failed then): the original and the new one stay.
        Kubelet.wait_for(lambda: len(k.cri_pods()) == 2, 60, "failed sandboxes removed")
        for leftover in failed:
            self.assertNotIn(leftover, k.cri_pods())
        [new] = [s for s in k.cri_pods() if s != original]
        self.assertEqual(attempt_of(k, original), 0)
        # Above every failed one's (1, and more when the kubelet retried before the fix-up).
        self.assertGreaterEqual(attempt_of(k, new), 2)
        self.assertNotIn("is reserved", k.log_text())
        self.assertTrue(running(pod), pod["status"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
