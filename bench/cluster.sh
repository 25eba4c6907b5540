#!/usr/bin/env bash
# Benchmark for issue "install into a cluster": airlock against the Helm v4
# CLI installing, upgrading and rolling back the same charts into the same
# real control plane (scripts/cluster.sh: etcd, kube-apiserver, controller
# manager, scheduler, kwok nodes whose pods become Ready and Jobs complete),
# in the same run.
#
#   bench/cluster.sh          # RUNS=N rounds (default 3); prints medians and ratios
#
# The charts: traefik (its crds/ directory) in namespace traefik and
# cert-manager with crds.enabled=true (CRDs as templates) in namespace
# cert-manager, release names `traefik` and `cert-manager` for both tools, so
# both make the same objects. cert-manager's startupapicheck post-install
# hook Job stays on: kwok completes it, and both tools run it (with its
# ServiceAccount and RBAC hooks) at install. airlock installs one bundle
# holding both charts; Helm needs two releases, and its two commands of each
# phase are timed together (one after the other, as a user runs them).
#
# Phases, each with --wait --timeout 120s:
#   install   airlock install B-1.0 | helm install traefik; helm install cert-manager
#   upgrade   airlock upgrade B-1.1 | helm upgrade x2 -f the same values files
#             (traefik: 2 replicas and an extra arg; cert-manager: 2
#             controller replicas and an extra arg: new pods roll out)
#   rollback  airlock rollback      | helm rollback NAME 1 x2
#   uninstall (no --wait for either) airlock uninstall | helm uninstall x2
# Each tool gets a freshly started control plane in each round (the order of
# the tools alternates between rounds). Seconds, peak RSS and CPU (user +
# system) from /usr/bin/time; the API requests each phase made from the
# API server's audit log. After install and after upgrade both tools' objects
# are listed and compared (names, and ReplicaSet names, whose pod-template
# hash shows that both made the same pods).
#
# Nothing leaves 127.0.0.1: the rounds run inside `unshare -n` (a network
# namespace with only loopback; run as root), and Helm's cache, config, data
# and HOME are in a directory of their own under target/bench/cluster/.
set -euo pipefail
if [ "${1:-}" != --in-netns ]; then
  source "$(dirname "$0")/common.sh"
  [ -x target/tools/bin/helm ] || scripts/build-tools.sh helm
  for t in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
    [ -x "target/tools/bin/$t" ] || { scripts/build-tools.sh kubernetes etcd kwok; break; }
  done
  # What was measured: the working tree's airlock, as common.sh builds it.
  AIRLOCK_BENCH_BUILT="$(git rev-parse --short HEAD)$([ -z "$(git status --porcelain -- src Cargo.toml Cargo.lock)" ] || echo ' + uncommitted changes to src/')"
  export AIRLOCK_BENCH_BUILT AIRLOCK_BENCH_ROOT=$root AIRLOCK_BENCH_WORK=$work AIRLOCK_BENCH_AIRLOCK=$airlock
  exec unshare --net -- bash "$0" --in-netns
fi

# --- inside the network namespace: loopback only -------------------------------
ip link set lo up
root=$AIRLOCK_BENCH_ROOT work=$AIRLOCK_BENCH_WORK/cluster airlock=$AIRLOCK_BENCH_AIRLOCK
cd "$root"
runs=${RUNS:-3}
charts=$(cd "$root/../shared/testdata/real/charts" && pwd)
helm=$root/target/tools/bin/helm
kubectl=$root/target/tools/bin/kubectl
rm -rf "$work"
mkdir -p "$work/logs" "$work/helm-home"
export AIRLOCK_CACHE_DIR=$work/airlock-cache
export HOME=$work/helm-home HELM_CACHE_HOME=$work/helm-home/cache HELM_CONFIG_HOME=$work/helm-home/config HELM_DATA_HOME=$work/helm-home/data

cluster_pid=
stop_cluster() {
  [ -n "$cluster_pid" ] || return 0
  kill "$cluster_pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$cluster_pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$cluster_pid" 2>/dev/null || true
  wait "$cluster_pid" 2>/dev/null || true
  cluster_pid=
}
trap stop_cluster EXIT
trap 'exit 130' INT TERM

start_cluster() { # sets $kubeconfig and $audit
  # pdeathsig: the control plane goes with this script, however it ends.
  setpriv --pdeathsig TERM -- scripts/cluster.sh --dir "$work/plane" >"$work/plane.log" 2>&1 &
  cluster_pid=$!
  for _ in $(seq 900); do
    grep -qx ready "$work/plane.log" && break
    kill -0 "$cluster_pid" 2>/dev/null || { cat "$work/plane.log" >&2; exit 1; }
    sleep 0.2
  done
  grep -qx ready "$work/plane.log" || { echo "error: control plane not ready after 180s" >&2; cat "$work/plane.log" >&2; exit 1; }
  kubeconfig=$(sed -n 's/^kubeconfig: //p' "$work/plane.log")
  audit=$(sed -n 's/^audit log: //p' "$work/plane.log")
  # Let the freshly started controllers settle, the same for both tools.
  sleep 3
}

# --- the bundles and the values files both tools get --------------------------
cat >"$work/traefik-1.1.yaml" <<'YML'
deployment: {replicas: 2}
additionalArguments: [--log.level=DEBUG]
YML
cat >"$work/cert-manager-1.0.yaml" <<'YML'
crds: {enabled: true}
YML
cat >"$work/cert-manager-1.1.yaml" <<'YML'
crds: {enabled: true}
replicaCount: 2
extraArgs: [--v=3]
YML
spec() { # VERSION TRAEFIK-VALUES CERT-MANAGER-VALUES
  cat <<YML
apiVersion: airlock.dev/v1
kind: Bundle
metadata: {name: bench-edge, version: $1}
components:
  - name: edge
    charts:
      - {name: traefik, path: $charts/traefik, namespace: traefik, images: explicit$2}
      - {name: cert-manager, path: $charts/cert-manager, namespace: cert-manager, images: explicit, valuesFiles: [$3]}
YML
}
spec 1.0.0 "" "$work/cert-manager-1.0.yaml" >"$work/edge-1.0.yaml"
spec 1.1.0 ", valuesFiles: [$work/traefik-1.1.yaml]" "$work/cert-manager-1.1.yaml" >"$work/edge-1.1.yaml"
for v in 1.0 1.1; do "$airlock" --quiet create "$work/edge-$v.yaml" -o "$work/edge-$v.airlock" >/dev/null; done

# --- each phase's commands, as a script per tool -------------------------------
wait_args="--wait --timeout 120s"
phase_script() { # TOOL PHASE: the commands of that phase, one per line
  local k='--kubeconfig "$KUBECONFIG_FILE"'
  case $1/$2 in
    airlock/install) echo "\"$airlock\" install $work/edge-1.0.airlock $k --allow-unsigned $wait_args" ;;
    airlock/upgrade) echo "\"$airlock\" upgrade $work/edge-1.1.airlock $k --allow-unsigned $wait_args" ;;
    airlock/rollback) echo "\"$airlock\" rollback bench-edge $k $wait_args" ;;
    airlock/uninstall) echo "\"$airlock\" uninstall bench-edge $k" ;;
    helm/install)
      echo "\"$helm\" install traefik $charts/traefik -n traefik --create-namespace $k $wait_args"
      echo "\"$helm\" install cert-manager $charts/cert-manager -n cert-manager --create-namespace -f $work/cert-manager-1.0.yaml $k $wait_args" ;;
    helm/upgrade)
      echo "\"$helm\" upgrade traefik $charts/traefik -n traefik -f $work/traefik-1.1.yaml $k $wait_args"
      echo "\"$helm\" upgrade cert-manager $charts/cert-manager -n cert-manager -f $work/cert-manager-1.1.yaml $k $wait_args" ;;
    helm/rollback)
      echo "\"$helm\" rollback traefik 1 -n traefik $k $wait_args"
      echo "\"$helm\" rollback cert-manager 1 -n cert-manager $k $wait_args" ;;
    helm/uninstall)
      echo "\"$helm\" uninstall traefik -n traefik $k"
      echo "\"$helm\" uninstall cert-manager -n cert-manager $k" ;;
  esac
}
phases=(install upgrade rollback uninstall)

# What a tool made, to check that both made the same objects (release
# records aside: Helm's and airlock's Secrets are named differently).
objects() {
  { "$kubectl" --kubeconfig "$kubeconfig" get crd,clusterrole,clusterrolebinding,validatingwebhookconfiguration,mutatingwebhookconfiguration,ingressclass -o name
    for ns in traefik cert-manager; do
      "$kubectl" --kubeconfig "$kubeconfig" get deploy,rs,svc,sa,role,rolebinding,cm,job,pdb -n "$ns" -o name | sed "s|^|$ns/|"
    done; } | sort
}
# Requests the tool made in a phase: those the audit log gained, by user
# agent (the control plane's components use their own users, not logged).
requests_since() { # OFFSET
  tail -c +"$(($1 + 1))" "$audit" | python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    e = json.loads(line)
    if e.get("stage") == "ResponseComplete" and not e.get("userAgent", "").startswith("kubectl"):
        n += 1
print(n)'
}

run_tool() { # TOOL ROUND: fresh control plane, every phase timed
  local tool=$1 round=$2 phase s m user sys before
  start_cluster
  for phase in "${phases[@]}"; do
    phase_script "$tool" "$phase" | sed 's/^/set -e; /' >"$work/$tool-$phase.sh"
    before=$(stat -c %s "$audit")
    if ! KUBECONFIG_FILE=$kubeconfig /usr/bin/time -f "%e %M %U %S" -o "$work/time.out" \
      bash "$work/$tool-$phase.sh" >"$work/logs/$round-$tool-$phase.log" 2>&1; then
      echo "error: $tool $phase failed (round $round):" >&2
      tail -n 30 "$work/logs/$round-$tool-$phase.log" >&2
      exit 1
    fi
    read -r s m user sys <"$work/time.out"
    echo "$tool $phase $s $m $(requests_since "$before") $(awk "BEGIN{print $user + $sys}")" >>"$work/results"
    case $phase in install | upgrade) objects >"$work/objects-$round-$tool-$phase" ;; esac
  done
  stop_cluster
}

: >"$work/results"
for round in $(seq "$runs"); do
  if ((round % 2)); then order=(airlock helm); else order=(helm airlock); fi
  for tool in "${order[@]}"; do
    run_tool "$tool" "$round"
    echo "round $round $tool: $(awk -v t="$tool" '$1 == t {printf "%s %ss ", $2, $3}' "$work/results")" >&2
    sed -i "/^$tool /s/^/$round /" "$work/results"
  done
done

# --- the table -----------------------------------------------------------------
same=yes
for round in $(seq "$runs"); do
  for phase in install upgrade; do
    a=$work/objects-$round-airlock-$phase h=$work/objects-$round-helm-$phase
    diff -q "$a" "$h" >/dev/null && continue
    same=no
    echo "objects after $phase differ in round $round (< airlock, > helm):" >&2
    diff "$a" "$h" >&2 || true
  done
done
echo
echo "median of $runs rounds, each tool on its own fresh control plane ($(nproc) cores)"
echo "airlock $("$airlock" --version | awk '{print $2}') built from $AIRLOCK_BENCH_BUILT; $("$helm" version --short)"
echo "same objects (names, ReplicaSets' pod-template hashes) after install and after upgrade: $same ($(wc -l <"$work/objects-1-airlock-install") listed)"
echo
python3 - "$work/results" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
def of(tool, phase, col):
    return [float(r[col]) for r in rows if r[1] == tool and r[2] == phase]
print(f"{'phase':<10} {'airlock s':>9} {'helm s':>8} {'helm/airlock':>12} {'airlock RSS':>12} {'helm RSS':>9} {'CPU s a/h':>10} {'requests a/h':>13}  each round (airlock/helm s)")
total = {"airlock": [], "helm": []}
for phase in ["install", "upgrade", "rollback", "uninstall"]:
    a, h = of("airlock", phase, 3), of("helm", phase, 3)
    ra, rh = max(of("airlock", phase, 4)) / 1024, max(of("helm", phase, 4)) / 1024
    qa, qh = statistics.median(of("airlock", phase, 5)), statistics.median(of("helm", phase, 5))
    ca, ch = statistics.median(of("airlock", phase, 6)), statistics.median(of("helm", phase, 6))
    pairs = " ".join(f"{x:.2f}/{y:.2f}" for x, y in zip(a, h))
    ma, mh = statistics.median(a), statistics.median(h)
    print(f"{phase:<10} {ma:>9.2f} {mh:>8.2f} {mh / ma:>11.2f}x {ra:>8.0f} MiB {rh:>5.0f} MiB {ca:>5.2f}/{ch:<4.2f} {qa:>6.0f}/{qh:<6.0f}  {pairs}")
    if phase != "uninstall":
        total["airlock"].append(a); total["helm"].append(h)
sa = statistics.median(map(sum, zip(*total["airlock"])))
sh = statistics.median(map(sum, zip(*total["helm"])))
print(f"{'inst+up+rb':<10} {sa:>9.2f} {sh:>8.2f} {sh / sa:>11.2f}x   (goal: helm/airlock >= 2x)")
EOF
