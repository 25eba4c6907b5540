#!/usr/bin/env bash
# Builds the real Kubernetes and ecosystem tools the tests run against, from
# Go modules at pinned versions only (never release binaries, never fetched
# source): each tool's wrapper module in tests/tools/NAME pins it in go.mod
# and go.sum. Binaries are cached outside the clone, keyed by version and
# by the wrapper module's go.mod and go.sum, in
#   ${AIRLOCK_TOOLS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/airlock/tools}/NAME-VERSION-HASH/
# because CI clones afresh each run; Go's own caches are machine-wide.
# target/tools/bin/ gets a symlink per binary: tests and scripts use those.
#
#   scripts/build-tools.sh            # every tool the tests use (what CI builds)
#   scripts/build-tools.sh kubernetes etcd kwok
#   scripts/build-tools.sh peers      # the peers bench/peers.sh compares with (and distribution)
#   scripts/build-tools.sh crane zarf # (peers can be named one by one too)
#
# Cold on 2 cores: kubernetes ~9 min, helm ~4, kwok ~3, cosign ~3, etcd ~30 s,
# helm-controller ~2 min, distribution ~5 (2026-12-07, another build running
# beside). The CNCF distribution v3 registry is installed as
# distribution-registry (not Debian's docker-registry, which is 2.8): the
# tests push cosign v3 referrers into it (tests/it/referrers.rs), and the
# benchmarks push into it too.
#
# The peers (crane, regctl and zarf) are for benchmarks only: no argument
# does not build them, so CI's time is not spent on them. Cold on 2 cores
# (2026-12-07, modules already downloaded, another build running beside):
# zarf ~16 min (10 CPU-min), crane and regctl under 1/2 each.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

# NAME VERSION PACKAGES... (the version must match tests/tools/NAME/go.mod)
tool_list() {
  cat <<'EOF'
kubernetes v1.37.2 k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
etcd v3.7.3 go.etcd.io/etcd/server/v3
kwok v0.8.0 sigs.k8s.io/kwok/cmd/kwok
helm v4.3.2 helm.sh/helm/v4/cmd/helm
cosign v3.1.2 github.com/sigstore/cosign/v3/cmd/cosign
helm-controller v0.17.9 github.com/k3s-io/helm-controller
distribution v3.1.2 github.com/distribution/distribution/v3/cmd/registry
EOF
}
# The same for the benchmarks' peers, built only when asked for by name or
# as the group "peers".
peer_list() {
  cat <<'EOF'
crane v0.22.1 github.com/google/go-containerregistry/cmd/crane
regctl v0.11.7 github.com/regclient/regclient/cmd/regctl
zarf v0.84.0 github.com/zarf-dev/zarf
EOF
}

cache=${AIRLOCK_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/airlock/tools}
bin=$repo/target/tools/bin
mkdir -p "$cache" "$bin"
export CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local

ldflags_for() {
  local name=$1 version=$2
  case $name in
    kubernetes)
      # Without the stamp the API server's /version says v0.0.0, and clients
      # (Helm's kubeVersion checks among them) would see a wrong cluster.
      local v=k8s.io/component-base/version
      local minor=${version#v1.}
      echo "-s -w -X $v.gitVersion=$version -X $v.gitMajor=1 -X $v.gitMinor=${minor%%.*} -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
      ;;
    helm) echo "-s -w -X helm.sh/helm/v4/internal/version.version=$version" ;;
    crane) echo "-s -w -X github.com/google/go-containerregistry/cmd/crane/cmd.Version=$version" ;;
    regctl) echo "-s -w -X github.com/regclient/regclient/internal/version.vcsTag=$version" ;;
    distribution) echo "-s -w -X github.com/distribution/distribution/v3/version.version=$version" ;;
    zarf) echo "-s -w -X github.com/zarf-dev/zarf/src/config.CLIVersion=$version" ;;
    *) echo "-s -w" ;;
  esac
}

# Files a tool needs beside its binary, taken from the same module version.
extras_for() {
  local name=$1 version=$2 out=$3
  case $name in
    etcd) mv "$out/server" "$out/etcd" ;; # go names it after .../server/v3
    distribution) mv "$out/registry" "$out/distribution-registry" ;; # not Debian's docker-registry
    kwok)
      local src
      src=$(cd "$repo/tests/tools/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
      mkdir -p "$out/stages"
      # node: ready at once, then heartbeats; pod: Running/Ready, Jobs complete;
      # volume: claims of StorageClass kwok-volume bind (StatefulSets need it).
      for s in node/fast node/heartbeat pod/fast volume/fast; do
        for f in "$src/kustomize/stage/$s"/*.yaml; do
          [ "$(basename "$f")" = kustomization.yaml ] && continue
          cp "$f" "$out/stages/$(echo "$s" | tr / -)-$(basename "$f")"
        done
      done
      ;;
    helm-controller)
      local src
      src=$(cd "$repo/tests/tools/helm-controller" && go list -m -f '{{.Dir}}' github.com/k3s-io/helm-controller)
      cp -r "$src/manifests" "$out/manifests"
      ;;
  esac
  return 0
}

build_one() {
  local name=$1 version=$2
  shift 2
  # Keyed by the wrapper module too: a changed go.mod or go.sum (another
  # dependency, a replace) is another binary.
  local key
  key=$(cat "$repo/tests/tools/$name/go.mod" "$repo/tests/tools/$name/go.sum" | sha256sum | cut -c1-12)
  local out=$cache/$name-$version-$key
  if [ ! -f "$out/.complete" ]; then
    echo "building $name $version (cached afterwards in $out)" >&2
    local start=$SECONDS tmp
    rm -rf "$out.partial"
    tmp=$out.partial
    mkdir -p "$tmp"
    (cd "$repo/tests/tools/$name" && go mod download && go build -trimpath -pgo=off \
      -ldflags "$(ldflags_for "$name" "$version")" -o "$tmp/" "$@")
    extras_for "$name" "$version" "$tmp"
    touch "$tmp/.complete"
    rm -rf "$out"
    mv "$tmp" "$out"
    echo "built $name $version in $((SECONDS - start)) s" >&2
  fi
  local f
  for f in "$out"/*; do
    ln -sfn "$f" "$bin/$(basename "$f")"
  done
}

wanted=()
for arg in "$@"; do
  if [ "$arg" = peers ]; then
    # The benchmarks also push into distribution: "peers" still builds it.
    while read -r name _; do wanted+=("$name"); done < <(peer_list; echo distribution)
  else
    wanted+=("$arg")
  fi
done
peers=" $(peer_list | cut -d' ' -f1 | tr '\n' ' ')"
found=0
while read -r name version packages; do
  if ((${#wanted[@]})); then
    [[ " ${wanted[*]} " == *" $name "* ]] || continue
  elif [[ "$peers" == *" $name "* ]]; then
    continue # peers only when asked for
  fi
  found=$((found + 1))
  # shellcheck disable=SC2086 # the package list is meant to split
  build_one "$name" "$version" $packages
done < <(tool_list; peer_list)
if ((${#wanted[@]})) && ((found != ${#wanted[@]})); then
  echo "error: unknown tool in '${wanted[*]}'; known: $(tool_list | cut -d' ' -f1 | tr '\n' ' ')and peers:$peers" >&2
  exit 2
fi
