# Sourced by the benchmarks: builds the benchmark images, offline once Debian
# packages are in:
# - $work/src-layout: two images (tags app1, app2) on one base layer;
# - $work/several/appN (N = 1..5): five images, one per layout and so one per
#   repository, all on that base, as a release with several services is.
# --- images -----------------------------------------------------------------
if [ ! -f "$work/rootfs.tar.gz" ]; then
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >/dev/null
  tar --sort=name --mtime=@0 --numeric-owner -C "$work/rootfs" -cf - . | gzip -n -6 > "$work/rootfs.tar.gz"
fi
if [ ! -f "$work/filler.tar.gz" ]; then
  # Valid gzip (of incompressible data), so no tool recompresses it.
  head -c 160000000 /dev/urandom | gzip -1 -n > "$work/filler.tar.gz"
fi
if [ ! -f "$work/usr.tar.gz" ]; then
  # head closes the pipe once it has its bytes: tar's SIGPIPE is expected,
  # and under pipefail it would fail the first run on a fresh machine.
  { tar --sort=name --mtime=@0 --numeric-owner -C / -cf - usr/lib usr/share 2>/dev/null || true; } | head -c 300000000 | gzip -n -6 > "$work/usr.tar.gz"
fi
rm -rf "$work/src-layout"
python3 bench/oci_layout.py "$work/src-layout" app1 "$work/rootfs.tar.gz" "$work/filler.tar.gz" >/dev/null
python3 bench/oci_layout.py "$work/src-layout" app2 "$work/rootfs.tar.gz" "$work/usr.tar.gz" >/dev/null
# Three more service layers, from what this host has in /usr.
for part in "py:usr/lib/python3" "doc:usr/share/doc" "libexec:usr/libexec"; do
  name=${part%%:*}
  [ -f "$work/svc-$name.tar.gz" ] && continue
  tar --sort=name --mtime=@0 --numeric-owner -C / -cf - "${part#*:}" 2>/dev/null | gzip -n -6 > "$work/svc-$name.tar.gz"
done
rm -rf "$work/several"
n=0
for layer in filler usr svc-py svc-doc svc-libexec; do
  n=$((n + 1))
  python3 bench/oci_layout.py "$work/several/app$n" 1.0 "$work/rootfs.tar.gz" "$work/$layer.tar.gz" >/dev/null
done
