#!/usr/bin/env bash
# Starts a Debian docker-registry on a free 127.0.0.1 port, for trying airlock
# by hand (the test suite starts its own from tests/it/support.rs).
#
#   scripts/registry.sh DIR            # plain HTTP
#   scripts/registry.sh --tls DIR      # TLS (CA-signed cert) + htpasswd auth
#
# Prints the address, the PID (stop it with `kill PID`), and for --tls the CA
# file and credentials (user `airlock`, password `airlock-password`).
set -euo pipefail
tls=false
if [ "${1:-}" = "--tls" ]; then tls=true; shift; fi
dir=${1:?usage: registry.sh [--tls] DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
  echo "version: 0.1"
  echo "log: {level: error, accesslog: {disabled: true}}"
  echo "storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}"
  if $tls; then
    (cd "$dir"
     openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj "/CN=airlock test CA" 2>/dev/null
     openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
     printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > ext.cnf
     openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 30 -extfile ext.cnf 2>/dev/null
     htpasswd -Bbn airlock airlock-password > htpasswd)
    echo "http: {addr: 127.0.0.1:$port, tls: {certificate: $dir/server.crt, key: $dir/server.key}}"
    echo "auth: {htpasswd: {realm: airlock, path: $dir/htpasswd}}"
  else
    echo "http: {addr: 127.0.0.1:$port}"
  fi
} > "$dir/config.yml"
nohup docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
pid=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
echo "address: 127.0.0.1:$port"
echo "pid: $pid"
if $tls; then
  echo "ca-file: $dir/ca.crt"
  echo "credentials: airlock / airlock-password"
fi
