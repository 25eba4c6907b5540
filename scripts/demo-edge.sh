#!/usr/bin/env bash
# Provisions a pretend edge node under ./demo-out/edge-node from the
# bundles/edge-k3s bundle, offline: create (signed), install --k3s, upgrade
# to 1.1, roll back to 1.0, history. Nothing outside ./demo-out is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
airlock=./target/release/airlock
mkdir -p demo-out
[ -f bundles/demo/images/demo-hello/index.json ] || scripts/make-demo-image.sh bundles/demo/images/demo-hello >/dev/null
export AIRLOCK_CACHE_DIR=$PWD/demo-out/cache
export AIRLOCK_PASSWORD=demo-only-password   # a real release key gets a real password
[ -f demo-out/release.key ] || $airlock key generate --output-key-prefix demo-out/release
set -x
$airlock create bundles/edge-k3s/airlock.yaml -o demo-out/edge-site-1.0.0.airlock --sign-key demo-out/release.key
$airlock create bundles/edge-k3s/airlock-1.1.yaml -o demo-out/edge-site-1.1.0.airlock --sign-key demo-out/release.key
rm -rf demo-out/edge-node
$airlock install demo-out/edge-site-1.0.0.airlock --k3s --root demo-out/edge-node --key demo-out/release.pub
$airlock upgrade demo-out/edge-site-1.1.0.airlock --k3s --root demo-out/edge-node --key demo-out/release.pub
$airlock rollback edge-site --k3s --root demo-out/edge-node
$airlock history edge-site --k3s --root demo-out/edge-node
find demo-out/edge-node -type f -not -path '*/var/lib/airlock/*' | sort
