#!/usr/bin/env bash
# Benchmark of issue 24 (scale): how airlock's cost grows with the number of
# images and with bytes, beside the best peer, on synthetic images
# (bench/scale_images.py) held in one OCI layout.
#
#   bench/scale.sh            # COUNTS="10 100 1000": small images (a shared
#                             # 64 KiB base layer and a tiny layer each)
#   bench/scale.sh --large    # 4 images of 5 large random layers, some shared:
#                             # LARGE_GB (default 20) of distinct blobs, less
#                             # when the disk cannot hold it (below)
#
# airlock: create (from the layout, empty cache), inspect, verify, split (4
# parts), push (into a loopback registry, plain HTTP, emptied first),
# install --k3s --root (the images tarball for amd64). Peers: the create and
# push a user's script would run without airlock, one invocation per image
# (no peer reads a multi-image layout in one call; crane cannot pick an
# image out of one), then, for create, one tar of what they wrote:
#   create  regctl image copy ocidir://LAYOUT:imgI ocidir://OUT:imgI, and
#           skopeo copy oci:LAYOUT:imgI oci:OUT:imgI; then tar -cf + sync of
#           the tar (airlock fsyncs its bundle). Both at every count
#           (CREATE_PEERS="regctl skopeo"): neither is fastest everywhere
#           (regctl's time grows with the square of the count: 35 min at
#           1,000 images). Sequential only: two at once into one layout race
#           on its index.json.
#   push    regctl image copy ocidir://LAYOUT:imgI REG/scale/layout:imgI, or
#           skopeo copy oci:... docker://..., one after another or two at a
#           time (xargs -P2), into the repository airlock pushes to. The
#           counts run first times these four once at PICK_COUNT (100)
#           images and keeps the fastest as "the best peer" (PEER_PUSH and
#           PUSH_JOBS skip the pick); --large takes the counts run's pick.
# A floor row for create: tar of the layout itself, + sync; with --large
# one for push too (floor_push_script).
#
# Each step: seconds, peak RSS (/usr/bin/time's %M: the largest process),
# the most files one process held open at once (sampled from /proc every
# 10 ms, so 0 for what ends sooner), the bytes it moved (the bundle; the
# peers' tar or layout) and the 1-minute load average when it started.
# Every step waits for a `sync` first. Registry: REGISTRY (default the CNCF
# distribution v3 of scripts/build-tools.sh peers when built, else Debian's
# docker-registry). Writes target/bench/scale/scale.tsv (counts) and
# target/bench/scale-large/large.tsv, and, when matplotlib can be installed
# into target/venv, target/bench/scale/scale.png from whichever exist (time
# and RSS against image count, airlock solid and the peer dashed; time
# against bytes with the large set; BENCHMARKS.md shows a copy,
# docs/bench/scale.png).
#
# Disk (--large): at most three copies of the set at once. The peers run
# first, from the layout (their output and tar: three copies); then airlock
# create (layout, cache, bundle: three), then, once the cache and bundle
# are gone, create --no-cache (layout and bundle: two), after which the
# layout goes, and each later step's output is deleted after it (parts,
# registry storage, node root): two at most. Before each step the script
# stops with a message when the step's output would leave less than
# MARGIN_GB (default 5) free; the set is sized to pass those checks
# (LARGE_GB, or what fits: (free - margin - 1 GB) / 3).
set -euo pipefail
source "$(dirname "$0")/common.sh"
export PATH=$root/target/tools/bin:$PATH REGCTL_CONFIG=$work/regctl.json
large=0
[ "${1:-}" = --large ] && large=1
limit=${STEP_LIMIT:-3600} # seconds any one step may take
GB=1000000000
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

if [ -n "${REGISTRY:-}" ]; then registry_bin=$REGISTRY
elif command -v distribution-registry >/dev/null; then registry_bin=distribution-registry
else registry_bin=docker-registry; fi

if [ "$large" = 1 ]; then dir=$work/scale-large; else dir=$work/scale; fi
rm -rf "$dir"; mkdir -p "$dir"

# Seconds, peak RSS (KiB) and the most files one process of the command
# held open (its own session, so a script's children count too).
measure() {
  sync
  local start=$SECONDS
  setsid /usr/bin/time -f "%e %M" -o "$dir/time.out" "$@" >/dev/null 2>"$dir/cmd.err" &
  local timer=$! most=0 n p
  while kill -0 "$timer" 2>/dev/null; do
    if ((SECONDS - start > limit)); then
      kill -- "-$timer" 2>/dev/null || true
      echo "stopped after ${limit} s: $*" >&2; exit 1
    fi
    for p in $(pgrep -s "$timer" || true); do
      [ "$p" = "$timer" ] && continue
      n=$(ls "/proc/$p/fd" 2>/dev/null | wc -l)
      [ "$n" -gt "$most" ] && most=$n
    done
    sleep 0.01
  done
  wait "$timer" || { cat "$dir/cmd.err" >&2; exit 1; }
  echo "$(cat "$dir/time.out") $most"
}

free_bytes() { df -B1 --output=avail "$dir" | tail -1; }
margin=$((${MARGIN_GB:-5} * GB)) # left free after every step
room() { # STEP BYTES: stop unless the step leaves the margin free
  local free; free=$(free_bytes)
  if [ $((free - $2)) -lt "$margin" ]; then
    echo "scale.sh: stopping before $1: $((free / GB)) GB free on $(df --output=target "$dir" | tail -1), the step writes $(($2 / GB)) GB (needs $((margin / GB)) GB left after)" >&2
    exit 1
  fi
}

port=$(free_port)
reg=127.0.0.1:$port
printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s/registry}, delete: {enabled: true}}\nhttp: {addr: %s}\n' "$dir" "$reg" > "$dir/registry.yml"
registry=
start_registry() { # with empty storage
  stop_registry
  rm -rf "$dir/registry"; sync
  "$registry_bin" serve "$dir/registry.yml" >/dev/null 2>&1 &
  registry=$!; pids+=("$registry")
  wait_port "$port"
}
stop_registry() {
  [ -n "$registry" ] || return 0
  kill "$registry"; wait "$registry" 2>/dev/null || true
  registry=
  rm -rf "$dir/registry"
}

# Peer scripts for the set in $1 (N images): create into $1/peer-out + tar,
# push of each image.
peer_create_script() { # TOOL SET N
  local t=$1 s=$2 n=$3 i
  { echo "set -e"
    for ((i = 0; i < n; i++)); do
      case $t in
        regctl) echo "regctl image copy ocidir://$s/layout:img$i ocidir://$s/peer-out:img$i" ;;
        skopeo) echo "skopeo copy --quiet oci:$s/layout:img$i oci:$s/peer-out:img$i" ;;
      esac
    done
    echo "tar -C '$s/peer-out' -cf '$s/peer.tar' ."
    echo "sync '$s/peer.tar'"; } > "$s/peer-create-$t.sh"
  echo "$s/peer-create-$t.sh"
}
peer_push_script() { # TOOL JOBS SET N
  local t=$1 j=$2 s=$3 n=$4 cmd
  case $t in
    regctl) cmd="regctl --host reg=$reg,tls=disabled image copy ocidir://$s/layout:img{} $reg/scale/layout:img{}" ;;
    skopeo) cmd="skopeo copy --quiet --dest-tls-verify=false oci:$s/layout:img{} docker://$reg/scale/layout:img{}" ;;
  esac
  if [ "$j" = 1 ]; then
    { echo "set -e"; for ((i = 0; i < n; i++)); do echo "${cmd//\{\}/$i}"; done; } > "$s/peer-push-$t-1.sh"
  else
    printf 'set -e\nseq 0 %s | xargs -P%s -I{} %s\n' "$((n - 1))" "$j" "$cmd" > "$s/peer-push-$t-$j.sh"
  fi
  echo "$s/peer-push-$t-$j.sh"
}
# Floor for push (--large): every distinct blob of the layout uploaded at
# once (POST, then one PUT streaming the file; no HEAD checks), then every
# manifest at once: what moving the bytes into the registry costs with no
# tool logic.
floor_push_script() { # SET
  local s=$1
  python3 - "$s/layout" "$reg" > "$s/floor-push.sh" <<'PY'
import json, os, sys
lay, reg = sys.argv[1:]
b = lambda dg: os.path.join(lay, "blobs", *dg.split(":"))
blobs, manifests = {}, []
for m in json.load(open(os.path.join(lay, "index.json")))["manifests"]:
    man = json.load(open(b(m["digest"])))
    for x in [man["config"]] + man["layers"]:
        blobs[x["digest"]] = b(x["digest"])
    manifests.append((m["annotations"]["org.opencontainers.image.ref.name"], m["digest"], m["mediaType"]))
base = f"http://{reg}/v2/scale/layout"
print("set -e")
print(f"""up() {{
  loc=$(curl -sf -X POST -D - -o /dev/null {base}/blobs/uploads/ | tr -d '\\r' | awk 'tolower($1) == "location:" {{print $2}}')
  case $loc in http*) ;; *) loc=http://{reg}$loc ;; esac
  case $loc in *\\?*) sep='&' ;; *) sep='?' ;; esac
  curl -sf -H 'Expect:' -o /dev/null -H 'Content-Type: application/octet-stream' -T "$2" "$loc${{sep}}digest=$1"
}}""")
print("pids=()")
for d, f in blobs.items():
    print(f"up {d} {f} & pids+=($!)")
print('for p in "${pids[@]}"; do wait "$p"; done; pids=()')
for tag, d, mt in manifests:
    print(f"curl -sf -o /dev/null -X PUT -H 'Content-Type: {mt}' -T {b(d)} {base}/manifests/{tag} & pids+=($!)")
print('for p in "${pids[@]}"; do wait "$p"; done')
PY
  echo "$s/floor-push.sh"
}
layout_bytes() { du -sb --apparent-size "$1/layout/blobs" | cut -f1; }

create_peers=${CREATE_PEERS:-regctl skopeo}
load1() { cut -d' ' -f1 /proc/loadavg; }
tsv=$dir/$([ "$large" = 1 ] && echo large || echo scale).tsv
printf 'images\ttool\tstep\tseconds\trss_kib\topen_files\tbytes\tload1\n' > "$tsv"
# Measures one step into the table: IMAGES TOOL STEP BYTES-FILE-OR-NUMBER CMD...
step() {
  local n=$1 tool=$2 name=$3 what=$4 l r bytes; shift 4
  l=$(load1)
  r=$(measure "$@")
  if [ -e "$what" ]; then bytes=$(stat -c %s "$what"); else bytes=$what; fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$tool" "$name" "$(echo "$r" | tr ' ' '\t')" "$bytes" "$l" >> "$tsv"
  printf '  %-6s %-10s %-14s %s\n' "$n" "$tool" "$name" "$r" >&2
}

echo "scale.sh: $(date -u +%FT%TZ), $(git rev-parse --short HEAD), registry $registry_bin, load $(cut -d' ' -f1-3 /proc/loadavg), $(($(free_bytes) / GB)) GB free" >&2

if [ "$large" = 0 ]; then
  # --- the pick: every candidate once at PICK_COUNT images ---
  pick=${PICK_COUNT:-100}
  if [ -z "${PEER_PUSH:-}" ]; then
    s=$dir/pick; python3 bench/scale_images.py "$s" "$pick"
    printf 'step\tcandidate\tseconds\n' > "$dir/pick.tsv"
    for t in regctl skopeo; do
      for j in 1 2; do
        start_registry
        r=$(measure bash "$(peer_push_script "$t" "$j" "$s" "$pick")")
        printf 'push\t%s -P%s\t%s\n' "$t" "$j" "${r%% *}" >> "$dir/pick.tsv"
      done
    done
    stop_registry; rm -rf "$s"
    echo "the pick, at $pick images (seconds):" >&2; column -t -s $'\t' "$dir/pick.tsv" >&2
    best() { awk -F'\t' -v s="$1" '$1 == s && (b == "" || $3 < m) { m = $3; b = $2 } END { print b }' "$dir/pick.tsv"; }
    p=$(best push); PEER_PUSH=${p% -P*}; PUSH_JOBS=${p##*-P}
  fi
  jobs=${PUSH_JOBS:-1}
  push_label=$PEER_PUSH; [ "$jobs" = 1 ] || push_label="$PEER_PUSH -P$jobs"
  printf 'push\t%s\t%s\n' "$PEER_PUSH" "$jobs" > "$dir/peers.tsv"
  echo "best push peer: $PEER_PUSH (${jobs} at a time); create peers: $create_peers" >&2

  for n in ${COUNTS:-10 100 1000}; do
    s=$dir/n$n
    python3 bench/scale_images.py "$s" "$n"
    bundle=$s/scale.airlock
    step "$n" airlock create "$bundle" bash -c 'cd "$1" && shift && exec "$@"' _ "$s" \
      "$airlock" create airlock.yaml -o "$bundle" --cache-dir "$s/cache"
    step "$n" airlock inspect "$bundle" "$airlock" inspect "$bundle"
    step "$n" airlock verify "$bundle" "$airlock" verify "$bundle" --allow-unsigned
    part=$(($(stat -c %s "$bundle") / 4 + 1)); [ "$part" -ge 65536 ] || part=65536
    step "$n" airlock split "$bundle" "$airlock" split "$bundle" --max-part-size "$part" -o "$s/parts"
    start_registry
    step "$n" airlock push "$bundle" "$airlock" push "$bundle" --registry "$reg/scale" --plain-http --allow-unsigned
    start_registry
    step "$n" "$push_label" push "$(layout_bytes "$s")" bash "$(peer_push_script "$PEER_PUSH" "$jobs" "$s" "$n")"
    stop_registry
    step "$n" airlock "install --k3s" "$bundle" "$airlock" install "$bundle" --k3s --root "$s/node" --platform linux/amd64 --allow-unsigned
    for t in $create_peers; do
      step "$n" "$t" create "$s/peer.tar" bash "$(peer_create_script "$t" "$s" "$n")"
      rm -rf "$s/peer-out" "$s/peer.tar"
    done
    step "$n" floor create "$s/floor.tar" bash -c 'tar -C "$1" -cf "$2" . && sync "$2"' _ "$s/layout" "$s/floor.tar"
    rm -rf "$s/cache" "$s/node" "$s/parts" "$s/peer-out" "$s/peer.tar" "$s/floor.tar"
  done
else
  # --- the large set ---
  if [ -f "$work/scale/peers.tsv" ]; then
    PEER_PUSH=${PEER_PUSH:-$(awk '$1 == "push" { print $2 }' "$work/scale/peers.tsv")}
    PUSH_JOBS=${PUSH_JOBS:-$(awk '$1 == "push" { print $3 }' "$work/scale/peers.tsv")}
  fi
  PEER_PUSH=${PEER_PUSH:-regctl} jobs=${PUSH_JOBS:-1}
  push_label=$PEER_PUSH; [ "$jobs" = 1 ] || push_label="$PEER_PUSH -P$jobs"
  free=$(free_bytes)
  want=${LARGE_BYTES:-$((${LARGE_GB:-20} * GB))}
  fit=$(((free - margin - GB) / 3 / GB * GB)) # three copies at once, and a GB for the rest
  total=$want
  if [ "$fit" -lt "$want" ]; then
    total=$fit
    echo "scale.sh: $((free / GB)) GB free: the large set is $((total / GB)) GB, not $((want / GB))" >&2
  fi
  [ "$total" = "$want" ] || [ "$total" -ge $((1 * GB)) ] || { echo "scale.sh: too little disk for the large set ($((free / GB)) GB free)" >&2; exit 1; }
  s=$dir/set; n=4
  room "generate" "$total"
  t0=$SECONDS
  "$root/target/venv/bin/python" bench/scale_images.py --large "$s" "$total"
  echo "generated $(($(layout_bytes "$s") / 1000000)) MB in $((SECONDS - t0)) s" >&2
  # Peers and the floor first, while the layout is there.
  for t in $create_peers; do
    room "$t create" $((2 * total))
    step "$n" "$t" create "$s/peer.tar" bash "$(peer_create_script "$t" "$s" "$n")"
    rm -rf "$s/peer-out" "$s/peer.tar"
  done
  room "floor" "$total"
  step "$n" floor create "$s/floor.tar" bash -c 'tar -C "$1" -cf "$2" . && sync "$2"' _ "$s/layout" "$s/floor.tar"
  rm -f "$s/floor.tar"
  room "$PEER_PUSH push" "$total"
  start_registry
  step "$n" "$push_label" push "$(layout_bytes "$s")" bash "$(peer_push_script "$PEER_PUSH" "$jobs" "$s" "$n")"
  room "floor push" "$total"
  start_registry
  step "$n" floor push "$(layout_bytes "$s")" bash "$(floor_push_script "$s")"
  stop_registry
  bundle=$s/scale.airlock
  room create $((2 * total))
  step "$n" airlock create "$bundle" bash -c 'cd "$1" && shift && exec "$@"' _ "$s" \
    "$airlock" create airlock.yaml -o "$bundle" --cache-dir "$s/cache"
  rm -rf "$s/cache" "$bundle"
  room "create --no-cache" "$total"
  step "$n" airlock "create --no-cache" "$bundle" bash -c 'cd "$1" && shift && exec "$@"' _ "$s" \
    "$airlock" create airlock.yaml -o "$bundle" --no-cache
  rm -rf "$s/layout"
  room inspect 0
  step "$n" airlock inspect "$bundle" "$airlock" inspect "$bundle"
  room verify 0
  step "$n" airlock verify "$bundle" "$airlock" verify "$bundle" --allow-unsigned
  room split "$total"
  step "$n" airlock split "$bundle" "$airlock" split "$bundle" --max-part-size $(($(stat -c %s "$bundle") / 4 + 1)) -o "$s/parts"
  rm -rf "$s/parts"
  room push "$total"
  start_registry
  step "$n" airlock push "$bundle" "$airlock" push "$bundle" --registry "$reg/scale" --plain-http --allow-unsigned
  stop_registry
  room "install --k3s" "$total"
  step "$n" airlock "install --k3s" "$bundle" "$airlock" install "$bundle" --k3s --root "$s/node" --platform linux/amd64 --allow-unsigned
  rm -rf "$s"
fi
echo "done: load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

printf '%-6s %-10s %-14s %8s %8s %6s %9s %6s\n' images tool step seconds "RSS MiB" files "MB/s" load
tail -n +2 "$tsv" | while IFS=$'\t' read -r n tool name sec rss files bytes l; do
  printf '%-6s %-10s %-14s %8s %8s %6s %9s %6s\n' "$n" "$tool" "$name" "$sec" "$((rss / 1024))" "$files" \
    "$(awk -v b="$bytes" -v s="$sec" 'BEGIN { if (s > 0) printf "%.0f", b / s / 1e6; else print "-" }')" "$l"
done

if "$root/target/venv/bin/python" -c 'import matplotlib' 2>/dev/null \
  || "$root/target/venv/bin/pip" install --quiet matplotlib >/dev/null 2>&1; then
  "$root/target/venv/bin/python" - "$work/scale/scale.tsv" "$work/scale-large/large.tsv" "$work/scale/scale.png" <<'PY'
import csv, os, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
read = lambda p: list(csv.DictReader(open(p), delimiter="\t")) if os.path.exists(p) else []
rows, large = read(sys.argv[1]), read(sys.argv[2])
steps = ["create", "create --no-cache", "inspect", "verify", "split", "push", "install --k3s"]
colour = {s: f"C{i}" for i, s in enumerate(steps)}
fig, axes = plt.subplots(1, 3 if large else 2, figsize=(15 if large else 10, 4.5))
t, m = axes[0], axes[1]
sec = lambda r: max(float(r["seconds"]), 0.005)  # a log scale has no zero: under 10 ms drawn at 5 ms
for step in steps:
    for tool_is_airlock in (True, False):
        mine = [r for r in rows if r["step"] == step and (r["tool"] == "airlock") == tool_is_airlock and r["tool"] != "floor"]
        for tool in sorted({r["tool"] for r in mine}, key=[r["tool"] for r in mine].index):
            own = [r for r in mine if r["tool"] == tool]
            style = dict(marker="o" if tool_is_airlock else {"skopeo": "s"}.get(tool, "x"),
                         color=colour[step], linestyle="-" if tool_is_airlock else "--")
            label = f"{step} ({tool})"
            counts = [int(r["images"]) for r in own]
            t.plot(counts, [sec(r) for r in own], label=label, **style)
            m.plot(counts, [int(r["rss_kib"]) / 1024 for r in own], label=label, **style)
for axis, label in ((t, "seconds"), (m, "peak RSS (MiB)")):
    axis.set_xscale("log"); axis.set_xlabel("images"); axis.set_ylabel(label); axis.grid(True, alpha=0.3)
t.set_yscale("log"); t.legend(fontsize=7); t.set_title("time (airlock solid, peers dashed)", fontsize=9)
m.axhline(64, color="grey", linestyle=":"); m.set_title("peak RSS (goal: under 64 MiB)", fontsize=9)
if large:  # the large set: MB/s of each step, airlock and the peers
    b = axes[2]
    shown = sorted((r for r in large if r["step"] != "inspect"),
                   key=lambda r: (steps.index(r["step"]), r["tool"] != "airlock"))
    labels = [f'{r["step"]} ({r["tool"]})' for r in shown]
    rates = [int(r["bytes"]) / max(float(r["seconds"]), 0.01) / 1e6 for r in shown]
    bars = b.barh(range(len(shown)), rates, color=[colour.get(r["step"], "grey") for r in shown])
    for bar, r in zip(bars, shown):
        if r["tool"] != "airlock":
            bar.set_hatch("//"); bar.set_alpha(0.6)
        b.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f' {int(r["rss_kib"]) // 1024} MiB',
               va="center", fontsize=7)
    b.set_xlim(right=max(rates) * 1.2)
    b.set_yticks(range(len(shown)), labels, fontsize=7); b.invert_yaxis()
    b.set_xlabel("MB/s"); b.grid(True, axis="x", alpha=0.3)
    gb = max(int(r["bytes"]) for r in large) / 1e9
    b.set_title(f"large set: 4 images, {gb:.1f} GB; peers hatched; peak RSS", fontsize=9)
fig.suptitle("airlock and the peers at 10, 100 and 1,000 images" + (", and a large set" if large else "") + " (bench/scale.sh)")
fig.tight_layout(); fig.savefig(sys.argv[3], dpi=90)
PY
  echo "plot: $work/scale/scale.png"
else
  echo "no plot: matplotlib could not be installed into target/venv"
fi
