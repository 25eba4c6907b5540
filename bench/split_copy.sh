#!/usr/bin/env bash
# Benchmark for issue "USB transfer": split and copy throughput of airlock
# against `split -b` and `cp` of the same bundle, in the same run.
#
#   bench/split_copy.sh        # prints seconds, MB/s and ratios (best of RUNS, default 3)
#
# airlock hashes each part (sha256 in its header) while it splits, checks
# those hashes while it copies parts (a whole bundle's copy checks every
# blob digest instead), and fsyncs what it writes; the peers only move
# bytes, so `sync` is timed with them. The bundle is the one bench/create_verify.sh
# makes (target/bench/big.airlock, 1.1 GB), or push.airlock (361 MB).
source "$(dirname "$0")/common.sh"
runs=${RUNS:-3}
bundle=$work/big.airlock
[ -f "$bundle" ] || bundle=$work/push.airlock
[ -f "$bundle" ] || { echo "run bench/create_verify.sh first (it makes $work/big.airlock)"; exit 1; }
size=$(stat -c %s "$bundle")
out=$work/split-copy
best() { sort -n | head -1; }
secs() { /usr/bin/time -f "%e" -o "$work/t" "$@" >/dev/null 2>"$work/cmd.err" || { cat "$work/cmd.err"; exit 1; }; cat "$work/t"; }

airlock_split=$(for _ in $(seq "$runs"); do rm -rf "$out"; secs "$airlock" --quiet split "$bundle" --max-part-size 256MiB -o "$out/a"; done | best)
peer_split=$(for _ in $(seq "$runs"); do rm -rf "$out"; mkdir -p "$out/p"; secs bash -c "split -b 256M '$bundle' '$out/p/part.' && sync"; done | best)
rm -rf "$out"; "$airlock" --quiet split "$bundle" --max-part-size 256MiB -o "$out/a" >/dev/null
airlock_copy=$(for _ in $(seq "$runs"); do rm -rf "$out/stick"; secs "$airlock" --quiet copy "$out/a" "$out/stick"; done | best)
peer_copy=$(for _ in $(seq "$runs"); do rm -rf "$out/stick"; secs bash -c "cp -r '$out/a' '$out/stick' && sync"; done | best)
airlock_whole=$(for _ in $(seq "$runs"); do rm -rf "$out/stick"; secs "$airlock" --quiet copy "$bundle" "$out/stick"; done | best)
peer_whole=$(for _ in $(seq "$runs"); do rm -rf "$out/stick"; mkdir -p "$out/stick"; secs bash -c "cp '$bundle' '$out/stick/' && sync"; done | best)
rm -rf "$out"

mbs() { awk "BEGIN{printf \"%.0f\", $size/1e6/$1}"; }
ratio() { awk "BEGIN{printf \"%.2f\", $1/$2}"; }
echo
echo "bundle: $(basename "$bundle"), $((size / 1000000)) MB; best of $runs; parts of 256 MiB"
printf '%-50s %8s %8s %s\n' measure seconds MB/s note
printf '%-50s %8s %8s %s\n' "airlock split (sha256 of each part, fsyncs)" "$airlock_split" "$(mbs "$airlock_split")" "$(ratio "$airlock_split" "$peer_split")x the peer's time (goal <= 1.2x)"
printf '%-50s %8s %8s\n' "split -b + sync" "$peer_split" "$(mbs "$peer_split")"
printf '%-50s %8s %8s %s\n' "airlock copy of the parts (checks sha256, fsyncs)" "$airlock_copy" "$(mbs "$airlock_copy")" "$(ratio "$airlock_copy" "$peer_copy")x the peer's time (goal <= 1.2x)"
printf '%-50s %8s %8s\n' "cp -r + sync" "$peer_copy" "$(mbs "$peer_copy")"
printf '%-50s %8s %8s %s\n' "airlock copy of the whole bundle (checks blobs)" "$airlock_whole" "$(mbs "$airlock_whole")" "$(ratio "$airlock_whole" "$peer_whole")x the peer's time (goal <= 1.2x)"
printf '%-50s %8s %8s\n' "cp + sync" "$peer_whole" "$(mbs "$peer_whole")"
