# Sourced by the benchmarks: installs what they need, builds airlock, and
# defines the helpers both use. Sets $root, $work and $airlock.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
work=$root/target/bench
mkdir -p "$work"
scripts/install-deps.sh
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
cargo build --release --quiet
airlock=$root/target/release/airlock

source bench/helpers.sh
timed() { # prints "seconds peak_rss_kib" of a command
  /usr/bin/time -f "%e %M" -o "$work/time.out" "$@" >/dev/null 2>"$work/cmd.err" || { cat "$work/cmd.err" >&2; exit 1; }
  cat "$work/time.out"
}
