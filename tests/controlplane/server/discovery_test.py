"""Aggregated discovery (apidiscovery.k8s.io v2 and v2beta1 on /api and /apis): the real
kubectl discovers every group with two requests, and the per-group documents still work."""

import base64
import json
import os
import re
import ssl
import sys
import tempfile
import unittest
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kite_fixture import ServerTestCase  # noqa: E402

V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"


class AggregatedDiscoveryTest(ServerTestCase):
    def get(self, path, accept):
        """GET with the admin client certificate of the kubeconfig; (content type, JSON)."""
        with open(self.server.kubeconfig) as f:
            config = yaml.safe_load(f)
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        with tempfile.TemporaryDirectory() as d:
            paths = {}
            for key in ("certificate-authority-data", "client-certificate-data",
                        "client-key-data"):
                paths[key] = os.path.join(d, key)
                with open(paths[key], "wb") as f:
                    f.write(base64.b64decode(cluster.get(key) or user.get(key)))
            ctx = ssl.create_default_context(cafile=paths["certificate-authority-data"])
            ctx.load_cert_chain(paths["client-certificate-data"], paths["client-key-data"])
            req = urllib.request.Request(cluster["server"] + path, headers={"Accept": accept})
            with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
                return r.headers["Content-Type"], json.loads(r.read())

    def test_documents_by_accept_header(self):
        ctype, doc = self.get("/apis", V2 + "," + V2BETA1 + ",application/json")
        self.assertEqual(ctype, V2)
        self.assertEqual(doc["kind"], "APIGroupDiscoveryList")
        self.assertEqual(doc["apiVersion"], "apidiscovery.k8s.io/v2")
        groups = {g["metadata"]["name"]: g for g in doc["items"]}
        self.assertNotIn("", groups)
        apps = groups["apps"]["versions"][0]
        self.assertEqual(apps["version"], "v1")
        self.assertEqual(apps["freshness"], "Current")
        deploy = next(r for r in apps["resources"] if r["resource"] == "deployments")
        self.assertEqual(deploy["responseKind"], {"group": "apps", "version": "v1",
                                                  "kind": "Deployment"})
        self.assertEqual(deploy["scope"], "Namespaced")
        self.assertEqual(deploy["singularResource"], "deployment")
        self.assertIn("deploy", deploy["shortNames"])
        self.assertIn("all", deploy["categories"])
        scale = next(s for s in deploy["subresources"] if s["subresource"] == "scale")
        self.assertEqual(scale["responseKind"], {"group": "autoscaling", "version": "v1",
                                                 "kind": "Scale"})

        ctype, doc = self.get("/api", V2BETA1 + ",application/json")
        self.assertEqual(ctype, V2BETA1)
        self.assertEqual(doc["apiVersion"], "apidiscovery.k8s.io/v2beta1")
        self.assertEqual(len(doc["items"]), 1)
        core = doc["items"][0]["versions"][0]
        pods = next(r for r in core["resources"] if r["resource"] == "pods")
        self.assertEqual(pods["responseKind"]["kind"], "Pod")
        self.assertIn("po", pods["shortNames"])
        nodes = next(r for r in core["resources"] if r["resource"] == "nodes")
        self.assertEqual(nodes["scope"], "Cluster")

        # Without the aggregated media type: the classic documents.
        ctype, doc = self.get("/apis", "application/json")
        self.assertEqual(doc["kind"], "APIGroupList")
        ctype, doc = self.get("/apis/apps/v1", V2 + ",application/json")
        self.assertEqual(doc["kind"], "APIResourceList")

    def test_kubectl_discovers_with_two_requests(self):
        with tempfile.TemporaryDirectory() as home:  # an empty discovery cache
            r = self.kubectl("api-resources", "-v=6", env=self.server.env(HOME=home))
        requests = re.findall(r"GET https://[^/]+(/\S*) 200", r.stderr)
        paths = [p.split("?")[0] for p in requests]
        self.assertIn("/api", paths)
        self.assertIn("/apis", paths)
        self.assertEqual([p for p in paths if p.startswith("/apis/") or p.startswith("/api/")],
                         [], r.stderr)
        self.assertRegex(r.stdout, r"deployments\s+deploy\s+apps/v1\s+true\s+Deployment")
        self.assertRegex(r.stdout, r"pods\s+po\s+v1\s+true\s+Pod")
        # Per-group documents still answer.
        doc = json.loads(self.kubectl("get", "--raw", "/apis/apps/v1").stdout)
        self.assertEqual(doc["kind"], "APIResourceList")
        doc = json.loads(self.kubectl("get", "--raw", "/apis/apps").stdout)
        self.assertEqual(doc["kind"], "APIGroup")


if __name__ == "__main__":
    unittest.main()
