#!/usr/bin/env bash
# Benchmark of issue 24 (scale): how airlock's cost grows with the number of
# images, on synthetic images (bench/scale_images.py: one shared 64 KiB base
# layer and one tiny layer of its own each, all in one OCI layout).
#
#   bench/scale.sh                  # COUNTS="10 100 1000" by default
#
# For each count: create (from the layout, empty cache), inspect, verify,
# split (into 4 parts), push (into a loopback docker-registry, plain HTTP,
# emptied first), install --k3s --root (the images tarball for amd64):
# seconds, peak RSS (/usr/bin/time's %M) and the most files the process held
# open at once (sampled from /proc every 10 ms, bounded). Prints a table,
# writes target/bench/scale/scale.tsv and, when matplotlib can be installed
# into target/venv, target/bench/scale/scale.png (time and RSS against image
# count; BENCHMARKS.md shows a copy, docs/bench/scale.png).
#
# Not measured here (yet): the 20 GB set of a few large layers, and the
# peers at scale (bench/peers.sh has them on the real-size sets).
set -euo pipefail
source "$(dirname "$0")/common.sh"
counts=${COUNTS:-10 100 1000}
dir=$work/scale
rm -rf "$dir"; mkdir -p "$dir"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# Seconds, peak RSS (KiB) and the most open files of a command.
measure() {
  /usr/bin/time -f "%e %M" -o "$dir/time.out" "$@" >/dev/null 2>"$dir/cmd.err" &
  local timer=$! most=0 n child
  for _ in $(seq 60000); do # at most 10 minutes
    kill -0 "$timer" 2>/dev/null || break
    for child in $(pgrep -P "$timer" || true); do
      n=$(ls "/proc/$child/fd" 2>/dev/null | wc -l)
      [ "$n" -gt "$most" ] && most=$n
    done
    sleep 0.01
  done
  wait "$timer" || { cat "$dir/cmd.err" >&2; exit 1; }
  echo "$(cat "$dir/time.out") $most"
}

port=$(free_port)
printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s/registry}, delete: {enabled: true}}\nhttp: {addr: 127.0.0.1:%s}\n' "$dir" "$port" > "$dir/registry.yml"

printf 'count\tstep\tseconds\trss_kib\topen_files\n' > "$dir/scale.tsv"
for n in $counts; do
  set_dir=$dir/n$n
  python3 bench/scale_images.py "$set_dir" "$n"
  bundle=$set_dir/scale.airlock
  row() { printf '%s\t%s\t%s\n' "$n" "$1" "$(echo "$2" | tr ' ' '\t')" >> "$dir/scale.tsv"; }
  # Each measured into a variable first, so that a failing step stops the run.
  r=$(cd "$set_dir" && measure "$airlock" create airlock.yaml -o "$bundle" --cache-dir "$set_dir/cache"); row create "$r"
  r=$(measure "$airlock" inspect "$bundle"); row inspect "$r"
  r=$(measure "$airlock" verify "$bundle" --allow-unsigned); row verify "$r"
  part=$(( $(stat -c %s "$bundle") / 4 + 1 )); [ "$part" -ge 65536 ] || part=65536
  r=$(measure "$airlock" split "$bundle" --max-part-size "$part" -o "$set_dir/parts"); row split "$r"
  rm -rf "$dir/registry"
  docker-registry serve "$dir/registry.yml" >/dev/null 2>&1 &
  registry=$!; pids+=("$registry")
  wait_port "$port"
  r=$(measure "$airlock" push "$bundle" --registry "127.0.0.1:$port/scale" --plain-http --allow-unsigned); row push "$r"
  kill "$registry"; wait "$registry" 2>/dev/null || true
  r=$(measure "$airlock" install "$bundle" --k3s --root "$set_dir/node" --platform linux/amd64 --allow-unsigned)
  row "install --k3s" "$r"
  rm -rf "$set_dir/cache" "$set_dir/node" "$set_dir/parts"
done

printf '%-6s %-14s %8s %9s %6s\n' images step seconds "RSS MiB" files
tail -n +2 "$dir/scale.tsv" | while IFS=$'\t' read -r n step s rss files; do
  printf '%-6s %-14s %8s %9s %6s\n' "$n" "$step" "$s" "$(( rss / 1024 ))" "$files"
done

if "$root/target/venv/bin/python" -c 'import matplotlib' 2>/dev/null \
  || "$root/target/venv/bin/pip" install --quiet matplotlib >/dev/null 2>&1; then
  "$root/target/venv/bin/python" - "$dir/scale.tsv" "$dir/scale.png" <<'PY'
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
steps = sorted({r["step"] for r in rows}, key=[r["step"] for r in rows].index)
fig, (t, m) = plt.subplots(1, 2, figsize=(10, 4))
for step in steps:
    mine = [r for r in rows if r["step"] == step]
    counts = [int(r["count"]) for r in mine]
    # Under 10 ms is drawn at 5 ms (a log scale has no zero).
    t.plot(counts, [max(float(r["seconds"]), 0.005) for r in mine], marker="o", label=step)
    m.plot(counts, [int(r["rss_kib"]) / 1024 for r in mine], marker="o", label=step)
for axis, label in ((t, "seconds"), (m, "peak RSS (MiB)")):
    axis.set_xscale("log"); axis.set_xlabel("images"); axis.set_ylabel(label); axis.grid(True, alpha=0.3)
t.set_yscale("log"); t.legend(fontsize=8)
fig.suptitle("airlock at 10, 100 and 1,000 images (bench/scale.sh)")
fig.tight_layout(); fig.savefig(sys.argv[2], dpi=90)
PY
  echo "plot: $dir/scale.png"
else
  echo "no plot: matplotlib could not be installed into target/venv"
fi
