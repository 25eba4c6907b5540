#!/usr/bin/env python3
"""Adds an image to an OCI image layout from ready-made layer files.

usage: oci_layout.py LAYOUT_DIR TAG LAYER_FILE...
       oci_layout.py --many LAYOUT_DIR IMAGES LAYERS_PER_IMAGE LAYER_BYTES

Each layer file is stored as given (media type tar+gzip); diff_ids are computed
from the decompressed content. Used by the benchmarks to build realistic
images without a container engine or network.
"""
import gzip
import hashlib
import json
import os
import shutil
import sys


def store(layout, path_or_bytes):
    blobs = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    h = hashlib.sha256()
    if isinstance(path_or_bytes, bytes):
        h.update(path_or_bytes)
        digest = h.hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(path_or_bytes)
        return "sha256:" + digest, len(path_or_bytes)
    with open(path_or_bytes, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    dest = os.path.join(blobs, digest)
    if not os.path.exists(dest):
        shutil.copyfile(path_or_bytes, dest)
    return "sha256:" + digest, os.path.getsize(dest)


def diff_id(path):
    h = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:  # not gzip (random filler): diff_id of the raw bytes
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return "sha256:" + h.hexdigest()


def many(layout, images, layers_per_image, size):
    """Adds IMAGES images of LAYERS small random layers each (tags img0..)."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(images):
            paths = []
            for j in range(layers_per_image):
                path = os.path.join(tmp, f"{i}-{j}")
                with open(path, "wb") as f:
                    f.write(os.urandom(size))
                paths.append(path)
            add_image(layout, f"img{i}", paths)


def main():
    if sys.argv[1] == "--many":
        many(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        return
    layout, tag, layers = sys.argv[1], sys.argv[2], sys.argv[3:]
    print(add_image(layout, tag, layers))


def add_image(layout, tag, layers):
    descs = []
    for layer in layers:
        digest, size = store(layout, layer)
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size})
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id(l) for l in layers]},
    }, separators=(",", ":")).encode()
    cdigest, csize = store(layout, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest, "size": csize},
        "layers": descs,
    }, separators=(",", ":")).encode()
    mdigest, msize = store(layout, manifest)
    index_path = os.path.join(layout, "index.json")
    index = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    index["manifests"] = [m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
    index["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest, "size": msize,
                               "annotations": {"org.opencontainers.image.ref.name": tag}})
    with open(index_path, "w") as f:
        json.dump(index, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    return mdigest


if __name__ == "__main__":
    main()
