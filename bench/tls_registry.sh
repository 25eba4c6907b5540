# Sourced by the benchmarks after common.sh: a docker-registry with TLS and
# htpasswd auth on a free port, restarted with wiped storage by
# start_tls_registry. Sets $tls, $tls_port, $tls_pid, $auth (airlock's
# flags for it) and kills what it started on exit.
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# --- TLS + htpasswd registry, restartable with wiped storage ----------------
tls=$work/tls
make_tls_material "$tls"
tls_port=$(free_port)
tls_pid=
start_tls_registry() {
  [ -n "$tls_pid" ] && { kill "$tls_pid"; wait "$tls_pid" 2>/dev/null || true; }
  rm -rf "$tls/data"
  # Each timed run starts with no writeback of the previous run pending.
  sync
  cat > "$tls/config.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $tls/data}}
http: {addr: 127.0.0.1:$tls_port, tls: {certificate: $tls/server.crt, key: $tls/server.key}}
auth: {htpasswd: {realm: bench, path: $tls/htpasswd}}
YML
  docker-registry serve "$tls/config.yml" >/dev/null 2>&1 &
  tls_pid=$!
  pids+=("$tls_pid")
  wait_port "$tls_port"
}
auth=(--ca-file "$tls/ca.crt" --username bench --password bench-password)

# CPU seconds the registry process has used so far: the registry's own
# work (TLS, its sha256 of every byte, disk writes) is the same whoever
# pushes, and on a machine with few cores it bounds how fast any push can be.
registry_cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14+$15)/hz}' "/proc/$tls_pid/stat"; }
