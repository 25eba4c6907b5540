#!/usr/bin/env bash
# Where docker-registry spends its CPU while airlock pushes into it, by
# function: the evidence behind the "registry CPU" bound in BENCHMARKS.md.
#
#   bench/registry_profile.sh [BUNDLE]   # default: the 5-image bench bundle
#
# Run bench/push_serve.sh once first: it builds the bench bundles.
source "$(dirname "$0")/common.sh"
source bench/tls_registry.sh
bundle=${1:-$work/several.airlock}
[ -f "$bundle" ] || { echo "there is no bundle at $bundle: run bench/push_serve.sh first, it builds it" >&2; exit 1; }
command -v perf >/dev/null || apt-get install -y -qq linux-perf >/dev/null

start_tls_registry
perf record -F 2000 -p "$tls_pid" -o "$work/registry.perf" >/dev/null 2>&1 &
perf_pid=$!
sleep 0.5 # perf attaches
cpu0=$(registry_cpu)
/usr/bin/time -f "%e %U %S" -o "$work/time.out" "$airlock" --quiet push "$bundle" --registry "127.0.0.1:$tls_port/a" "${auth[@]}" --allow-unsigned >/dev/null 2>&1
read -r wall user sys < "$work/time.out"
echo "push: $wall s; airlock CPU $(awk "BEGIN{print $user + $sys}") s, registry CPU $(awk "BEGIN{print $(registry_cpu) - $cpu0}") s"
kill -INT "$perf_pid"; wait "$perf_pid" || true
perf script -i "$work/registry.perf" -F ip,dso 2>/dev/null > "$work/registry.samples"
echo "docker-registry's CPU samples by function:"
python3 bench/go_profile.py "$(command -v docker-registry)" "$work/registry.samples"
