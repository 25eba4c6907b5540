#!/usr/bin/env bash
# Benchmark for issue "push and serve": airlock against skopeo and
# docker-registry on the same images, in the same run.
#
#   bench/push_serve.sh               # prints a table of figures and ratios
#
# - push: `airlock push` of a bundle vs `skopeo copy` of each of its images
#   from OCI layouts, both into the same TLS + htpasswd docker-registry, wiped
#   between runs. Two bundles: 2 images (362 MB) in one repository, and 5
#   images (458 MB, one repository each) on a shared base layer.
# - re-push of an unchanged bundle of 500 blobs (50 images x 10 layers).
# - pull: `skopeo copy` from `airlock serve` vs from docker-registry holding
#   the same images (both plain HTTP on loopback).
# Peak RSS of push and serve is reported as well.
source "$(dirname "$0")/common.sh"
export AIRLOCK_CACHE_DIR=$work/cache-push
source bench/images.sh
runs=${RUNS:-5}

source bench/tls_registry.sh

# --- the bundles ---------------------------------------------------------------
bundle() { # NAME SOURCE...: writes $work/NAME.airlock from image sources (once)
  local name=$1; shift
  { printf 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: %s, version: 1.0.0}\ncomponents:\n  - name: main\n    images:\n' "$name"
    printf '      - %s\n' "$@"; } > "$work/$name.yaml"
  [ -f "$work/$name.airlock" ] || "$airlock" --quiet create "$work/$name.yaml" -o "$work/$name.airlock" >/dev/null 2>&1
}
two=("oci-layout:$work/src-layout:app1" "oci-layout:$work/src-layout:app2")
several=()
for n in 1 2 3 4 5; do several+=("oci-layout:$work/several/app$n:1.0"); done
bundle push "${two[@]}"
bundle several "${several[@]}"

ratio() { awk "BEGIN{printf \"%.2f\", $1/$2}"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

compare_push() { # BUNDLE SOURCE...: airlock push of BUNDLE vs skopeo copy of each source, $runs pairs
  local bundle=$1 s this_push m n; shift
  best_push=999; best_push_rss=0; best_peer=999; push_reg_cpu=0
  pair_ratios=() # peer / airlock of each run's pair: steadier than best-of when the host is noisy
  for _ in $(seq "$runs"); do
    start_tls_registry
    cpu0=$(registry_cpu)
    read -r s m < <(timed "$airlock" --quiet push "$bundle" --registry "127.0.0.1:$tls_port/a" "${auth[@]}" --allow-unsigned)
    this_push=$s
    awk "BEGIN{exit !($s < $best_push)}" && { best_push=$s; best_push_rss=$m; push_reg_cpu=$(awk "BEGIN{print $(registry_cpu) - $cpu0}"); }
    start_tls_registry
    { echo "set -e"; n=0
      for source in "$@"; do
        n=$((n + 1))
        echo "skopeo copy --quiet --dest-cert-dir=$tls/certs.d --dest-creds=bench:bench-password oci:${source#oci-layout:} docker://127.0.0.1:$tls_port/p/app$n:1.0"
      done; } > "$work/peer-push.sh"
    read -r s _ < <(timed bash "$work/peer-push.sh")
    awk "BEGIN{exit !($s < $best_peer)}" && best_peer=$s
    pair_ratios+=("$(awk "BEGIN{printf \"%.2f\", $s / $this_push}")")
  done
  median_ratio=$(median "${pair_ratios[@]}")
}

# The share of a push's bytes that one core of the registry must hash: the
# registry hashes each upload on one goroutine, so blobs cannot be split
# between cores. Largest first onto the least loaded of $(nproc) cores.
one_core_share() { # BUNDLE
  "$airlock" inspect "$1" --json | python3 -c '
import heapq, json, sys
sizes = sorted((b["size"] for b in json.load(sys.stdin)["blobs"]), reverse=True)
cores = [0] * int(sys.argv[1])
for size in sizes:
    heapq.heappush(cores, heapq.heappop(cores) + size)
print(max(cores) / sum(sizes))' "$(nproc)"
}
push_rows() { # LABEL IMAGES BUNDLE: the table rows of the last compare_push
  printf '%-52s %8s %6s MiB %s\n' "airlock push ($1) -> TLS+auth registry" "$best_push" "$((best_push_rss/1024))" "$(ratio "$best_peer" "$best_push")x faster than peer (goal >= 2x)"
  printf '%-52s %8s\n' "skopeo copy x$2 (OCI layouts) -> same registry" "$best_peer"
  printf '%-52s %8s %10s %s\n' "push ratio of each run's pair (median)" "" "" "$(printf '%sx ' "${pair_ratios[@]}")(median ${median_ratio}x)"
  local floor; floor=$(awk "BEGIN{printf \"%.2f\", $push_reg_cpu / $(nproc)}")
  printf '%-52s %8s %10s %s\n' "registry CPU during that push / $(nproc) cores" "$floor" "" "no push can beat this: at most $(ratio "$best_peer" "$floor")x faster than peer"
  local share; share=$(one_core_share "$3")
  floor=$(awk "BEGIN{printf \"%.2f\", $push_reg_cpu * $share}")
  printf '%-52s %8s %10s %s\n' "registry CPU x share of bytes one core must hash" "$floor" "" "blobs are not split between cores: at most $(ratio "$best_peer" "$floor")x"
}
compare_push "$work/push.airlock" "${two[@]}"
two_rows=$(push_rows "2 images, $(( $(stat -c %s "$work/push.airlock") / 1000000 )) MB" 2 "$work/push.airlock")
compare_push "$work/several.airlock" "${several[@]}"
several_rows=$(push_rows "5 images, $(( $(stat -c %s "$work/several.airlock") / 1000000 )) MB" 5 "$work/several.airlock")

# --- re-push of 500 blobs ------------------------------------------------------
if [ ! -f "$work/many.airlock" ]; then
  rm -rf "$work/many-layout"
  python3 bench/oci_layout.py --many "$work/many-layout" 50 9 4096
  { printf 'apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: many, version: 1.0.0}\ncomponents:\n  - name: main\n    images:\n'
    for i in $(seq 0 49); do printf '      - oci-layout:%s:img%s\n' "$work/many-layout" "$i"; done; } > "$work/many.yaml"
  "$airlock" --quiet create "$work/many.yaml" -o "$work/many.airlock" >/dev/null 2>&1
fi
many_blobs=$("$airlock" inspect "$work/many.airlock" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["blobCount"])')
start_tls_registry
"$airlock" --quiet push "$work/many.airlock" --registry "127.0.0.1:$tls_port/m" "${auth[@]}" --allow-unsigned >/dev/null 2>&1
best_repush=999
for _ in $(seq "$runs"); do
  read -r s _ < <(timed "$airlock" --quiet push "$work/many.airlock" --registry "127.0.0.1:$tls_port/m" "${auth[@]}" --allow-unsigned)
  awk "BEGIN{exit !($s < $best_repush)}" && best_repush=$s
done

# --- pull: airlock serve vs docker-registry ----------------------------------
serve_port=$(free_port)
"$airlock" --quiet serve "$work/push.airlock" --listen "127.0.0.1:$serve_port" --allow-unsigned >/dev/null 2>&1 &
serve_pid=$!; pids+=("$serve_pid")
wait_port "$serve_port"
plain_port=$(free_port)
rm -rf "$work/plain-reg"; mkdir -p "$work/plain-reg"
printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s/data}}\nhttp: {addr: 127.0.0.1:%s}\n' "$work/plain-reg" "$plain_port" > "$work/plain-reg/config.yml"
docker-registry serve "$work/plain-reg/config.yml" >/dev/null 2>&1 &
pids+=("$!")
wait_port "$plain_port"
# Same names as airlock serve gives them (localhost/src-layout:TAG).
for t in app1 app2; do skopeo copy --quiet --dest-tls-verify=false "oci:$work/src-layout:$t" "docker://127.0.0.1:$plain_port/src-layout:$t"; done
pull() { # host: pulls both images to a fresh layout
  rm -rf "$work/pulled"
  # The previous pull's writeback would otherwise land in this one.
  sync
  cat > "$work/pull.sh" <<SH
set -e
for t in app1 app2; do skopeo copy --quiet --src-tls-verify=false docker://$1/src-layout:\$t oci:$work/pulled:\$t; done
SH
  timed bash "$work/pull.sh"
}
best_serve=999; best_reg=999; pull_ratios=()
for _ in $(seq "$runs"); do
  read -r s _ < <(pull "127.0.0.1:$serve_port"); awk "BEGIN{exit !($s < $best_serve)}" && best_serve=$s
  read -r r _ < <(pull "127.0.0.1:$plain_port"); awk "BEGIN{exit !($r < $best_reg)}" && best_reg=$r
  pull_ratios+=("$(ratio "$r" "$s")")
done
serve_rss=$(awk '/VmHWM/{print int($2/1024)}' /proc/$serve_pid/status)

echo
echo "best of $runs runs"
echo
printf '%-52s %8s %10s %s\n' measure seconds "peak RSS" note
echo "$two_rows"
echo "$several_rows"
printf '%-52s %8s %10s %s\n' "airlock re-push, unchanged bundle of $many_blobs blobs" "$best_repush" "" "(goal < 1 s)"
printf '%-52s %8s %6s MiB %s\n' "skopeo pull x2 from airlock serve" "$best_serve" "$serve_rss" "$(ratio "$best_reg" "$best_serve")x the speed of docker-registry (goal >= 1)"
printf '%-52s %8s\n' "skopeo pull x2 from docker-registry" "$best_reg"
printf '%-52s %8s %10s %s\n' "pull speed ratio of each run's pair (median)" "" "" "$(printf '%sx ' "${pull_ratios[@]}")(median $(median "${pull_ratios[@]}")x)"
