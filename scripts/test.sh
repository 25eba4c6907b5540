#!/usr/bin/env bash
# Sets up everything the tests need on a fresh Debian machine and runs the
# whole suite: formatting and lint gates, unit tests, and integration tests
# against real components (docker-registry, skopeo) started by the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --no-fail-fast 2>&1
