#!/usr/bin/env bash
# Runs the built-in demo end to end, offline: builds airlock, generates the
# demo image, creates a bundle, inspects it, verifies it and exports the
# image again. Output goes to ./demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "error: cargo is needed (https://rustup.rs)" >&2; exit 1; }
cargo build --release --quiet
airlock=./target/release/airlock
mkdir -p demo-out
rm -rf bundles/demo/images/demo-hello demo-out/exported demo-out/usb demo-out/stick
scripts/make-demo-image.sh bundles/demo/images/demo-hello >/dev/null
export AIRLOCK_CACHE_DIR=$PWD/demo-out/cache
export AIRLOCK_PASSWORD=demo-only-password   # a real release key gets a real password
rm -f demo-out/release.key demo-out/release.pub
set -x
$airlock key generate --output-key-prefix demo-out/release
$airlock create bundles/demo/airlock.yaml -o demo-out/demo-1.0.0.airlock --sign-key demo-out/release.key
$airlock inspect demo-out/demo-1.0.0.airlock
$airlock verify demo-out/demo-1.0.0.airlock --key demo-out/release.pub
$airlock export demo-out/demo-1.0.0.airlock localhost/demo-hello:1.0.0 --oci-layout demo-out/exported --key demo-out/release.pub
# The chart as Helm would render it (the images it runs were found this way at create).
$airlock template charts/demo -f bundles/demo/values-site.yaml --name demo --namespace demo
# For a stick with a file size limit: parts, copied with verification.
$airlock split demo-out/demo-1.0.0.airlock --max-part-size 256KiB -o demo-out/usb
$airlock copy demo-out/usb demo-out/stick
$airlock verify demo-out/stick --key demo-out/release.pub
