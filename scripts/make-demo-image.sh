#!/usr/bin/env bash
# Builds the demo image as an OCI image layout, offline and byte-reproducibly:
# one layer with /bin/busybox (from Debian's busybox-static, when installed)
# and a /hello script, a config, a manifest and index.json tagged `1.0.0`.
# Usage: scripts/make-demo-image.sh OUT_DIR
set -euo pipefail
out=${1:?usage: make-demo-image.sh OUT_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/root/bin" "$out/blobs/sha256"
cat > "$work/root/hello" <<'SH'
#!/bin/busybox sh
echo "hello from the airlock demo image"
SH
chmod 0755 "$work/root/hello"
if [ -x /bin/busybox ] && file_type=$(head -c 4 /bin/busybox | od -An -c | tr -d ' ') && [ "$file_type" = "177ELF" ]; then
  cp /bin/busybox "$work/root/bin/busybox"
fi

blob() { # stores stdin as a blob, prints "digest size"
  local tmp="$work/blob"
  cat > "$tmp"
  local hex size
  hex=$(sha256sum "$tmp" | cut -d' ' -f1)
  size=$(stat -c %s "$tmp")
  mv "$tmp" "$out/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}

tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -C "$work/root" -cf "$work/layer.tar" .
diff_id="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
read -r layer_digest layer_size < <(gzip -n -9 -c "$work/layer.tar" | blob)
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
read -r config_digest config_size < <(printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/hello"],"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}' "$arch" "$diff_id" | blob)
read -r manifest_digest manifest_size < <(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' "$config_digest" "$config_size" "$layer_digest" "$layer_size" | blob)
printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"1.0.0"}}]}' "$manifest_digest" "$manifest_size" > "$out/index.json"
echo "$manifest_digest"
