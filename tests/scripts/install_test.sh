#!/usr/bin/env bash
# The installed library, used from outside the tree: `meson install` into a
# temporary root, then a small program (tests/install) built three ways
# against it and run on a net_ring port: pkg-config (shared), the static
# library, and a meson project with dependency('bypass').
# Needs root (DPDK without huge pages still wants it): CI has it.
set -euo pipefail
build=$1
src=$2
if [ "$(id -u)" != 0 ]; then
  echo "install_test: needs root (DPDK); CI runs it as root" >&2
  exit 1
fi
tmp=$(mktemp -d /tmp/bypass-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
DESTDIR=$tmp/root meson install -C "$build" --no-rebuild --quiet
prefix=$tmp/root/usr/local
pcdir=$(dirname "$(find "$prefix" -name bypass.pc | head -1)")
libdir=$(dirname "$pcdir")
# The .pc names /usr/local: point it at the temporary root.
mkdir -p "$tmp/pc"
sed "s|^prefix=.*|prefix=$prefix|" "$pcdir/bypass.pc" > "$tmp/pc/bypass.pc"
export PKG_CONFIG_PATH=$tmp/pc
test -z "$(find "$prefix/include" -name '*.cpp')" || { echo "sources were installed" >&2; exit 1; }
test -e "$libdir/libbypass.so.0" || { echo "no libbypass.so.0" >&2; exit 1; }

cp "$src/tests/install/ring_app.cpp" "$src/tests/install/meson.build" "$tmp/"
cd "$tmp"
# 1. Shared, through pkg-config.
c++ -std=c++20 -w ring_app.cpp -o ring_shared $(pkg-config --cflags --libs bypass)
LD_LIBRARY_PATH=$libdir ldd ring_shared | grep -q "libbypass.so.0 => $libdir" || { ldd ring_shared; exit 1; }
LD_LIBRARY_PATH=$libdir ./ring_shared
# 2. Static bypass: libbypass.a, with its private dependencies (libseccomp,
# libsodium, libpcap) and DPDK shared. (pkg-config --static would also ask
# for DPDK's own static archives and their dependencies, libsystemd's
# among them, which Debian's packages here do not all provide.)
c++ -std=c++20 -w ring_app.cpp -o ring_static $(pkg-config --cflags bypass) \
  -Wl,-Bstatic -lbypass -Wl,-Bdynamic \
  $(pkg-config --libs bypass libseccomp libsodium libpcap | sed 's/-lbypass//') -pthread
if ldd ring_static | grep -q libbypass; then echo "ring_static links libbypass.so" >&2; exit 1; fi
./ring_static
# 3. A meson project: dependency('bypass').
meson setup app >/dev/null
meson compile -C app >/dev/null
LD_LIBRARY_PATH=$libdir app/ring_app
echo "install_test: shared, static and meson builds ran"
