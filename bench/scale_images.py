#!/usr/bin/env python3
"""Writes an OCI image layout of synthetic images for bench/scale.sh, tagged
imgI, and a spec naming every one of them (oci-layout:./layout:imgI).

    scale_images.py DIR N               N small images: one shared base layer
                                        (64 KiB) and one tiny layer of its own
    scale_images.py --large DIR BYTES   4 images of 5 large layers of random
                                        bytes, BYTES of distinct blobs in all

  ->  DIR/layout/, DIR/airlock.yaml

The large set: 15 distinct layers of BYTES/15 each. Layer 1 is shared by all
four images, layer 2 by images 0-1 and another by images 2-3, layers 3-5 are
each image's own; so the four images name 20 layers (4/3 of BYTES) and a tool
that copies image by image without sharing moves a third more. Each layer is a
real gzip stream (stored blocks, no compression) of a tar of one file of
random bytes: incompressible, valid for any tool that unpacks it, and made at
the speed of AES-CTR (the `cryptography` module; os.urandom without it) and
two SHA-256 passes, on every core. The bytes depend only on BYTES and the
layer's number, so a second run writes the same digests.
"""
import gzip, hashlib, io, json, os, struct, sys, tarfile, zlib
from concurrent.futures import ProcessPoolExecutor

GZ_MEDIA = "application/vnd.oci.image.layer.v1.tar+gzip"


def put(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def small_layer(name, content):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mtime = len(content), 0
        tar.addfile(info, io.BytesIO(content))
    raw = raw.getvalue()
    return gzip.compress(raw, mtime=0), "sha256:" + hashlib.sha256(raw).hexdigest()


def random_chunks(seed, size, chunk=16 << 20):
    """`size` pseudo-random bytes in chunks, from AES-128-CTR keyed by `seed`."""
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        enc = Cipher(algorithms.AES(hashlib.sha256(seed).digest()[:16]), modes.CTR(bytes(16))).encryptor()
        zeros = bytes(chunk)
        gen = lambda n: enc.update(zeros[:n])
    except ImportError:
        gen = os.urandom
    while size > 0:
        n = min(chunk, size)
        yield gen(n)
        size -= n


def big_layer(job):
    """Writes layer `index` (a gzip of stored blocks around a tar of one file
    of `size` random bytes) into the layout; returns (digest, size, diff_id)."""
    layout, index, size = job
    info = tarfile.TarInfo(f"layer{index}.bin")
    info.size, info.mtime, info.mode = size, 0, 0o644
    tail = bytes(-size % 512) + bytes(1024)  # padding, then the end of the archive
    tmp = os.path.join(layout, "blobs", "sha256", f".tmp-layer{index}")
    gz_hash, tar_hash, crc, total = hashlib.sha256(), hashlib.sha256(), 0, 0
    with open(tmp, "wb") as f:
        def write(b):
            gz_hash.update(b)
            f.write(b)
        write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")  # gzip, mtime 0, no name
        pieces = [info.tobuf(tarfile.GNU_FORMAT)]
        pieces.extend(random_chunks(f"airlock scale {size} {index}".encode(), size))
        pieces.append(tail)
        for piece in pieces:
            tar_hash.update(piece)
            crc = zlib.crc32(piece, crc)
            total += len(piece)
            view, out = memoryview(piece), []
            for at in range(0, len(piece), 65535):  # deflate stored blocks, not final
                block = view[at:at + 65535]
                out.append(struct.pack("<BHH", 0, len(block), 0xFFFF ^ len(block)))
                out.append(block)
            write(b"".join(out))
        write(struct.pack("<BHH", 1, 0, 0xFFFF))  # an empty final block
        write(struct.pack("<II", crc, total & 0xFFFFFFFF))
        length = f.tell()
    digest = gz_hash.hexdigest()
    os.replace(tmp, os.path.join(layout, "blobs", "sha256", digest))
    return "sha256:" + digest, length, "sha256:" + tar_hash.hexdigest()


def image(layout, layers, diff_ids):
    """Puts an image's config and manifest; returns its manifest descriptor."""
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    config_digest, config_size = put(layout, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": GZ_MEDIA, "digest": d, "size": s} for d, s in layers]}).encode()
    digest, size = put(layout, manifest)
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size}


def main():
    args = sys.argv[1:]
    large = args[:1] == ["--large"]
    if large:
        args = args[1:]
    out, n = args[0], int(args[1])
    layout = os.path.join(out, "layout")
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    manifests = []
    if large:
        each = n // 15
        jobs = [(layout, i, each - 2048) for i in range(15)]  # tar header and end inside `each`
        with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
            made = list(pool.map(big_layer, jobs))
        base, pair0, pair1, own = made[0], made[1], made[2], made[3:]
        count = 4
        for i in range(count):
            chosen = [base, pair0 if i < 2 else pair1] + own[3 * i:3 * i + 3]
            manifests.append(image(layout, [(d, s) for d, s, _ in chosen], [t for _, _, t in chosen]))
    else:
        count = n
        base, base_diff = small_layer("base", os.urandom(64 * 1024))
        base_digest, base_size = put(layout, base)
        for i in range(n):
            own, own_diff = small_layer("own", f"image {i}\n".encode())
            own_digest, own_size = put(layout, own)
            manifests.append(image(layout, [(base_digest, base_size), (own_digest, own_size)], [base_diff, own_diff]))
    for i, m in enumerate(manifests):
        m["annotations"] = {"org.opencontainers.image.ref.name": f"img{i}"}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    images = "".join(f"      - oci-layout:./layout:img{i}\n" for i in range(count))
    with open(os.path.join(out, "airlock.yaml"), "w") as f:
        f.write("apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: scale, version: 1.0.0}\n"
                f"components:\n  - name: images\n    images:\n{images}")


if __name__ == "__main__":
    main()
