"""`kite kubelet` on the real test bed: volumes (every hostPath type, projected
downwardAPI, subPath escapes, mountPropagation), emptyDir eviction, pull
policies against the bed's registry, lifecycle hooks, and log rotation.

Usage (through CTest): testbed.sh exec BED python3 test_pod_features.py KITE"""

import glob
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import uuid

from harness import ENV, Kubelet, container_state, phase, waiting_reason

KITE = sys.argv[1] if len(sys.argv) > 1 else "kite"
del sys.argv[1:2]  # the rest (e.g. -k NAME) goes to unittest

# Small enough that a chatty container rotates within seconds.
LOG_MAX_SIZE = 16 * 1024
LOG_MAX_FILES = 3


def pod_yaml(name, command, volumes="", mounts="", restart="Always", image="busybox:1.35",
             container_extra="", spec_extra="", grace=2):
    """A one-container pod; volumes/mounts/extras are YAML lists/fields at the
    right indentation given without it."""
    def block(text, indent):
        return textwrap.indent(textwrap.dedent(text).strip("\n"), " " * indent) + "\n" if text else ""
    out = textwrap.dedent(f"""\
        apiVersion: v1
        kind: Pod
        metadata:
          name: {name}
          labels: {{app: {name}}}
        spec:
          restartPolicy: {restart}
          terminationGracePeriodSeconds: {grace}
          containers:
          - name: main
            image: {image}
            command: ["sh", "-c", {command!r}]
        """)
    out += block(container_extra, 4)
    if mounts:
        out += "    volumeMounts:\n" + block(mounts, 4)
    out += block(spec_extra, 2)
    if volumes:
        out += "  volumes:\n" + block(volumes, 2)
    return out


def read(path):
    with open(path) as f:
        return f.read()


class BedDir:
    """A private directory on the host for hostPath volumes, removed at the end
    (unmounting what a test mounted under it first)."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="hostpath-", dir=ENV["KITE_TB_DIR"])

    def cleanup(self):
        subprocess.run(["umount", "-R", self.path], stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", self.path], check=False)


class PodFeaturesTest(unittest.TestCase):
    def setUp(self):
        self.kubelet = Kubelet(KITE, extra_args=[
            "--container-log-max-size", str(LOG_MAX_SIZE),
            "--container-log-max-files", str(LOG_MAX_FILES),
            "--container-log-monitor-interval", "1"])
        self.kubelet.start()
        self.addCleanup(self.kubelet.cleanup)

    def host_dir(self):
        d = BedDir()
        self.addCleanup(d.cleanup)
        return d.path

    def pod_log_dir(self, pod):
        m = pod["metadata"]
        return os.path.join(self.kubelet.logs, f'{m["namespace"]}_{m["name"]}_{m["uid"]}', "main")

    def wait_log(self, pod, text, timeout=30):
        """Waits for `text` in the container's current CRI log; returns the log."""
        path = os.path.join(self.pod_log_dir(pod), "0.log")
        return self.kubelet.wait_for(lambda: text in read(path) and read(path), timeout,
                                     f"{text!r} in {path}")

    # ------------------------------------------------------------- hostPath
    def test_hostpath_types_right_kind_wrong_kind_missing(self):
        base = self.host_dir()
        regular = os.path.join(base, "regular")
        with open(regular, "w") as f:
            f.write("data\n")
        directory = os.path.join(base, "dir")
        os.mkdir(directory)
        sock_path = os.path.join(base, "sock")
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(sock_path)
        self.addCleanup(listener.close)
        missing = os.path.join(base, "missing")
        block = self.loop_device()

        # (case, type, path, should run, message fragment when blocked)
        cases = [
            ("file-ok", "File", regular, True, None),
            ("file-wrong", "File", directory, False, "is not a file"),
            ("file-missing", "File", missing, False, "doesn't exist"),
            ("foc-create", "FileOrCreate", os.path.join(base, "new-file"), True, None),
            ("foc-wrong", "FileOrCreate", directory, False, "is not a file"),
            ("doc-create", "DirectoryOrCreate", os.path.join(base, "new-dir"), True, None),
            ("doc-wrong", "DirectoryOrCreate", regular, False, "is not a directory"),
            ("sock-ok", "Socket", sock_path, True, None),
            ("sock-wrong", "Socket", regular, False, "is not a socket"),
            ("sock-missing", "Socket", missing, False, "doesn't exist"),
            ("chr-ok", "CharDevice", "/dev/null", True, None),
            ("chr-wrong", "CharDevice", regular, False, "is not a character device"),
            ("chr-missing", "CharDevice", missing, False, "doesn't exist"),
            ("blk-wrong", "BlockDevice", "/dev/null", False, "is not a block device"),
            ("blk-missing", "BlockDevice", missing, False, "doesn't exist"),
        ]
        if block:
            cases.append(("blk-ok", "BlockDevice", block, True, None))
        for name, kind, path, _, _ in cases:
            self.kubelet.write_manifest(f"{name}.yaml", pod_yaml(
                name, "sleep 3600",
                volumes=f"- name: v\n  hostPath: {{path: {path}, type: {kind}}}",
                mounts="- {name: v, mountPath: /v}"))

        for name, kind, path, runs, fragment in cases:
            with self.subTest(case=name, type=kind):
                if runs:
                    self.kubelet.wait_pod(name, lambda p: phase(p) == "Running", 90)
                else:
                    pod = self.kubelet.wait_pod(
                        name, lambda p: fragment in p["status"].get("message", ""), 60)
                    self.assertEqual(phase(pod), "Pending")
                    self.assertIn(path, pod["status"]["message"])
                    self.assertEqual(waiting_reason(pod, "main"), "ContainerCreating")
        # What the *OrCreate types made, with upstream's modes.
        self.assertEqual(os.stat(os.path.join(base, "new-file")).st_mode & 0o777, 0o644)
        self.assertEqual(os.stat(os.path.join(base, "new-dir")).st_mode & 0o777, 0o755)
        if not block:
            self.skipTest("BlockDevice right kind: no loop device could be set up here")

    def loop_device(self):
        """A loop device over a small file (detached at the end), or None."""
        backing = os.path.join(self.host_dir(), "loop.img")
        with open(backing, "wb") as f:
            f.truncate(1024 * 1024)
        out = subprocess.run(["losetup", "--find", "--show", backing], capture_output=True,
                             text=True)
        if out.returncode != 0:
            return None
        dev = out.stdout.strip()
        self.addCleanup(subprocess.run, ["losetup", "-d", dev], check=False)
        return dev

    # ------------------------------------------------------------- subPath
    def test_subpath_symlink_escape_is_refused(self):
        name = "escape"
        init = textwrap.dedent("""\
            initContainers:
            - name: plant
              image: busybox:1.35
              command: ["sh", "-c", "ln -s / /vol/escape"]
              volumeMounts:
              - {name: vol, mountPath: /vol}""")
        self.kubelet.write_manifest("escape.yaml", pod_yaml(
            name, "ls /x; sleep 3600", volumes="- name: vol\n  emptyDir: {}",
            mounts="- {name: vol, mountPath: /x, subPath: escape}", spec_extra=init))
        pod = self.kubelet.wait_pod(
            name, lambda p: waiting_reason(p, "main") == "CreateContainerConfigError", 60)
        message = container_state(pod, "main")["state"]["waiting"]["message"]
        self.assertIn('failed to prepare subPath for volumeMount "vol" of container "main"',
                      message)
        self.assertEqual(phase(pod), "Pending")
        self.assertEqual(container_state(pod, "plant", init=True)["state"]["terminated"]["reason"],
                         "Completed")

    # ---------------------------------------------------- mountPropagation
    def test_mount_propagation_host_to_container(self):
        base = self.host_dir()
        # HostToContainer (rslave) needs the source to be a shared mount.
        subprocess.run(["mount", "--bind", base, base], check=True)
        subprocess.run(["mount", "--make-shared", base], check=True)
        os.mkdir(os.path.join(base, "later"))
        self.kubelet.write_manifest("prop.yaml", pod_yaml(
            "prop", "until [ -f /host/later/marker ]; do sleep 0.2; done; "
                    "echo seen $(cat /host/later/marker); sleep 3600",
            volumes=f"- name: host\n  hostPath: {{path: {base}, type: Directory}}",
            mounts="- {name: host, mountPath: /host, mountPropagation: HostToContainer}"))
        pod = self.kubelet.wait_pod("prop", lambda p: phase(p) == "Running", 60)
        # A mount made on the host after the container started.
        later = os.path.join(base, "later")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", later], check=True)
        self.addCleanup(subprocess.run, ["umount", later], check=False)
        with open(os.path.join(later, "marker"), "w") as f:
            f.write("tmpfs-from-host\n")
        self.wait_log(pod, "seen tmpfs-from-host")

    # --------------------------------------------------- projected volume
    def test_projected_downward_api(self):
        volumes = textwrap.dedent("""\
            - name: info
              projected:
                defaultMode: 0440
                sources:
                - downwardAPI:
                    items:
                    - {path: name, fieldRef: {fieldPath: metadata.name}}
                    - {path: labels, fieldRef: {fieldPath: metadata.labels}}
                    - path: mem
                      resourceFieldRef: {containerName: main, resource: limits.memory, divisor: 1Mi}""")
        limits = "resources:\n  limits: {memory: 64Mi}"
        self.kubelet.write_manifest("info.yaml", pod_yaml(
            "info", "echo name=$(cat /info/name); echo mem=$(cat /info/mem); cat /info/labels; "
                    "echo; stat -c mode=%a /info/..data/name; sleep 3600",
            volumes=volumes, mounts="- {name: info, mountPath: /info}", container_extra=limits))
        pod = self.kubelet.wait_pod("info", lambda p: phase(p) == "Running", 60)
        log = self.wait_log(pod, "mode=")
        self.assertIn(f"name=info-{self.kubelet.node}", log)
        self.assertIn("mem=64", log)
        self.assertIn('app="info"', log)
        self.assertIn("mode=440", log)
        host = os.path.join(self.kubelet.root, "pods", pod["metadata"]["uid"], "volumes",
                            "kubernetes.io~projected", "info")
        self.assertTrue(os.path.islink(os.path.join(host, "..data")), "atomic writer layout")

    # ------------------------------------------------------ eviction
    def test_emptydir_over_its_size_limit_evicts_the_pod(self):
        self.kubelet.write_manifest("hog.yaml", pod_yaml(
            "hog", "sleep 2; dd if=/dev/zero of=/cache/fill bs=1024 count=2048; sleep 3600",
            volumes="- name: cache\n  emptyDir: {sizeLimit: 1Mi}",
            mounts="- {name: cache, mountPath: /cache}"))
        self.kubelet.wait_pod("hog", lambda p: phase(p) == "Running", 60)
        pod = self.kubelet.wait_pod("hog", lambda p: phase(p) == "Failed", 60)
        self.assertEqual(pod["status"]["reason"], "Evicted")
        self.assertEqual(pod["status"]["message"],
                         'Usage of EmptyDir volume "cache" exceeds the limit "1Mi". ')
        self.assertIn("terminated", container_state(pod, "main")["state"])
        # Evicted for good: no new sandbox or container is started.
        sandboxes = self.kubelet.cri_pods()
        containers = self.kubelet.cri_containers()
        self.kubelet.wait_for(lambda: "Evicted" in self.kubelet.log_text(), 10, "event logged")
        time.sleep(5)  # a few resyncs (--sync-frequency 2)
        self.assertEqual(self.kubelet.cri_pods(), sandboxes)
        self.assertEqual(self.kubelet.cri_containers(), containers)
        self.assertEqual(phase(self.kubelet.pod("hog")), "Failed")

    # ------------------------------------------------------ pull policies
    @staticmethod
    def runtime_pulls(image):
        """PullImage calls containerd logged for image (the runtime's own record)."""
        log = read(os.path.join(ENV["KITE_TB_DIR"], "logs", "containerd.log"))
        return log.count(f'msg="PullImage \\"{image}\\""')

    @staticmethod
    def ctr(*args):
        return subprocess.run(["ctr", "--address", ENV["KITE_TB_CONTAINERD_SOCK"], "-n", "k8s.io",
                               *args], capture_output=True, text=True, check=True).stdout

    def image_present(self, repo):
        return any(repo in ref for ref in self.ctr("images", "list", "-q").split())

    def remove_image(self, repo):
        """Removes every reference (tag, digest) of the image from containerd."""
        refs = [ref for ref in self.ctr("images", "list", "-q").split() if repo in ref]
        if refs:
            self.ctr("images", "remove", "--sync", *refs)

    def test_pull_policies_against_the_registry(self):
        # Its own image ID, so removing it takes nothing from other tests.
        image = "kite/removable:1.0"
        repo = "docker.io/kite/removable"
        # The bed starts without it (test_static_pods' Never case relies on that): leave it so.
        self.addCleanup(self.remove_image, repo)
        for policy, present_before, expect_pull in [
            ("IfNotPresent", False, True),   # absent: pulled
            ("IfNotPresent", True, False),   # present: used as is
            ("Always", True, True),          # present: pulled anyway
            ("Always", False, True),         # absent: pulled
        ]:
            with self.subTest(policy=policy, present=present_before):
                if not present_before:
                    self.remove_image(repo)
                    self.assertFalse(self.image_present(repo))
                else:
                    self.assertTrue(self.image_present(repo))
                before = self.runtime_pulls(image)
                name = f"pull-{policy.lower()}-{int(present_before)}"
                self.kubelet.write_manifest("pull.yaml", pod_yaml(
                    name, "sleep 3600", image=image,
                    container_extra=f"imagePullPolicy: {policy}"))
                self.kubelet.wait_pod(name, lambda p: phase(p) == "Running", 90)
                after = self.runtime_pulls(image)
                self.assertTrue(self.image_present(repo))
                if expect_pull:
                    self.assertGreater(after, before, "the runtime saw no PullImage")
                else:
                    self.assertEqual(after, before, "the runtime saw a PullImage")
                self.kubelet.remove_manifest("pull.yaml")
                self.kubelet.wait_for(lambda: self.kubelet.pod(name) is None and
                                      not self.kubelet.cri_pods(), 60, "pod removed")

    # ------------------------------------------------------ lifecycle hooks
    def test_post_start_and_pre_stop_exec_hooks(self):
        base = self.host_dir()
        hooks = textwrap.dedent("""\
            lifecycle:
              postStart:
                exec: {command: ["sh", "-c", "echo started > /shared/post-start"]}
              preStop:
                exec: {command: ["sh", "-c", "echo stopping > /shared/pre-stop"]}""")
        # On SIGTERM the container records whether preStop had already run.
        command = ("trap 'if [ -f /shared/pre-stop ]; then echo after-prestop > /shared/term; "
                   "else echo before-prestop > /shared/term; fi; exit 0' TERM; "
                   "while true; do sleep 0.2; done")
        self.kubelet.write_manifest("hooks.yaml", pod_yaml(
            "hooks", command, grace=10,
            volumes=f"- name: shared\n  hostPath: {{path: {base}, type: Directory}}",
            mounts="- {name: shared, mountPath: /shared}", container_extra=hooks))
        self.kubelet.wait_pod("hooks", lambda p: phase(p) == "Running", 60)
        self.assertEqual(read(os.path.join(base, "post-start")), "started\n")
        self.assertFalse(os.path.exists(os.path.join(base, "pre-stop")))

        self.kubelet.remove_manifest("hooks.yaml")
        self.kubelet.wait_for(lambda: self.kubelet.pod("hooks") is None and
                              not self.kubelet.cri_containers(), 60, "pod removed")
        self.assertEqual(read(os.path.join(base, "pre-stop")), "stopping\n")
        self.assertEqual(read(os.path.join(base, "term")), "after-prestop\n")

    # ------------------------------------------------------ log rotation
    def test_container_log_is_rotated_by_size(self):
        # ~1 KiB per line, fast: the 16 KiB limit is crossed in well under a second.
        command = ("i=0; pad=" + "x" * 1000 + "; "
                   "while true; do echo line $i $pad; i=$((i+1)); sleep 0.01; done")
        self.kubelet.write_manifest("chatty.yaml", pod_yaml("chatty", command))
        pod = self.kubelet.wait_pod("chatty", lambda p: phase(p) == "Running", 60)
        log_dir = self.pod_log_dir(pod)
        current = os.path.join(log_dir, "0.log")

        def rotated():
            return sorted(glob.glob(current + ".*"))
        self.kubelet.wait_for(lambda: len(rotated()) >= LOG_MAX_FILES - 1, 60, "rotated logs")
        # Keep watching for a few more rotations: never more than max files.
        first = rotated()[0]
        self.kubelet.wait_for(lambda: first not in rotated(), 60, "oldest rotated log deleted")
        files = os.listdir(log_dir)
        self.assertLessEqual(len(files), LOG_MAX_FILES, files)
        self.assertIn("0.log", files)
        # The current log is live: the container writes to it after a rotation.
        size = os.path.getsize(current)
        self.kubelet.wait_for(lambda: os.path.getsize(current) != size, 10, "current log grows")
        newest = rotated()[-1]
        last_rotated = read(newest).strip().splitlines()[-1]
        self.assertRegex(last_rotated, r"^\S+ stdout F line \d+ x+$")  # CRI log format
        self.assertEqual(container_state(self.kubelet.pod("chatty"), "main")["restartCount"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
