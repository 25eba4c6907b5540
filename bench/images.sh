# Sourced by the benchmarks: builds the benchmark images as an OCI layout in
# $work/src-layout (tags app1, app2), offline once Debian packages are in.
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
  tar --sort=name --mtime=@0 --numeric-owner -C / -cf - usr/lib usr/share 2>/dev/null | head -c 300000000 | gzip -n -6 > "$work/usr.tar.gz"
fi
rm -rf "$work/src-layout"
python3 bench/oci_layout.py "$work/src-layout" app1 "$work/rootfs.tar.gz" "$work/filler.tar.gz" >/dev/null
python3 bench/oci_layout.py "$work/src-layout" app2 "$work/rootfs.tar.gz" "$work/usr.tar.gz" >/dev/null
