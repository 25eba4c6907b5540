#!/usr/bin/env bash
# Runs the built-in demo end to end, offline, as a release engineer and a
# field technician would: builds airlock, generates the demo image, then
#   connected side: key, create (signed), inspect (and its HTML report),
#                   verify, split onto a "stick" with a file size limit;
#   inside the gap: copy off the stick (verified), verify, review what 1.1
#                   changes (diff), install onto an edge node root (--k3s),
#                   upgrade to 1.1, look at the history, roll back to 1.0.
# Everything is written under ./demo-out/ (the node root is
# demo-out/edge-node); nothing outside it is touched. About a minute on
# 2 cores once airlock is built.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "error: cargo is needed (https://rustup.rs)" >&2; exit 1; }
cargo build --release --quiet
airlock=./target/release/airlock
mkdir -p demo-out
rm -rf bundles/demo/images/demo-hello demo-out/exported demo-out/usb demo-out/stick demo-out/edge-node
scripts/make-demo-image.sh bundles/demo/images/demo-hello >/dev/null
export AIRLOCK_CACHE_DIR=$PWD/demo-out/cache
export AIRLOCK_PASSWORD=demo-only-password   # a real release key gets a real password
rm -f demo-out/release.key demo-out/release.pub
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "On the connected host: a signing key, and the bundle"
set -x
$airlock key generate --output-key-prefix demo-out/release
$airlock create bundles/demo/airlock.yaml -o demo-out/demo-1.0.0.airlock --sign-key demo-out/release.key
$airlock inspect demo-out/demo-1.0.0.airlock --html demo-out/demo-1.0.0.html
$airlock verify demo-out/demo-1.0.0.airlock --key demo-out/release.pub
# The chart as Helm would render it (the images it runs were found this way at create).
$airlock template charts/demo -f bundles/demo/values-site.yaml --name demo --namespace demo >/dev/null
{ set +x; } 2>/dev/null

step "Onto a stick that takes files of 256 KiB at most"
set -x
$airlock split demo-out/demo-1.0.0.airlock --max-part-size 256KiB -o demo-out/usb
{ set +x; } 2>/dev/null

step "Inside the air gap: off the stick, checked, onto an edge node"
set -x
$airlock copy demo-out/usb demo-out/stick
$airlock verify demo-out/stick --key demo-out/release.pub
$airlock export demo-out/stick localhost/demo-hello:1.0.0 --oci-layout demo-out/exported --key demo-out/release.pub
$airlock install demo-out/stick --k3s --root demo-out/edge-node --key demo-out/release.pub
{ set +x; } 2>/dev/null
find demo-out/edge-node -type f -not -path '*/var/lib/airlock/*' | sort

step "Release 1.1: what it changes, then upgrade, history, roll back"
set -x
$airlock create bundles/demo/airlock-1.1.yaml -o demo-out/demo-1.1.0.airlock --sign-key demo-out/release.key
$airlock diff demo-out/demo-1.0.0.airlock demo-out/demo-1.1.0.airlock
$airlock upgrade demo-out/demo-1.1.0.airlock --k3s --root demo-out/edge-node --key demo-out/release.pub
$airlock history demo --k3s --root demo-out/edge-node
$airlock rollback demo --k3s --root demo-out/edge-node
$airlock history demo --k3s --root demo-out/edge-node
{ set +x; } 2>/dev/null
step "Done: the bundle, its HTML report (demo-out/demo-1.0.0.html) and the node root are in demo-out/"
