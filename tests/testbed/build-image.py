#!/usr/bin/python3
"""Build a deterministic OCI image layout from an image definition directory.

Usage: build-image.py IMAGE_DIR OUT_LAYOUT [--var NAME=PATH ...]

IMAGE_DIR/image.json describes the image (see images/*/image.json):
  "layers":  list of layer specs, bottom first:
               "busybox"                 -> /bin/busybox + a symlink per applet
               {"dir": "rootfs"}         -> the files under IMAGE_DIR/rootfs
                                            (+ "mkdir": [paths] for empty
                                            dirs, which git cannot hold)
               {"files": {"/pause": "$PAUSE"}} -> single host files; "$NAME"
                                            is taken from --var NAME=PATH
  "config":  OCI image config "config" object (Entrypoint, Cmd, Env, ...)
  "refs":    "REPO:TAG" names to push to the plain test registry
  "auth_refs": "REPO:TAG" names to push to the registry with basic auth

The layout gets one manifest, tagged "kite" (ref.name), and the refs are
printed on stdout as "public REPO:TAG" / "auth REPO:TAG" lines for the caller
(testbed.sh) to push with skopeo.

Why not umoci/docker: we want the same inputs to give the same digests on
every machine, so everything that usually varies is pinned: mtimes, owners,
entry order, gzip header.  No tool writes anything but the layout dir.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

BUSYBOX = "/bin/busybox"
# Fixed timestamp for files and the config's "created" (2023-01-01T00:00:00Z).
EPOCH = 1672531200
CREATED = "2023-01-01T00:00:00Z"


def blob_json(obj):
    """Canonical JSON bytes: stable key order, no whitespace."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


class Layer:
    """Collects entries, then renders a sorted, normalized tar."""

    def __init__(self):
        self.entries = {}  # path (no leading /) -> (type, mode, data/linkname)

    def add_dir(self, path, mode=0o755):
        path = path.strip("/")
        if path:
            self._parents(path)
            self.entries[path] = ("dir", mode, None)

    def add_file(self, path, data, mode=0o644):
        path = path.strip("/")
        self._parents(path)
        self.entries[path] = ("file", mode, data)

    def add_symlink(self, path, target):
        path = path.strip("/")
        self._parents(path)
        self.entries[path] = ("symlink", 0o777, target)

    def _parents(self, path):
        # Tar consumers create missing parents with arbitrary modes: list them.
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            self.entries.setdefault("/".join(parts[:i]), ("dir", 0o755, None))

    def tar_bytes(self):
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(self.entries):
                kind, mode, data = self.entries[path]
                info = tarfile.TarInfo(path)
                info.mtime, info.mode = EPOCH, mode
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                if kind == "dir":
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif kind == "symlink":
                    info.type, info.linkname = tarfile.SYMTYPE, data
                    tar.addfile(info)
                else:
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        return out.getvalue()


def busybox_layer():
    """A minimal Linux userland: busybox, its applet links, /etc basics."""
    layer = Layer()
    with open(BUSYBOX, "rb") as f:
        layer.add_file("bin/busybox", f.read(), 0o755)
    applets = subprocess.run([BUSYBOX, "--list-full"], check=True,
                             capture_output=True, text=True).stdout.split()
    for applet in applets:
        if applet != "bin/busybox" and "/" in applet:  # skips "linuxrc"
            layer.add_symlink(applet, "/bin/busybox")
    for d in ("dev", "proc", "sys", "root", "home", "var", "var/log", "run",
              "etc", "usr/local/bin"):
        layer.add_dir(d, 0o700 if d == "root" else 0o755)
    layer.add_dir("tmp", 0o1777)
    layer.add_file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
                   b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    layer.add_file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    return layer


def dir_layer(root):
    layer = Layer()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        if rel != ".":
            layer.add_dir(rel)
        for name in sorted(filenames):
            src = os.path.join(dirpath, name)
            dst = os.path.normpath(os.path.join(rel, name))
            if os.path.islink(src):
                layer.add_symlink(dst, os.readlink(src))
                continue
            with open(src, "rb") as f:
                # Only the exec bit of the source matters (git keeps no more).
                mode = 0o755 if os.access(src, os.X_OK) else 0o644
                layer.add_file(dst, f.read(), mode)
    return layer


def files_layer(files, variables):
    layer = Layer()
    for dst, src in sorted(files.items()):
        if src.startswith("$"):
            if src[1:] not in variables:
                sys.exit(f"build-image: missing --var {src[1:]}=PATH")
            src = variables[src[1:]]
        with open(src, "rb") as f:
            layer.add_file(dst, f.read(), 0o755 if os.access(src, os.X_OK) else 0o644)
    return layer


def write_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest)
    if not os.path.exists(path):
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.rename(path + ".tmp", path)
    return {"digest": "sha256:" + digest, "size": len(data)}


def main():
    ap = argparse.ArgumentParser(description="Build a deterministic OCI layout.")
    ap.add_argument("image_dir")
    ap.add_argument("layout")
    ap.add_argument("--var", action="append", default=[], metavar="NAME=PATH",
                    help="host file for a \"$NAME\" in a files layer")
    opts = ap.parse_args()
    image_dir, layout = opts.image_dir, opts.layout
    variables = dict(v.partition("=")[::2] for v in opts.var)
    with open(os.path.join(image_dir, "image.json")) as f:
        spec = json.load(f)

    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    layers, diff_ids = [], []
    for ls in spec["layers"]:
        if ls == "busybox":
            layer = busybox_layer()
        elif "dir" in ls:
            layer = dir_layer(os.path.join(image_dir, ls["dir"]))
            for d in ls.get("mkdir", []):
                layer.add_dir(d)
        else:
            layer = files_layer(ls["files"], variables)
        raw = layer.tar_bytes()
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        gz = io.BytesIO()
        # filename="" and mtime=0 keep the gzip header constant.
        with gzip.GzipFile(filename="", mode="wb", fileobj=gz, mtime=0, compresslevel=6) as g:
            g.write(raw)
        desc = write_blob(layout, gz.getvalue())
        desc["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
        layers.append(desc)

    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": CREATED,
        "config": spec.get("config", {}),
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": CREATED, "created_by": "kite tests/testbed/build-image.py"}
                    for _ in layers],
    }
    config_desc = write_blob(layout, blob_json(config))
    config_desc["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": layers,
    }
    manifest_desc = write_blob(layout, blob_json(manifest))
    manifest_desc["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    manifest_desc["annotations"] = {"org.opencontainers.image.ref.name": "kite"}
    manifest_desc["platform"] = {"architecture": "amd64", "os": "linux"}
    with open(os.path.join(layout, "index.json"), "wb") as f:
        f.write(blob_json({"schemaVersion": 2, "manifests": [manifest_desc]}))
    with open(os.path.join(layout, "oci-layout"), "wb") as f:
        f.write(blob_json({"imageLayoutVersion": "1.0.0"}))

    for ref in spec.get("refs", []):
        print("public", ref)
    for ref in spec.get("auth_refs", []):
        print("auth", ref)


if __name__ == "__main__":
    main()
