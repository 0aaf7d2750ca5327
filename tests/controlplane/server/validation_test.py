"""Pod spec validation seen through the real kubectl against a real `kite server`: a bad Pod,
Deployment, Job or CronJob is refused with upstream's "is invalid:" message naming the
field, kubectl exits 1, and nothing is stored. The raw Status carries reason Invalid and one
cause per error with its reason and field."""

import base64
import json
import os
import ssl
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kite_fixture import ServerTestCase  # noqa: E402

BAD_PORT_POD = """apiVersion: v1
kind: Pod
metadata:
  name: bad-port
spec:
  containers:
  - name: web
    image: nginx:1.25
    ports:
    - containerPort: 70000
"""

NO_HANDLER_DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: bad-probe
spec:
  replicas: 1
  selector:
    matchLabels:
      app: bad-probe
  template:
    metadata:
      labels:
        app: bad-probe
    spec:
      containers:
      - name: web
        image: nginx:1.25
        livenessProbe:
          initialDelaySeconds: 5
"""

BAD_ENV_JOB = """apiVersion: batch/v1
kind: Job
metadata:
  name: bad-env
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: busybox:1.36
        env:
        - name: 1BAD
          value: x
"""

NO_SOURCE_CRONJOB = """apiVersion: batch/v1
kind: CronJob
metadata:
  name: bad-volume
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: work
            image: busybox:1.36
          volumes:
          - name: scratch
"""

NEGATIVE_GRACE_POD = """apiVersion: v1
kind: Pod
metadata:
  name: neg-grace
spec:
  terminationGracePeriodSeconds: -5
  containers:
  - name: web
    image: nginx:1.25
"""

NEGATIVE_GRACE_DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: neg-grace
spec:
  replicas: 0
  selector:
    matchLabels:
      app: neg-grace
  template:
    metadata:
      labels:
        app: neg-grace
    spec:
      terminationGracePeriodSeconds: -1
      containers:
      - name: web
        image: nginx:1.25
"""


class PodValidationTest(ServerTestCase):
    def refused(self, manifest, kind, name):
        """Applies manifest in a fresh namespace; asserts exit code 1 and that nothing named
        name of that kind exists afterwards. Returns kubectl's stderr."""
        ns = self.make_namespace("v-" + name)
        r = self.kubectl("apply", "-n", ns, "-f", "-", input=manifest, check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        got = self.kubectl("get", kind, name, "-n", ns, check=False)
        self.assertNotEqual(got.returncode, 0, got.stdout)
        self.assertIn("NotFound", got.stderr)
        return r.stderr

    def test_bad_pod(self):
        err = self.refused(BAD_PORT_POD, "pod", "bad-port")
        self.assertIn('The Pod "bad-port" is invalid: spec.containers[0].ports[0].containerPort: '
                      'Invalid value: 70000: must be between 1 and 65535, inclusive', err)

    def test_bad_deployment(self):
        err = self.refused(NO_HANDLER_DEPLOY, "deployment", "bad-probe")
        self.assertIn('The Deployment "bad-probe" is invalid: '
                      'spec.template.spec.containers[0].livenessProbe: Required value: '
                      'must specify a handler type', err)
        # No ReplicaSet (or pod) was made from the refused template.
        rs = self.kubectl("get", "rs", "-n", "v-bad-probe", "-o", "name").stdout
        self.assertEqual(rs.strip(), "")

    def test_bad_job_and_cronjob(self):
        err = self.refused(BAD_ENV_JOB, "job", "bad-env")
        self.assertIn('The Job "bad-env" is invalid: spec.template.spec.containers[0].env[0].name: '
                      'Invalid value: "1BAD": a valid environment variable name must consist of '
                      "alphabetic characters, digits, '_', '-', or '.', and must not start with "
                      'a digit', err)
        err = self.refused(NO_SOURCE_CRONJOB, "cronjob", "bad-volume")
        self.assertIn('The CronJob "bad-volume" is invalid: '
                      'spec.jobTemplate.spec.template.spec.volumes[0]: Required value: '
                      'must specify a volume type', err)

    def test_negative_grace_period_warns(self):
        """Accepted, with upstream's warning printed by kubectl; a pod update may then only set
        it to 1."""
        ns = self.make_namespace("v-neg-grace")
        r = self.kubectl("create", "-n", ns, "-f", "-", input=NEGATIVE_GRACE_POD)
        self.assertIn('Warning: spec.terminationGracePeriodSeconds: must be >= 0; negative '
                      'values are invalid and will be treated as 1', r.stderr)
        r = self.kubectl("create", "-n", ns, "-f", "-", input=NEGATIVE_GRACE_DEPLOY)
        self.assertIn('Warning: spec.template.spec.terminationGracePeriodSeconds: must be >= 0; '
                      'negative values are invalid and will be treated as 1', r.stderr)

        r = self.kubectl("patch", "pod", "neg-grace", "-n", ns, "--type=merge", "-p",
                         '{"spec":{"terminationGracePeriodSeconds":10}}', check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn('spec: Forbidden: pod updates may not change fields other than', r.stderr)
        r = self.kubectl("patch", "pod", "neg-grace", "-n", ns, "--type=merge", "-p",
                         '{"spec":{"terminationGracePeriodSeconds":1}}')
        self.assertNotIn("Warning:", r.stderr)
        got = self.kubectl("get", "pod", "neg-grace", "-n", ns, "-o",
                           "jsonpath={.spec.terminationGracePeriodSeconds}").stdout
        self.assertEqual(got, "1")
        self.kubectl("delete", "namespace", ns, "--wait=false")

    def test_status_causes(self):
        """The Status body itself, as python clients and kubectl -o json see it."""
        with open(self.server.kubeconfig) as f:
            config = yaml.safe_load(f)
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        ns = self.make_namespace("v-raw")
        pod = yaml.safe_load(BAD_PORT_POD)
        pod["spec"]["containers"][0]["ports"].append({"containerPort": 80, "protocol": "ICMP"})
        with tempfile.TemporaryDirectory() as d:
            paths = {}
            for key in ("certificate-authority-data", "client-certificate-data",
                        "client-key-data"):
                paths[key] = os.path.join(d, key)
                with open(paths[key], "wb") as f:
                    f.write(base64.b64decode(cluster.get(key) or user.get(key)))
            ctx = ssl.create_default_context(cafile=paths["certificate-authority-data"])
            ctx.load_cert_chain(paths["client-certificate-data"], paths["client-key-data"])
            req = urllib.request.Request(
                cluster["server"] + "/api/v1/namespaces/%s/pods" % ns,
                data=json.dumps(pod).encode(), method="POST",
                headers={"Content-Type": "application/json", "Accept": "application/json"})
            with self.assertRaises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(req, context=ctx, timeout=30)
            self.assertEqual(caught.exception.code, 422)
            status = json.loads(caught.exception.read())
        self.assertEqual(status["kind"], "Status")
        self.assertEqual(status["reason"], "Invalid")
        self.assertEqual(status["details"]["kind"], "Pod")
        self.assertEqual(status["details"]["name"], "bad-port")
        causes = {(c["reason"], c["field"]) for c in status["details"]["causes"]}
        self.assertEqual(causes, {
            ("FieldValueInvalid", "spec.containers[0].ports[0].containerPort"),
            ("FieldValueNotSupported", "spec.containers[0].ports[1].protocol"),
        })
        self.assertIn('spec.containers[0].ports[1].protocol: Unsupported value: "ICMP": '
                      'supported values: "SCTP", "TCP", "UDP"', status["message"])

    def test_examples_still_apply(self):
        """Every seed example passes validation (dry run on the server: nothing kept)."""
        examples = os.environ.get("KITE_EXAMPLES", "")
        if not examples:
            self.skipTest("KITE_EXAMPLES not set")
        for name in sorted(os.listdir(examples)):
            if not name.endswith(".yaml"):
                continue
            r = self.kubectl("apply", "--dry-run=server", "-f", os.path.join(examples, name),
                             check=False)
            # A dry run of objects in a namespace the same file creates cannot find it.
            if r.returncode != 0 and 'namespaces "' in r.stderr and "not found" in r.stderr:
                self.kubectl("create", "namespace", "mysql", check=False)
                r = self.kubectl("apply", "--dry-run=server", "-f",
                                 os.path.join(examples, name), check=False)
            self.assertEqual(r.returncode, 0, name + ": " + r.stderr)
            self.assertNotIn("is invalid", r.stderr)


if __name__ == "__main__":
    unittest.main()
