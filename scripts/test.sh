#!/usr/bin/env bash
# Sets up everything the tests need on a fresh Debian machine and runs the
# whole suite: formatting and lint gates, unit tests, and integration tests
# against real components started by the tests (docker-registry, skopeo,
# containerd, a Kubernetes control plane of etcd, kube-apiserver,
# controller manager, scheduler and kwok, and the CNCF distribution v3
# registry, built from Go modules by scripts/build-tools.sh with Helm,
# helm-controller and cosign: about 20 minutes the first time on 2 cores,
# cached by version afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build-tools.sh
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --no-fail-fast 2>&1
