#!/usr/bin/env bash
# Benchmark for issue "create, inspect and verify": airlock against skopeo,
# tar and openssl on the same images in the same run.
#
#   bench/create_verify.sh            # prints a table of figures and ratios
#
# Images (built here, offline once the Debian packages are installed):
#   base  = debootstrap --variant=minbase rootfs (tar.gz)
#   app1  = base + 160 MB layer of incompressible data
#   app2  = base + gzip'd tar of the host's /usr/lib and /usr/share (~100 MB)
# pushed with skopeo into a loopback docker-registry that this script starts
# and stops by PID. Everything lives under target/bench/.
source "$(dirname "$0")/common.sh"
export AIRLOCK_PASSWORD=bench-only-password
[ -f "$work/release.key" ] || "$airlock" key generate --output-key-prefix "$work/release" >/dev/null
sign=(--sign-key "$work/release.key")

source bench/images.sh
image_bytes=$(du -sb "$work/src-layout/blobs" | cut -f1)

# --- registry ---------------------------------------------------------------
port=$(free_port)
rm -rf "$work/registry"; mkdir -p "$work/registry"
cat > "$work/registry/config.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry/data}}
http: {addr: 127.0.0.1:$port}
YML
docker-registry serve "$work/registry/config.yml" >/dev/null 2>&1 &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null || true' EXIT
wait_port "$port"
for tag in app1 app2; do
  skopeo copy --quiet --dest-tls-verify=false "oci:$work/src-layout:$tag" "docker://127.0.0.1:$port/bench/$tag:1.0"
done

cat > "$work/airlock.yaml" <<YML
apiVersion: airlock.dev/v1
kind: Bundle
metadata: {name: bench, version: 1.0.0}
components:
  - name: main
    images:
      - 127.0.0.1:$port/bench/app1:1.0
      - 127.0.0.1:$port/bench/app2:1.0
YML

best() { # best of N runs of a shell snippet: "seconds peak_rss"
  local n=$1; shift
  local best_s=999999 best_m=0
  for _ in $(seq "$n"); do
    eval "$PREPARE"
    read -r s m < <(timed "$@")
    if awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; best_m=$m; fi
  done
  echo "$best_s $best_m"
}
runs=${RUNS:-3}

# --- create vs skopeo copy + tar -------------------------------------------
PREPARE='rm -rf "$work/cache" "$work/bench.airlock"'
read -r create_s create_rss < <(AIRLOCK_CACHE_DIR=$work/cache best "$runs" "$airlock" --quiet create "$work/airlock.yaml" -o "$work/bench.airlock" --plain-http "${sign[@]}")
read -r unsigned_s _ < <(AIRLOCK_CACHE_DIR=$work/cache best "$runs" "$airlock" --quiet create "$work/airlock.yaml" -o "$work/bench.airlock" --plain-http)
cat > "$work/skopeo-tar.sh" <<SH
set -e
rm -rf "$work/peer-layout" "$work/peer.tar"
skopeo copy --quiet --src-tls-verify=false docker://127.0.0.1:$port/bench/app1:1.0 oci:$work/peer-layout:app1
skopeo copy --quiet --src-tls-verify=false docker://127.0.0.1:$port/bench/app2:1.0 oci:$work/peer-layout:app2
tar -C $work/peer-layout -cf $work/peer.tar .
SH
PREPARE=':'
read -r peer_s peer_rss < <(best "$runs" bash "$work/skopeo-tar.sh")
# Warm cache: a second create that downloads nothing.
PREPARE='rm -f "$work/bench.airlock"'
read -r warm_s _ < <(AIRLOCK_CACHE_DIR=$work/cache best "$runs" "$airlock" --quiet create "$work/airlock.yaml" -o "$work/bench.airlock" --plain-http "${sign[@]}")

# --- verify vs openssl ------------------------------------------------------
bundle_bytes=$(stat -c %s "$work/bench.airlock")
cat "$work/bench.airlock" >/dev/null
PREPARE=':'
read -r verify_s verify_rss < <(best "$runs" "$airlock" --quiet verify "$work/bench.airlock" --key "$work/release.pub")
read -r openssl_s _ < <(best "$runs" openssl dgst -sha256 "$work/bench.airlock")

# --- memory does not grow with size: a >= 1 GB bundle --------------------------
if [ ! -f "$work/big-layout/index.json" ]; then
  rm -rf "$work/big-layout"
  head -c 1100000000 /dev/urandom > "$work/big-layer"
  python3 bench/oci_layout.py "$work/big-layout" big "$work/big-layer" >/dev/null
  rm -f "$work/big-layer"
fi
printf 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: big, version: 1.0.0}\ncomponents:\n  - name: main\n    images: ["oci-layout:%s:big"]\n' "$work/big-layout" > "$work/big.yaml"
rm -rf "$work/big-cache" "$work/big.airlock"
read -r big_create_s big_create_rss < <(AIRLOCK_CACHE_DIR=$work/big-cache timed "$airlock" --quiet create "$work/big.yaml" -o "$work/big.airlock" "${sign[@]}")
rm -rf "$work/big-cache"
read -r big_verify_s big_verify_rss < <(timed "$airlock" --quiet verify "$work/big.airlock" --key "$work/release.pub")
big_bytes=$(stat -c %s "$work/big.airlock")
inspect_ms=$(python3 - "$airlock" "$work/big.airlock" <<'PY'
import subprocess, sys, time
best = 1e9
for _ in range(10):
    t = time.perf_counter()
    subprocess.run([sys.argv[1], "inspect", sys.argv[2]], check=True, stdout=subprocess.DEVNULL)
    best = min(best, time.perf_counter() - t)
print(f"{best*1000:.1f}")
PY
)

mb() { awk "BEGIN{printf \"%.0f\", $1/1000000}"; }
ratio() { awk "BEGIN{printf \"%.2f\", $1/$2}"; }
rate() { awk "BEGIN{printf \"%.0f\", $1/$2/1000000}"; }
echo
echo "images: $(mb "$image_bytes") MB of blobs in 2 images (shared base); bundle $(mb "$bundle_bytes") MB; best of $runs runs"
echo
printf '%-44s %10s %12s %s\n' measure seconds "peak RSS" note
printf '%-44s %10s %10s MiB %s\n' "airlock create (cold cache, signed)" "$create_s" "$((create_rss/1024))" "ratio vs peer: $(ratio "$create_s" "$peer_s") (goal <= 0.5)"
printf '%-44s %10s %14s %s\n' "airlock create (cold cache, unsigned)" "$unsigned_s" "" "ratio vs peer: $(ratio "$unsigned_s" "$peer_s")"
printf '%-44s %10s %10s MiB\n' "skopeo copy x2 to OCI layout + tar" "$peer_s" "$((peer_rss/1024))"
printf '%-44s %10s %14s\n' "airlock create (warm cache)" "$warm_s" ""
printf '%-44s %10s %10s MiB %s\n' "airlock verify" "$verify_s" "$((verify_rss/1024))" "$(rate "$bundle_bytes" "$verify_s") MB/s; ratio vs openssl: $(ratio "$openssl_s" "$verify_s")x throughput (goal >= 0.75)"
printf '%-44s %10s %14s %s\n' "openssl dgst -sha256 (bundle)" "$openssl_s" "" "$(rate "$bundle_bytes" "$openssl_s") MB/s"
printf '%-44s %10s %10s MiB %s\n' "airlock create, $(mb "$big_bytes") MB local image" "$big_create_s" "$((big_create_rss/1024))" "(goal: RSS <= 64 MiB, flat with size)"
printf '%-44s %10s %10s MiB\n' "airlock verify, $(mb "$big_bytes") MB bundle" "$big_verify_s" "$((big_verify_rss/1024))"
printf '%-44s %10s %14s %s\n' "airlock inspect ($(mb "$big_bytes") MB bundle)" "$(awk "BEGIN{print $inspect_ms/1000}")" "" "${inspect_ms} ms (goal < 50 ms)"
