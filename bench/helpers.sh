# Sourced by the benchmarks (by common.sh, and by bench/peers.sh inside its
# network namespace, where common.sh's setup cannot run): small helpers
# that need nothing installed.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# A CA, a server certificate for 127.0.0.1 signed by it, an htpasswd of
# user `bench` (bcrypt) and a certs.d holding the CA, in DIR (made once).
make_tls_material() {
  local dir=$1
  [ -f "$dir/server.crt" ] && return 0
  mkdir -p "$dir"
  (cd "$dir"
   openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj "/CN=bench CA" 2>/dev/null
   openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
   printf 'subjectAltName=IP:127.0.0.1\n' > ext.cnf
   openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 30 -extfile ext.cnf 2>/dev/null
   htpasswd -Bbn bench bench-password > htpasswd
   mkdir -p certs.d && cp ca.crt certs.d/)
}
