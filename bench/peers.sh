#!/usr/bin/env bash
# Benchmark of issue 24: airlock against the tools users would pick instead,
# in one run, on the same images and the same machine.
#
#   bench/peers.sh              # RUNS=N for best of N (default 2); prints a table
#                               # (ONLY=create: the create rows alone)
#
# - create: `airlock create` vs `zarf package create` (--skip-sbom and its
#   default with SBOMs) vs `crane pull --format oci` + tar vs `skopeo copy`
#   to an OCI layout + tar, each with its cache empty, and a warm row where
#   the tool has a cache (airlock, zarf, crane); bundle sizes.
# - push into the CNCF distribution v3 registry and into Debian's
#   docker-registry (both TLS + htpasswd, storage wiped before every timed
#   push): `airlock push` vs `zarf package mirror-resources` vs `crane copy`
#   and `regctl image copy` of each image (from the source registry) vs
#   `skopeo copy` of each image (from its OCI layout); re-push of the
#   unchanged bundle.
# - verify: `airlock verify --key` vs `zarf package verify --key` (both
#   bundles signed with the same key) vs `openssl dgst -sha256` of each.
# - the floor: moving the same bytes with no tool logic: a parallel `curl`
#   of every blob and manifest from the source registry to disk (create),
#   and a parallel upload (POST + PUT) of every blob once, then a mount of
#   it into each other repository holding it, then every manifest (push).
# Two image sets, those of bench/images.sh: 2 images on one base (362 MB of
# blobs) and 5 images, one repository each, on that base (458 MB).
# Peak RSS of each is /usr/bin/time's %M (the largest process of a script);
# CPU seconds its %U + %S (of the process and the children it waited for:
# a script's tools count, servers do not), of the fastest of the runs.
#
# Setup (apt, cargo, scripts/build-tools.sh peers, the images) runs here; the
# measurements run in a network namespace of their own (`unshare -n`), where
# only loopback exists: Zarf and the others cannot phone home, and every
# server listens on 127.0.0.1. Servers are stopped by PID on exit.
set -euo pipefail
if [ "${1:-}" != --in-netns ]; then
  source "$(dirname "$0")/common.sh"
  scripts/build-tools.sh peers
  source bench/images.sh
  command -v zstd >/dev/null || apt-get install -y -qq zstd >/dev/null
  export PEERS_WORK=$work PEERS_AIRLOCK=$airlock PEERS_TOOLS=$root/target/tools/bin
  exec unshare -n -- bash "$0" --in-netns
fi

# --- inside the namespace ------------------------------------------------------
cd "$(dirname "$0")/.."
ip link set lo up
work=$PEERS_WORK
airlock=$PEERS_AIRLOCK
export PATH=$PEERS_TOOLS:$PATH
runs=${RUNS:-2}
d=$work/peers
rm -rf "$d"
mkdir -p "$d"

source bench/helpers.sh
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# --- TLS material and htpasswd (bcrypt), shared by both destinations -------------
tls=$d/tls
make_tls_material "$tls"
user=bench pass=bench-password
# Go tools (crane, regctl, zarf) trust the CA through SSL_CERT_FILE.
export SSL_CERT_FILE=$tls/ca.crt
export HOME=$d/home DOCKER_CONFIG=$d/home/.docker
mkdir -p "$DOCKER_CONFIG"

# --- the source registry (plain HTTP), holding both image sets -----------------
src_port=$(free_port)
cat > "$d/src.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $d/src-data}}
http: {addr: 127.0.0.1:$src_port}
YML
docker-registry serve "$d/src.yml" >/dev/null 2>&1 &
pids+=($!)
wait_port "$src_port"
src=127.0.0.1:$src_port
for tag in app1 app2; do
  skopeo copy --quiet --dest-tls-verify=false "oci:$work/src-layout:$tag" "docker://$src/bench/$tag:1.0"
done
for n in 1 2 3 4 5; do
  skopeo copy --quiet --dest-tls-verify=false "oci:$work/several/app$n:1.0" "docker://$src/bench/svc$n:1.0"
done
declare -A refs layouts
refs[two]="bench/app1:1.0 bench/app2:1.0"
layouts[two]="$work/src-layout:app1 $work/src-layout:app2"
refs[five]="bench/svc1:1.0 bench/svc2:1.0 bench/svc3:1.0 bench/svc4:1.0 bench/svc5:1.0"
layouts[five]=""
for n in 1 2 3 4 5; do layouts[five]+="$work/several/app$n:1.0 "; done
# Zarf's default create makes an SBOM of every layer with syft, which fails on
# the filler layer (gzip'd random bytes, not a tar) and on the /usr one (a tar
# cut at 300 MB): that row uses the three images whose layers are whole tars.
refs[sbom]="bench/svc3:1.0 bench/svc4:1.0 bench/svc5:1.0"

# Per set: "repo digest file" of every manifest and blob (from the layouts,
# which hold the same bytes as the source registry), for the floors.
blob_list() { # SET: lines "KIND REPO DIGEST FILE", KIND = blob or manifest:TAG
  local set=$1 ref layout i=0
  local -a rs
  read -ra rs <<< "${refs[$set]}"
  for layout in ${layouts[$set]}; do
    ref=${rs[$i]}; i=$((i + 1))
    python3 - "${layout%:*}" "${layout##*:}" "${ref%:*}" "${ref##*:}" <<'PY'
import json, os, sys
lay, tag, repo, rtag = sys.argv[1:]
b = lambda dg: os.path.join(lay, "blobs", *dg.split(":"))
for m in json.load(open(os.path.join(lay, "index.json")))["manifests"]:
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
        man = json.load(open(b(m["digest"])))
        for x in [man["config"]] + man["layers"]:
            print("blob", repo, x["digest"], b(x["digest"]))
        print("manifest:" + rtag, repo, m["digest"], b(m["digest"]), m["mediaType"])
PY
  done
}

# --- measuring -------------------------------------------------------------------
rows=$d/rows.tsv
: > "$rows"
# row GROUP LABEL PREPARE CMD...: best of $runs (PREPARE is eval'd before each)
row() {
  local group=$1 label=$2 prep=$3 best_s=999999 best_m=0 best_c=0 s m u k
  shift 3
  for _ in $(seq "$runs"); do
    eval "$prep"
    /usr/bin/time -f "%e %M %U %S" -o "$d/time.out" "$@" >/dev/null 2>"$d/cmd.err" || {
      echo "failed: $label: $*" >&2; tail -20 "$d/cmd.err" >&2; exit 1; }
    read -r s m u k < "$d/time.out"
    if awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; best_m=$m; best_c=$(awk "BEGIN{print $u + $k}"); fi
  done
  printf '%s\t%s\t%s\t%s\t%s\n' "$group" "$label" "$best_s" "$((best_m / 1024))" "$best_c" | tee -a "$rows" >&2
}
size_row() { printf '%s\t%s\t%s\t\t\n' "$1" "$2" "$3" | tee -a "$rows" >&2; }

zarf_flags=(--log-level warn --no-color -a amd64)

# --- create ----------------------------------------------------------------------
for set in two five sbom; do
  read -ra rs <<< "${refs[$set]}"
  { printf 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: bench-%s, version: 1.0.0}\ncomponents:\n  - name: main\n    images:\n' "$set"
    printf '      - %s\n' "${rs[@]/#/$src/}"; } > "$d/$set.yaml"
  mkdir -p "$d/zarf-$set"
  { printf 'kind: ZarfPackageConfig\nmetadata: {name: bench-%s, version: 1.0.0}\ncomponents:\n  - name: main\n    required: true\n    images:\n' "$set"
    printf '      - %s\n' "${rs[@]/#/$src/}"; } > "$d/zarf-$set/zarf.yaml"
  g="create $set"
  row "$g" "airlock create (cold)" 'rm -rf "$d/ac" "$d/$set.airlock"; sync' \
    env AIRLOCK_CACHE_DIR="$d/ac" "$airlock" --quiet create "$d/$set.yaml" -o "$d/$set.airlock" --plain-http
  [ "$set" = sbom ] || row "$g" "airlock create --no-cache (layers written once)" 'rm -f "$d/$set.airlock"; sync' \
    "$airlock" --quiet create "$d/$set.yaml" -o "$d/$set.airlock" --plain-http --no-cache
  if [ "$set" = sbom ]; then
    zout=$d/zout-$set
    row "$g" "zarf package create --skip-sbom (cold)" 'rm -rf "$d/zc" "$d/zt" "$zout"; mkdir -p "$d/zt" "$zout"; sync' \
      zarf package create "$d/zarf-$set" --confirm --skip-sbom -o "$zout" --cache "$d/zc" --tmpdir "$d/zt" --plain-http "${zarf_flags[@]}"
    row "$g" "zarf package create, default: SBOM (cold)" 'rm -rf "$d/zc" "$d/zt" "$zout"; mkdir -p "$d/zt" "$zout"; sync' \
      zarf package create "$d/zarf-$set" --confirm -o "$zout" --cache "$d/zc" --tmpdir "$d/zt" --plain-http "${zarf_flags[@]}"
    rm -rf "$d/zc" "$d/zt" "$zout" "$d/ac" "$d/$set.airlock"
    continue
  fi
  row "$g" "airlock create (warm cache)" 'rm -f "$d/$set.airlock"; sync' \
    env AIRLOCK_CACHE_DIR="$d/ac" "$airlock" --quiet create "$d/$set.yaml" -o "$d/$set.airlock" --plain-http
  zout=$d/zout-$set
  row "$g" "zarf package create --skip-sbom (cold)" 'rm -rf "$d/zc" "$d/zt" "$zout"; mkdir -p "$d/zt" "$zout"; sync' \
    zarf package create "$d/zarf-$set" --confirm --skip-sbom -o "$zout" --cache "$d/zc" --tmpdir "$d/zt" --plain-http "${zarf_flags[@]}"
  row "$g" "zarf package create --skip-sbom (warm cache)" 'rm -rf "$d/zt" "$zout"; mkdir -p "$d/zt" "$zout"; sync' \
    zarf package create "$d/zarf-$set" --confirm --skip-sbom -o "$zout" --cache "$d/zc" --tmpdir "$d/zt" --plain-http "${zarf_flags[@]}"
  # The package the push and verify rows use: the --skip-sbom one.
  rm -rf "$d/zt" "$zout"; mkdir -p "$d/zt" "$zout"
  zarf package create "$d/zarf-$set" --confirm --skip-sbom -o "$zout" --cache "$d/zc" --tmpdir "$d/zt" --plain-http "${zarf_flags[@]}" >/dev/null 2>&1
  zpkg=$(ls "$zout"/*.tar.zst)
  cp "$zpkg" "$d/$set.zarf.tar.zst"
  { echo "set -e"; echo "rm -rf '$d/cl' '$d/crane.tar'"
    echo "crane pull --format oci ${rs[*]/#/$src/} '$d/cl' \"\$@\""
    echo "tar -C '$d/cl' -cf '$d/crane.tar' ."; } > "$d/crane-$set.sh"
  row "$g" "crane pull --format oci + tar (cold)" 'sync' bash "$d/crane-$set.sh"
  row "$g" "crane pull --format oci + tar (warm --cache_path)" 'bash "$d/crane-$set.sh" --cache_path "$d/cc" >/dev/null 2>&1; sync' \
    bash "$d/crane-$set.sh" --cache_path "$d/cc"
  rm -rf "$d/cc"
  { echo "set -e"; echo "rm -rf '$d/sl' '$d/skopeo.tar'"; i=0
    for r in "${rs[@]}"; do i=$((i + 1)); echo "skopeo copy --quiet --src-tls-verify=false docker://$src/$r oci:$d/sl:img$i"; done
    echo "tar -C '$d/sl' -cf '$d/skopeo.tar' ."; } > "$d/skopeo-$set.sh"
  row "$g" "skopeo copy (OCI layout) + tar" 'sync' bash "$d/skopeo-$set.sh"
  size_row "$g" "bundle bytes: airlock / zarf / crane tar / skopeo tar" \
    "$(stat -c %s "$d/$set.airlock") / $(stat -c %s "$d/$set.zarf.tar.zst") / $(stat -c %s "$d/crane.tar") / $(stat -c %s "$d/skopeo.tar")"
  rm -rf "$d/cl" "$d/sl" "$d/crane.tar" "$d/skopeo.tar"
  # Floor: every manifest and blob fetched at once, with no tool logic.
  blob_list "$set" | awk '!seen[$3]++' > "$d/blobs-$set.txt"
  awk -v s="$src" '{ kind = ($1 == "blob") ? "blobs" : "manifests"; print "http://" s "/v2/" $2 "/" kind "/" $3 }' "$d/blobs-$set.txt" > "$d/urls-$set.txt"
  n=$(wc -l < "$d/urls-$set.txt")
  cat > "$d/floor-get-$set.sh" <<SH
set -e
rm -rf '$d/fl'; mkdir -p '$d/fl'
xargs -P $n -I{} sh -c 'curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" -o "$d/fl/\$(basename {})" {}' < '$d/urls-$set.txt'
SH
  row "$g" "floor: parallel curl of every blob and manifest" 'sync' bash "$d/floor-get-$set.sh"
  rm -rf "$d/fl"
done

# --- create of a systems bundle: Penguin (bundles/penguin) ---------------------
# Its images are stand-ins (scripts/standin-images.sh: busybox, a few MB each;
# the real ones cannot be pulled here) in the source registry under a
# pull-through-cache layout. airlock renders both charts in every environment
# to find the images; Zarf is given the same two charts (localPath, the same
# values file) and the image list the bundle's README gives; crane pulls the
# images only. amd64 only for all (Zarf packages one architecture).
mirror=$src/mirror
STANDIN_NO_DOWNLOAD=1 STANDIN_PLAIN_HTTP=1 scripts/standin-images.sh "$mirror" bundles/penguin/images.txt >/dev/null 2>&1
mapfile -t penguin_images < <(grep -v '^#' bundles/penguin/images.txt | awk 'NF{print "'"$mirror"'/" $1}')
mkdir -p "$d/zarf-penguin"
{ printf 'kind: ZarfPackageConfig\nmetadata: {name: penguin, version: 1.0.0}\ncomponents:\n'
  printf '  - name: gateway\n    required: true\n    charts:\n'
  printf '      - {name: traefik, version: 41.3.0, namespace: traefik, localPath: %s/charts/vendor/traefik, valuesFiles: [%s/bundles/penguin/values/traefik.yaml]}\n' "$PWD" "$PWD"
  printf '  - name: penguin\n    required: true\n    charts:\n'
  printf '      - {name: penguin, version: 1.0.0, namespace: penguin, localPath: %s/charts/penguin}\n' "$PWD"
  printf '    images:\n'
  printf '      - %s\n' "${penguin_images[@]}"; } > "$d/zarf-penguin/zarf.yaml"
g="create penguin"
row "$g" "airlock create (cold; charts rendered per environment)" 'rm -rf "$d/ac" "$d/penguin.airlock"; sync' \
  env AIRLOCK_CACHE_DIR="$d/ac" "$airlock" --quiet create bundles/penguin/airlock.yaml -o "$d/penguin.airlock" \
  --plain-http --platform linux/amd64 --registry-mirror "docker.io=$mirror/docker.io" --registry-mirror "ghcr.io=$mirror/ghcr.io"
zout=$d/zout-penguin
row "$g" "zarf package create --skip-sbom (cold)" 'rm -rf "$d/zc" "$d/zt" "$zout"; mkdir -p "$d/zt" "$zout"; sync' \
  zarf package create "$d/zarf-penguin" --confirm --skip-sbom -o "$zout" --cache "$d/zc" --tmpdir "$d/zt" --plain-http "${zarf_flags[@]}"
{ echo "set -e"; echo "rm -rf '$d/cl' '$d/crane.tar'"
  echo "crane pull --format oci --platform linux/amd64 ${penguin_images[*]} '$d/cl'"
  echo "tar -C '$d/cl' -cf '$d/crane.tar' ."; } > "$d/crane-penguin.sh"
row "$g" "crane pull --format oci + tar (images only)" 'sync' bash "$d/crane-penguin.sh"
size_row "$g" "bundle bytes: airlock / zarf / crane tar" \
  "$(stat -c %s "$d/penguin.airlock") / $(stat -c %s "$zout"/*.tar.zst) / $(stat -c %s "$d/crane.tar")"
rm -rf "$d/cl" "$d/crane.tar" "$zout" "$d/zc" "$d/zt" "$d/ac" "$d/penguin.airlock"

# ONLY=create stops after the create rows (verify and push need the whole run).
if [ "${ONLY:-}" != create ]; then
# --- verify ----------------------------------------------------------------------
# Both signed with the same key (airlock's keys are cosign's format, which
# Zarf signs and verifies with); `zarf package verify` insists on a signature.
export AIRLOCK_PASSWORD=bench-only-password
"$airlock" --quiet key generate --output-key-prefix "$d/release" >/dev/null
for set in two five; do
  g="verify $set"
  cp "$d/$set.airlock" "$d/$set.signed.airlock"
  "$airlock" --quiet sign "$d/$set.signed.airlock" --key "$d/release.key" >/dev/null
  rm -rf "$d/zt" "$d/zsigned"; mkdir -p "$d/zt"
  zarf package sign "$d/$set.zarf.tar.zst" --signing-key "$d/release.key" --signing-key-pass "$AIRLOCK_PASSWORD" \
    -o "$d/zsigned" --tmpdir "$d/zt" "${zarf_flags[@]}" >/dev/null 2>&1
  mv "$d"/zsigned/*.tar.zst "$d/$set.signed.zarf.tar.zst"
  cat "$d/$set.signed.airlock" "$d/$set.signed.zarf.tar.zst" >/dev/null
  row "$g" "airlock verify --key" ':' "$airlock" --quiet verify "$d/$set.signed.airlock" --key "$d/release.pub"
  row "$g" "zarf package verify --key (extract, checksums, signature)" 'rm -rf "$d/zt"; mkdir -p "$d/zt"' \
    zarf package verify "$d/$set.signed.zarf.tar.zst" --key "$d/release.pub" --cache "$d/zc" --tmpdir "$d/zt" "${zarf_flags[@]}"
  row "$g" "openssl dgst -sha256 of the airlock bundle" ':' openssl dgst -sha256 "$d/$set.signed.airlock"
  row "$g" "openssl dgst -sha256 of the zarf package" ':' openssl dgst -sha256 "$d/$set.signed.zarf.tar.zst"
  rm -f "$d/$set.signed.airlock" "$d/$set.signed.zarf.tar.zst"
done

# --- push ------------------------------------------------------------------------
dst_port=$(free_port)
dst_pid=
start_dst() { # KIND: docker-registry or distribution-registry, with wiped storage
  [ -n "$dst_pid" ] && { kill "$dst_pid"; wait "$dst_pid" 2>/dev/null || true; }
  rm -rf "$d/dst-data"
  sync # no writeback of the previous run pending
  cat > "$d/dst.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $d/dst-data}}
http: {addr: 127.0.0.1:$dst_port, tls: {certificate: $tls/server.crt, key: $tls/server.key}}
auth: {htpasswd: {realm: bench, path: $tls/htpasswd}}
YML
  "$1" serve "$d/dst.yml" >/dev/null 2>&1 &
  dst_pid=$!
  pids+=("$dst_pid")
  wait_port "$dst_port"
}
dst=127.0.0.1:$dst_port
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$dst" "$(printf %s "$user:$pass" | base64)" > "$DOCKER_CONFIG/config.json"
regctl_hosts=(--host "reg=$src,tls=disabled" --host "reg=$dst,user=$user,pass=$pass,tls=enabled")

for kind in distribution-registry docker-registry; do
  for set in two five; do
    read -ra rs <<< "${refs[$set]}"
    g="push $set -> $kind"
    fresh="start_dst $kind"
    row "$g" "airlock push" "$fresh" \
      "$airlock" --quiet push "$d/$set.airlock" --registry "$dst/a" --ca-file "$tls/ca.crt" --username "$user" --password "$pass" --allow-unsigned
    row "$g" "airlock push, again (unchanged bundle)" ':' \
      "$airlock" --quiet push "$d/$set.airlock" --registry "$dst/a" --ca-file "$tls/ca.crt" --username "$user" --password "$pass" --allow-unsigned
    row "$g" "zarf package mirror-resources --images" "$fresh; rm -rf \"\$d/zt\"; mkdir -p \"\$d/zt\"" \
      zarf package mirror-resources "$d/$set.zarf.tar.zst" --confirm --images --registry-url "$dst" \
      --registry-push-username "$user" --registry-push-password "$pass" --cache "$d/zc" --tmpdir "$d/zt" "${zarf_flags[@]}"
    row "$g" "zarf package mirror-resources, again" "rm -rf \"\$d/zt\"; mkdir -p \"\$d/zt\"" \
      zarf package mirror-resources "$d/$set.zarf.tar.zst" --confirm --images --registry-url "$dst" \
      --registry-push-username "$user" --registry-push-password "$pass" --cache "$d/zc" --tmpdir "$d/zt" "${zarf_flags[@]}"
    { echo "set -e"; for r in "${rs[@]}"; do echo "crane copy $src/$r $dst/c/$r"; done; } > "$d/crane-copy.sh"
    row "$g" "crane copy of each image (from the source registry)" "$fresh" bash "$d/crane-copy.sh"
    row "$g" "crane copy, again" ':' bash "$d/crane-copy.sh"
    { echo "set -e"; for r in "${rs[@]}"; do echo "regctl ${regctl_hosts[*]} image copy $src/$r $dst/r/$r"; done; } > "$d/regctl-copy.sh"
    row "$g" "regctl image copy of each image (from the source registry)" "$fresh" bash "$d/regctl-copy.sh"
    { echo "set -e"; i=0; read -ra lays <<< "${layouts[$set]}"
      for l in "${lays[@]}"; do echo "skopeo copy --quiet --dest-cert-dir=$tls/certs.d --dest-creds=$user:$pass oci:$l docker://$dst/s/${rs[$i]}"; i=$((i + 1)); done; } > "$d/skopeo-push.sh"
    row "$g" "skopeo copy of each image (from its OCI layout)" "$fresh" bash "$d/skopeo-push.sh"
    # Floor: every blob uploaded once, all at once (POST, then PUT of the
    # whole blob streamed from its file), then mounted into the other
    # repositories that hold it, then every manifest at once; basic auth on
    # each request, no HEAD checks, no 100-continue wait.
    cat > "$d/floor-put.sh" <<SH
set -e
c=(curl -sf --cacert '$tls/ca.crt' -u '$user:$pass' -H 'Expect:' -o /dev/null)
up() { # REPO DIGEST FILE
  loc=\$(curl -sf --cacert '$tls/ca.crt' -u '$user:$pass' -X POST -D - -o /dev/null "https://$dst/v2/f/\$1/blobs/uploads/" | tr -d '\r' | awk 'tolower(\$1) == "location:" {print \$2}')
  case \$loc in http*) ;; *) loc=https://$dst\$loc ;; esac
  case \$loc in *\?*) sep='&' ;; *) sep='?' ;; esac
  "\${c[@]}" -H 'Content-Type: application/octet-stream' -T "\$3" "\$loc\${sep}digest=\$2"
}
run() { # KIND: start every line of that kind at once, then wait for all
  local jobs=() kind repo digest file mt
  while read -r kind repo digest file mt; do
    case \$1:\$kind in
      up:blob) up "\$repo" "\$digest" "\$file" & ;;
      mount:mount) "\${c[@]}" -X POST "https://$dst/v2/f/\$repo/blobs/uploads/?mount=\$digest&from=f/\$file" & ;;
      manifest:manifest:*) "\${c[@]}" -X PUT -H "Content-Type: \$mt" -T "\$file" "https://$dst/v2/f/\$repo/manifests/\${kind#manifest:}" & ;;
      *) continue ;;
    esac
    jobs+=(\$!)
  done < '$d/push-list.txt'
  for j in "\${jobs[@]}"; do wait "\$j"; done
}
run up; run mount; run manifest
SH
    # A blob's first repository gets its bytes; the others mount it from there.
    blob_list "$set" | awk '$1 != "blob" { print; next }
      !($3 in first) { first[$3] = $2; print; next }
      { print "mount", $2, $3, first[$3] }' > "$d/push-list.txt"
    row "$g" "floor: parallel upload of every blob (+ mounts), then manifests" "$fresh" bash "$d/floor-put.sh"
  done
done
[ -n "$dst_pid" ] && kill "$dst_pid"
fi

# --- the table -------------------------------------------------------------------
echo
echo "$(date -u +%Y-%m-%d) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); best of $runs; $("$airlock" --version 2>/dev/null | head -1)"
echo "peers: zarf $(zarf version 2>/dev/null | head -1), crane $(crane version 2>/dev/null), regctl $(regctl version --format '{{.VCSTag}}' 2>/dev/null), distribution $(distribution-registry --version 2>/dev/null | awk '{print $NF}'), $(skopeo --version)"
echo
python3 - "$rows" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
print("| group | tool | seconds | CPU s (user + sys) | peak RSS MiB | airlock / this |")
print("|---|---|---|---|---|---|")
ref = {}
for g, label, s, m, cpu in rows:
    if not m:  # a size row
        print(f"| {g} | {label} | {s} | | | |")
        continue
    again = "again" in label or "warm" in label
    key = (g, again)
    if label.startswith("airlock"):  # the group's first airlock row is what others compare with
        ref.setdefault(key, float(s))
        ratio = ""
    else:
        base = ref.get(key, ref.get((g, False)))
        ratio = f"{base / float(s):.2f}" if base and float(s) > 0 else ""
    print(f"| {g} | {label} | {s} | {cpu} | {m} | {ratio} |")
PY
