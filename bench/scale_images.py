#!/usr/bin/env python3
"""Writes an OCI image layout of N small synthetic images for bench/scale.sh:
each image is one shared base layer (64 KiB) and one layer of its own, tagged
imgI, and a spec naming every one of them (oci-layout:DIR:imgI).

    scale_images.py DIR N   ->  DIR/layout/, DIR/airlock.yaml
"""
import gzip, hashlib, io, json, os, sys, tarfile

out, n = sys.argv[1], int(sys.argv[2])
layout = os.path.join(out, "layout")
os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)


def put(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def layer(name, content):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mtime = len(content), 0
        tar.addfile(info, io.BytesIO(content))
    raw = raw.getvalue()
    return gzip.compress(raw, mtime=0), "sha256:" + hashlib.sha256(raw).hexdigest()


base, base_diff = layer("base", os.urandom(64 * 1024))
base_digest, base_size = put(base)
manifests = []
for i in range(n):
    own, own_diff = layer("own", f"image {i}\n".encode())
    own_digest, own_size = put(own)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [base_diff, own_diff]}}).encode()
    config_digest, config_size = put(config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": base_digest, "size": base_size},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": own_digest, "size": own_size},
        ]}).encode()
    digest, size = put(manifest)
    manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size,
                      "annotations": {"org.opencontainers.image.ref.name": f"img{i}"}})
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": manifests}, f)
with open(os.path.join(layout, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
images = "".join(f"      - oci-layout:./layout:img{i}\n" for i in range(n))
with open(os.path.join(out, "airlock.yaml"), "w") as f:
    f.write("apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: scale, version: 1.0.0}\n"
            f"components:\n  - name: images\n    images:\n{images}")
