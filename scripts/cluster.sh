#!/usr/bin/env bash
# Starts a real Kubernetes control plane on free 127.0.0.1 ports, built from
# Go modules by scripts/build-tools.sh: etcd, kube-apiserver (RBAC and the
# default admission plugins on, an audit log), kube-controller-manager,
# kube-scheduler, and kwok with two simulated nodes (linux/amd64 and
# linux/arm64) whose pods become Running and Ready, whose Jobs complete and
# whose volume claims bind (StorageClass kwok-volume, the default).
#
#   scripts/cluster.sh [--dir DIR]
#
# Prints `kubeconfig: PATH`, `pids: ...` and then `ready`, and stays in the
# foreground until interrupted; then stops every process by its own PID. Each
# process also dies with this script (setpriv --pdeathsig), so a killed test
# run leaves nothing behind. DIR (default target/cluster) holds certificates,
# data, logs (DIR/logs/), the audit log (DIR/audit.log) and the API
# server's arguments (DIR/kube-apiserver.args, see below).
#
# Nothing here reaches past this machine: every server binds 127.0.0.1, and
# Service cluster IPs come from 127.100.0.0/24, so an API server call to a
# webhook or an aggregated API behind a Service stays on loopback. Pod IPs
# (kwok's, 10.244.0.0/16, never contacted) are only written into objects.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=$repo/target/cluster
while (($#)); do
  case $1 in
    --dir) dir=$2; shift 2 ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

bin=$repo/target/tools/bin
for tool in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
  if [ ! -x "$bin/$tool" ]; then
    "$repo/scripts/build-tools.sh" kubernetes etcd kwok
    break
  fi
done

rm -rf "$dir"
mkdir -p "$dir/pki" "$dir/logs"
dir=$(cd "$dir" && pwd)
pki=$dir/pki

# Free ports below the kernel's ephemeral range (32768 and up here), which
# is where anything asking for port 0 (a test's registry, say) is given
# one: so none of those can take a port between this check and its bind.
free_ports() {
  python3 - "$1" <<'EOF'
import random, socket, sys
low, _ = (int(p) for p in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
top = min(low, 32768)
bottom = 20000 if top > 21000 else 1024
ports = []
for _ in range(1000):
    port = random.randrange(bottom, top)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    if port not in ports:
        ports.append(port)
    if len(ports) == int(sys.argv[1]):
        break
print(" ".join(map(str, ports)))
EOF
}
read -r etcd_port etcd_peer_port api_port < <(free_ports 3)

# --- certificates: one CA; a serving certificate; a client certificate per
# component (all system:masters: this is a test cluster, and each has its own
# name so the audit log tells them apart); the service-account signing key.
ossl() { openssl "$@" 2>/dev/null; }
ossl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key"
ossl req -x509 -new -key "$pki/ca.key" -subj /CN=airlock-test-ca -days 3650 -out "$pki/ca.crt"
issue() { # NAME SUBJECT [EXTENSIONS]
  ossl ecparam -name prime256v1 -genkey -noout -out "$pki/$1.key"
  ossl req -new -key "$pki/$1.key" -subj "$2" -out "$pki/$1.csr"
  printf '%s\n' "${3:-extendedKeyUsage=clientAuth}" >"$pki/$1.ext"
  ossl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -extfile "$pki/$1.ext" -out "$pki/$1.crt"
}
issue apiserver /CN=kube-apiserver \
  "subjectAltName=IP:127.0.0.1,IP:127.100.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth"
issue admin "/O=system:masters/CN=admin"
issue controller-manager "/O=system:masters/CN=airlock-test:controller-manager"
issue scheduler "/O=system:masters/CN=airlock-test:scheduler"
issue kwok "/O=system:masters/CN=airlock-test:kwok"
issue tester "/O=system:masters/CN=airlock-test:tester"
# For a test that runs helm-controller against this plane.
issue helm-controller "/O=system:masters/CN=airlock-test:helm-controller"
ossl ecparam -name prime256v1 -genkey -noout -out "$pki/sa.key"
ossl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub"

kubeconfig_for() { # NAME -> DIR/NAME.kubeconfig
  cat >"$dir/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: airlock-test
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $pki/ca.crt
users:
- name: $1
  user:
    client-certificate: $pki/$1.crt
    client-key: $pki/$1.key
contexts:
- name: airlock-test
  context: {cluster: airlock-test, user: $1}
current-context: airlock-test
EOF
}
for c in admin controller-manager scheduler kwok tester helm-controller; do kubeconfig_for "$c"; done

# Every request the admin makes (airlock in tests), in order, with its
# timing: tests read it to check what airlock sent and when. The tests' own
# kubectl runs as `tester`, left out.
cat >"$dir/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: [admin]
- level: None
EOF

pids=()
stop() {
  trap - EXIT INT TERM
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
}
trap stop EXIT
trap 'exit 130' INT TERM

start() { # NAME COMMAND...
  local name=$1
  shift
  setpriv --pdeathsig KILL -- "$@" >"$dir/logs/$name.log" 2>&1 &
  pids+=($!)
}
# Waits (bounded) until COMMAND succeeds; names the log to read when it does not.
wait_for() { # WHAT LOG SECONDS COMMAND...
  local what=$1 log=$2 seconds=$3
  shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      echo "error: $what not ready after ${seconds}s; see $dir/logs/$log.log:" >&2
      tail -n 20 "$dir/logs/$log.log" >&2
      exit 1
    fi
    sleep 0.2
  done
}

start etcd "$bin/etcd" --name airlock-test --data-dir "$dir/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "airlock-test=http://127.0.0.1:$etcd_peer_port" \
  --unsafe-no-fsync --log-level warn
wait_for etcd etcd 30 curl -sf "http://127.0.0.1:$etcd_port/health"

# --endpoint-reconciler-type none: the API server refuses a loopback
# --advertise-address otherwise.
#
# Its arguments (not the program) are also written to DIR/kube-apiserver.args,
# each as one `--flag=value` (or bare `--flag`) followed by a NUL byte, so a
# test can start a second API server on the same etcd with the same flags
# (control_plane.rs, `second_api_server`): it drops `--secure-port=` and every
# `--audit-` flag (the audit log is this server's alone) and adds its own port.
apiserver_args=(
  --etcd-servers="http://127.0.0.1:$etcd_port"
  --bind-address=127.0.0.1 --secure-port="$api_port"
  --advertise-address=127.0.0.1 --endpoint-reconciler-type=none
  --service-cluster-ip-range=127.100.0.0/24
  --client-ca-file="$pki/ca.crt" --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key"
  --service-account-issuer=https://kubernetes.default.svc
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key"
  --authorization-mode=RBAC --allow-privileged
  --audit-policy-file="$dir/audit-policy.yaml" --audit-log-path="$dir/audit.log" --audit-log-mode=blocking
  --audit-log-maxsize=0
)
printf '%s\0' "${apiserver_args[@]}" >"$dir/kube-apiserver.args"
start kube-apiserver "$bin/kube-apiserver" "${apiserver_args[@]}"
kubectl() { "$bin/kubectl" --kubeconfig "$dir/admin.kubeconfig" "$@"; }
wait_for kube-apiserver kube-apiserver 90 kubectl get --raw /readyz

start kube-controller-manager "$bin/kube-controller-manager" \
  --kubeconfig "$dir/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$dir/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$dir/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
  --use-service-account-credentials=false --allocate-node-cidrs=false \
  --concurrent-deployment-syncs 10 --concurrent-replicaset-syncs 10
start kube-scheduler "$bin/kube-scheduler" \
  --kubeconfig "$dir/scheduler.kubeconfig" \
  --authentication-kubeconfig "$dir/scheduler.kubeconfig" \
  --authorization-kubeconfig "$dir/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false

# kwok's stages (from the kwok module, copied by build-tools.sh): the Stage
# documents configure kwok; the rest (the kwok-volume StorageClass) is applied.
stages=$(dirname "$(readlink -f "$bin/kwok")")/stages
: >"$dir/kwok-stages.yaml"
for f in "$stages"/*.yaml; do
  if grep -q '^kind: Stage' "$f"; then
    { echo '---'; cat "$f"; } >>"$dir/kwok-stages.yaml"
  else
    kubectl apply -f "$f" >/dev/null
  fi
done
# Two stages of our own, so tests can show what kwok's do not: a bare Pod
# that is a Helm hook (a chart test) completes as its Job's pods do, and a
# pod annotated `airlock.test/exit-code` fails with that code (the weight
# wins it over kwok's pod-complete).
terminated_as() { # PHASE REASON EXIT-CODE-EXPRESSION
  cat <<EOF
    statusTemplate: |
      {{ \$now := Now }}
      containerStatuses:
      {{ range \$index, \$item := .spec.containers }}
      - image: {{ \$item.image | Quote }}
        name: {{ \$item.name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: $3
            finishedAt: {{ \$now | Quote }}
            reason: $2
            startedAt: {{ \$now | Quote }}
      {{ end }}
      phase: $1
EOF
}
cat >>"$dir/kwok-stages.yaml" <<EOF
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: airlock-test-pod-fail}
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  weight: 1000
  selector:
    matchExpressions:
    - {key: .metadata.deletionTimestamp, operator: DoesNotExist}
    - {key: .status.phase, operator: In, values: [Running]}
    - {key: '.metadata.annotations["airlock.test/exit-code"]', operator: Exists}
  next:
$(terminated_as Failed Error '{{ index $.metadata.annotations "airlock.test/exit-code" }}')
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: airlock-test-hook-pod-complete}
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: .metadata.deletionTimestamp, operator: DoesNotExist}
    - {key: .status.phase, operator: In, values: [Running]}
    - {key: '.metadata.annotations["helm.sh/hook"]', operator: Exists}
    - {key: '.metadata.annotations["airlock.test/exit-code"]', operator: DoesNotExist}
    - {key: '.metadata.ownerReferences', operator: DoesNotExist}
  next:
$(terminated_as Succeeded Completed 0)
EOF
start kwok "$bin/kwok" --kubeconfig "$dir/kwok.kubeconfig" --config "$dir/kwok-stages.yaml" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --cidr 10.244.0.0/16 --node-ip 127.0.0.1

for arch in amd64 arm64; do
  kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-$arch
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels:
    kubernetes.io/arch: $arch
    kubernetes.io/os: linux
    kubernetes.io/hostname: kwok-$arch
    type: kwok
status:
  capacity: &resources {cpu: "32", memory: 256Gi, pods: "250", ephemeral-storage: 500Gi}
  allocatable: *resources
  nodeInfo: {architecture: $arch, operatingSystem: linux, kubeletVersion: fake, kubeProxyVersion: fake}
EOF
done
nodes_ready() {
  [ "$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" = 2 ]
}
wait_for "kwok's nodes" kwok 60 nodes_ready
# Pods need their namespace's default ServiceAccount, made by the controller manager.
wait_for "the default ServiceAccount" kube-controller-manager 60 kubectl get serviceaccount default -n default

echo "kubeconfig: $dir/admin.kubeconfig"
echo "audit log: $dir/audit.log"
echo "pids: ${pids[*]}"
echo "ready"
# Until interrupted (or, under a test, until the test run ends).
wait -n "${pids[@]}" || true
echo "error: a control-plane process exited; see $dir/logs/" >&2
exit 1
