#!/usr/bin/env bash
# Builds small stand-in images for images that cannot be pulled here, and
# pushes each under REGISTRY/<source host>/<path>:<tag>, the layout of a
# pull-through cache, so that `airlock create --registry-mirror
# docker.io=REGISTRY/docker.io` (one flag per source host) bundles them under
# their original names. A stand-in is NOT the real software: it is a tiny
# runnable image with the same name and tag, for building and installing
# bundles offline.
#
#   scripts/standin-images.sh REGISTRY [LIST]
#
# REGISTRY  HOST[:PORT][/PREFIX], e.g. 127.0.0.1:5000 or mirror.site/cache
# LIST      one image reference per line (default bundles/standin-images.txt);
#           `#` starts a comment. Docker Hub names are normalised as
#           everywhere: `redis:7` is docker.io/library/redis:7. After the
#           reference, optional words:
#             port=N   the port its web server listens on (default 8080)
#             /PATH    an HTTP path answered 200 (beside the defaults:
#                      / /healthz /health /livez /readyz /ready /ping)
#           A reference pinned by digest (@sha256:...) cannot have a
#           stand-in (its digest would differ): it is skipped, and the run
#           then exits 1 after pushing the others.
#
# Each image is an OCI index of linux/amd64 and linux/arm64, each one layer
# with a static busybox (shared by every image) and one small layer of its
# own (/www, /etc/standin). It runs `busybox httpd -f -p PORT -h /www`, so
# HTTP probes get 200; /bin/sh is busybox for charts that run shell commands.
#
# busybox for arm64: $STANDIN_BUSYBOX_ARM64 (a static arm64 busybox binary),
# else one cached from an earlier run, else Debian's busybox-static:arm64
# fetched with `apt-get download` (works once `dpkg --add-architecture
# arm64 && apt-get update` has been run; STANDIN_NO_DOWNLOAD=1 skips this,
# as the tests do). When none of these is there, the
# arm64 image carries the AMD64 busybox under an arm64 label, with a warning:
# it then bundles and installs as an arm64 image but cannot run on arm64.
#
# Registry access (skopeo does the pushing, as the tests do):
#   --plain-http        or STANDIN_PLAIN_HTTP=1: plain HTTP (loopback only)
#   --cert-dir DIR      or STANDIN_CERT_DIR: a directory with the registry's
#                       CA as ca.crt (skopeo's --dest-cert-dir)
#   --creds USER:PASS   or STANDIN_CREDS: basic-auth credentials (else
#                       skopeo's own auth file, e.g. after `skopeo login`)
# STANDIN_CACHE: where the arm64 busybox is kept (default
# ${XDG_CACHE_HOME:-~/.cache}/airlock/standin).
#
# Deterministic and idempotent: the same line always gives the same bytes,
# and an image whose index the registry already has under that tag is not
# pushed again (one manifest request each). Every skopeo call is bounded by
# --command-timeout (STANDIN_TIMEOUT, default 120s).
set -euo pipefail

plain_http=${STANDIN_PLAIN_HTTP:-0}
cert_dir=${STANDIN_CERT_DIR:-}
creds=${STANDIN_CREDS:-}
args=()
while (($#)); do
  case "$1" in
    --plain-http) plain_http=1 ;;
    --cert-dir) cert_dir=${2:?--cert-dir needs a directory}; shift ;;
    --creds) creds=${2:?--creds needs USER:PASS}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "standin-images: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) args+=("$1") ;;
  esac
  shift
done
repo_root=$(cd "$(dirname "$0")/.." && pwd)
registry=${args[0]:-}
list=${args[1]:-$repo_root/bundles/standin-images.txt}
if [ -z "$registry" ] || ((${#args[@]} > 2)); then
  echo "usage: standin-images.sh [--plain-http] [--cert-dir DIR] [--creds USER:PASS] REGISTRY [LIST]" >&2
  exit 2
fi
registry=${registry%/}
[ -r "$list" ] || { echo "standin-images: cannot read image list $list" >&2; exit 2; }
command -v skopeo >/dev/null || { echo "standin-images: skopeo is not installed (scripts/install-deps.sh)" >&2; exit 2; }

# The same settings as skopeo spells them for `inspect` and for `copy`'s
# destination.
src_flags=() dest_flags=()
if [ "$plain_http" = 1 ]; then
  src_flags+=(--tls-verify=false) dest_flags+=(--dest-tls-verify=false)
elif [ -n "$cert_dir" ]; then
  src_flags+=(--cert-dir "$cert_dir") dest_flags+=(--dest-cert-dir "$cert_dir")
fi
if [ -n "$creds" ]; then
  src_flags+=(--creds "$creds") dest_flags+=(--dest-creds "$creds")
fi
skopeo_run=(skopeo --command-timeout "${STANDIN_TIMEOUT:-120s}")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
layout=$work/layout
mkdir -p "$layout/blobs/sha256"
printf '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"

blob() { # stores stdin as a blob of the layout, prints "digest size"
  local tmp=$work/blob hex size
  cat > "$tmp"
  hex=$(sha256sum "$tmp" | cut -d' ' -f1)
  size=$(stat -c %s "$tmp")
  mv "$tmp" "$layout/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}

tar_layer() { # DIR: a reproducible gzip'd tar of DIR; prints "digest size diff_id"
  local dir=$1 diff_id digest size
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -C "$dir" -cf "$work/layer.tar" .
  diff_id="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
  read -r digest size < <(gzip -n -9 -c "$work/layer.tar" | blob)
  echo "$digest $size $diff_id"
}

is_elf_for() { # FILE MACHINE_BYTE: an ELF binary for that machine (0x3e amd64, 0xb7 arm64)
  [ -f "$1" ] && [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = "177ELF" ] &&
    [ "$(od -An -tx1 -j18 -N1 "$1" | tr -d ' ')" = "$2" ]
}

# --- busybox for each platform --------------------------------------------
busybox_amd64=/bin/busybox
is_elf_for "$busybox_amd64" 3e ||
  { echo "standin-images: no amd64 /bin/busybox; install busybox-static (scripts/install-deps.sh)" >&2; exit 2; }
cache=${STANDIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/airlock/standin}
busybox_arm64=${STANDIN_BUSYBOX_ARM64:-$cache/busybox-arm64}
if ! is_elf_for "$busybox_arm64" b7 && [ -z "${STANDIN_BUSYBOX_ARM64:-}" ] && [ "${STANDIN_NO_DOWNLOAD:-0}" != 1 ]; then
  # Debian's package, if apt knows arm64; a failure here only means the
  # fallback below.
  if (cd "$work" && timeout 120 apt-get download -qq busybox-static:arm64 >/dev/null 2>&1); then
    dpkg-deb -x "$work"/busybox-static_*_arm64.deb "$work/deb"
    mkdir -p "$cache"
    cp "$work/deb/bin/busybox" "$cache/busybox-arm64.tmp" && mv "$cache/busybox-arm64.tmp" "$cache/busybox-arm64"
  fi
fi
if is_elf_for "$busybox_arm64" b7; then
  arm64_note=""
else
  echo "standin-images: warning: no arm64 busybox (set STANDIN_BUSYBOX_ARM64, or run" \
    "\`dpkg --add-architecture arm64 && apt-get update\` once): the linux/arm64 images carry the" \
    "amd64 busybox and will not run on arm64" >&2
  busybox_arm64=$busybox_amd64
  arm64_note=" (amd64 binary: does not run on arm64)"
fi

declare -A base_layer
for arch in amd64 arm64; do
  root=$work/base-$arch
  mkdir -p "$root/bin"
  src=busybox_$arch
  cp "${!src}" "$root/bin/busybox"
  chmod 0755 "$root/bin/busybox"
  ln -s busybox "$root/bin/sh"
  base_layer[$arch]=$(tar_layer "$root")
done

# --- one image --------------------------------------------------------------
normalise() { # REF -> "host path tag", Docker Hub defaults filled in
  local ref=$1 name tag host path
  name=${ref%%@*}
  if [[ "${name##*/}" == *:* ]]; then tag=${name##*:}; name=${name%:*}; else tag=latest; fi
  host=${name%%/*}
  if [[ "$name" != */* ]] || { [[ "$host" != *.* ]] && [[ "$host" != *:* ]] && [ "$host" != localhost ]; }; then
    host=docker.io; path=$name
  else
    path=${name#*/}
  fi
  case "$host" in index.docker.io|registry-1.docker.io) host=docker.io ;; esac
  if [ "$host" = docker.io ] && [[ "$path" != */* ]]; then path=library/$path; fi
  echo "$host $path $tag"
}

build_image() { # REF PORT PATHS...; prints the index "digest size"
  local ref=$1 port=$2; shift 2
  local manifests="" arch root digest size diff_id bdigest bsize bdiff cdigest csize mdigest msize p
  root=$work/own
  rm -rf "$root"
  mkdir -p "$root/www" "$root/etc/standin"
  for p in / /healthz /health /livez /readyz /ready /ping "$@"; do
    p=${p#/}
    case "$p" in ''|*/) p=${p}index.html ;; esac
    mkdir -p "$(dirname "$root/www/$p")"
    printf 'ok: stand-in for %s\n' "$ref" > "$root/www/$p"
  done
  printf '%s\n' "$ref" > "$root/etc/standin/image"
  read -r digest size diff_id < <(tar_layer "$root")
  for arch in amd64 arm64; do
    read -r bdigest bsize bdiff <<< "${base_layer[$arch]}"
    read -r cdigest csize < <(printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/bin/busybox","httpd","-f","-p","%s","-h","/www"],"Env":["PATH=/bin"],"ExposedPorts":{"%s/tcp":{}},"Labels":{"dev.airlock.standin":"%s"}},"rootfs":{"type":"layers","diff_ids":["%s","%s"]}}' \
      "$arch" "$port" "$port" "$ref" "$bdiff" "$diff_id" | blob)
    read -r mdigest msize < <(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
      "$cdigest" "$csize" "$bdigest" "$bsize" "$digest" "$size" | blob)
    manifests+="${manifests:+,}{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$mdigest\",\"size\":$msize,\"platform\":{\"architecture\":\"$arch\",\"os\":\"linux\"}}"
  done
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' "$manifests" | blob
}

# --- every line ---------------------------------------------------------------
pushed=0 present=0 skipped=0 n=0
while IFS= read -r line || [ -n "$line" ]; do
  line=${line%%#*}
  read -r -a words <<< "$line"
  ((${#words[@]})) || continue
  ref=${words[0]} port=8080 paths=()
  for w in "${words[@]:1}"; do
    case "$w" in
      port=*) port=${w#port=} ;;
      /*) paths+=("$w") ;;
      *) echo "standin-images: $list: \`$w\` after $ref is neither port=N nor /PATH" >&2; exit 2 ;;
    esac
  done
  if [[ "$ref" == *@* ]]; then
    echo "standin-images: skipping $ref: pinned by digest, which no stand-in can have" >&2
    skipped=$((skipped + 1))
    continue
  fi
  read -r host path tag <<< "$(normalise "$ref")"
  full=$host/$path:$tag
  read -r index_digest index_size < <(build_image "$full" "$port" "${paths[@]}")
  n=$((n + 1))
  target=docker://$registry/$host/$path:$tag
  # The registry's digest of what the tag holds; empty when it holds none.
  have=$("${skopeo_run[@]}" inspect --raw "${src_flags[@]}" "$target" 2>/dev/null | sha256sum | cut -d' ' -f1 || true)
  if [ "sha256:$have" = "$index_digest" ]; then
    echo "present $full -> $registry/$host/$path:$tag"
    present=$((present + 1))
    continue
  fi
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"img%s"}}]}' \
    "$index_digest" "$index_size" "$n" > "$layout/index.json"
  "${skopeo_run[@]}" copy --quiet --all --preserve-digests "${dest_flags[@]}" "oci:$layout:img$n" "$target"
  echo "pushed  $full -> $registry/$host/$path:$tag ($index_digest, linux/amd64 linux/arm64$arm64_note)"
  pushed=$((pushed + 1))
done < "$list"
echo "stand-ins: $pushed pushed, $present already there, $skipped skipped"
[ "$skipped" -eq 0 ]
