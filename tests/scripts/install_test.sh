#!/usr/bin/env bash
# The installed library, used from outside the tree: `meson install` into a
# temporary root, then a small program (tests/install) built three ways
# against it and run on a net_ring port: pkg-config (shared), pkg-config
# --static (bypass and DPDK static), and a meson project with dependency('bypass'); every installed
# header compiles on its own with bypass.pc's flags alone; and the code of
# docs/embedding.md compiles and runs.
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
for pc in bypass bypass-client; do
  sed "s|^prefix=.*|prefix=$prefix|" "$pcdir/$pc.pc" > "$tmp/pc/$pc.pc"
done
export PKG_CONFIG_PATH=$tmp/pc
test -z "$(find "$prefix/include" -name '*.cpp')" || { echo "sources were installed" >&2; exit 1; }
test -e "$libdir/libbypass.so.0" || { echo "no libbypass.so.0" >&2; exit 1; }
test -e "$libdir/libbypass-client.so.0" || { echo "no libbypass-client.so.0" >&2; exit 1; }

# Every installed (public) header compiles on its own with what bypass.pc gives
# (DPDK's flags and nothing else beyond the standard library). The headers
# do not change with huge pages: the --no-huge run leaves this to the other.
if [ "${BYPASS_TEST_NO_HUGE:-0}" != 1 ]; then
  cflags=$(pkg-config --cflags bypass)
  export cflags
  find "$prefix/include/bypass" -name '*.hpp' | sort | xargs -P 2 -I{} sh -c \
    'printf "#include \"%s\"\n" "$1" | c++ -std=c++20 -fsyntax-only -w $cflags -x c++ - \
       || { echo "install_test: $1 does not compile on its own" >&2; exit 255; }' _ {}
  echo "install_test: $(find "$prefix/include/bypass" -name '*.hpp' | wc -l) headers compile alone"
  # The client library's headers need libsodium's flags and no DPDK.
  cflags=$(pkg-config --cflags bypass-client)
  sed "s|^|$prefix/include/|" "$build/lib/client_headers.txt" | xargs -P 2 -I{} sh -c \
    'printf "#include \"%s\"\n" "$1" | c++ -std=c++20 -fsyntax-only -w $cflags -x c++ - \
       || { echo "install_test: $1 does not compile with bypass-client.pc alone" >&2; exit 255; }' _ {}
fi

cp "$src/tests/install/ring_app.cpp" "$src/tests/install/meson.build" "$tmp/"
cd "$tmp"
# 1. Shared, through pkg-config.
c++ -std=c++20 -w ring_app.cpp -o ring_shared $(pkg-config --cflags --libs bypass)
LD_LIBRARY_PATH=$libdir ldd ring_shared | grep -q "libbypass.so.0 => $libdir" || { ldd ring_shared; exit 1; }
LD_LIBRARY_PATH=$libdir ./ring_shared
# 2. Static, through pkg-config --static: libbypass.a (the linker is told to
# take the archive; with both installed it would take the .so) and DPDK's
# static archives, its drivers whole (net_ring registers itself from there).
# The registry of modules is an object the program makes, so nothing
# registers itself in a constructor that the linker could leave out.
c++ -std=c++20 -w ring_app.cpp -o ring_static $(pkg-config --static --cflags bypass) \
  -Wl,-Bstatic -lbypass -Wl,-Bdynamic $(pkg-config --static --libs bypass | sed 's/-lbypass//')
if ldd ring_static | grep -Eq "libbypass|librte_"; then
  ldd ring_static
  echo "ring_static links a shared libbypass or DPDK" >&2
  exit 1
fi
./ring_static
# 3. A meson project: dependency('bypass').
meson setup app >/dev/null
meson compile -C app >/dev/null
LD_LIBRARY_PATH=$libdir app/ring_app
# A config the program refuses: status 2 and one sentence that holds `text`.
refused() {  # program, config, text
  local out rc
  set +e
  out=$(LD_LIBRARY_PATH=$libdir "$1" -c "$2" 2>&1)
  rc=$?
  set -e
  [ "$rc" = 2 ] && grep -q "$3" <<<"$out" || { echo "$out (status $rc)" >&2; exit 1; }
}
# 4. docs/embedding.md: its code blocks are a program; build and run it.
mkdir -p doc
python3 - "$src/docs/embedding.md" doc <<'PY'
import re, sys
text = open(sys.argv[1]).read()
n = 0
for block in re.findall(r"```cpp\n(.*?)```", text, re.S):
    m = re.match(r"// file: (\S+)\n", block)
    if m:
        open(sys.argv[2] + "/" + m.group(1), "w").write(block[m.end():])
        n += 1
assert n >= 7, "docs/embedding.md: no '// file:' blocks"
PY
c++ -std=c++20 -w doc/main.cpp -o doc/ipv4_gate $(pkg-config --cflags --libs bypass)
LD_LIBRARY_PATH=$libdir doc/ipv4_gate > doc/out.txt
grep -Eq "drop not_ipv4: [1-9]" doc/out.txt || { cat doc/out.txt; echo "docs/embedding.md's program dropped nothing as not_ipv4" >&2; exit 1; }
grep -Eq "module ipv4_gate: in [1-9]" doc/out.txt || { cat doc/out.txt; exit 1; }
# 5. The page's second program: bypass attached to the program's own EAL,
# stopped by request_stop(), with the program's signal mask left alone.
c++ -std=c++20 -w doc/attach.cpp -o doc/attach $(pkg-config --cflags --libs bypass)
LD_LIBRARY_PATH=$libdir doc/attach > doc/attach.txt
grep -q "SIGINT blocked: no" doc/attach.txt || { cat doc/attach.txt; echo "attach: SIGINT was blocked" >&2; exit 1; }
grep -Eq "drop not_ipv4: [1-9]" doc/attach.txt || { cat doc/attach.txt; echo "attach: nothing ran" >&2; exit 1; }
# 6. A datagram handler by name in bypass-udpd's server, on the kernel's
# sockets: a real UDP socket gets the payload back in capitals.
c++ -std=c++20 -w doc/upper.cpp -o doc/upper $(pkg-config --cflags --libs bypass)
port=$((10000 + $$ % 20000))  # below the ephemeral ports (32768 on)
python3 - "$src/docs/embedding.md" "$port" > doc/upper.toml <<'PY'
import re, sys
block = re.findall(r"```toml\n(.*?)```", open(sys.argv[1]).read(), re.S)[0]
cpu = __import__("os").cpu_count() - 1
print(block.replace("port = 7007", "port = " + sys.argv[2]).replace("cpu = 1", f"cpu = {cpu}"))
PY
LD_LIBRARY_PATH=$libdir doc/upper -c doc/upper.toml -t 20 -q > doc/upper.out 2>&1 &
upper=$!
answer=$(python3 - "$port" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
for _ in range(100):  # until the server has bound its socket
    s.sendto(b"hi there", ("127.0.0.1", int(sys.argv[1])))
    try:
        print(s.recv(2048).decode()); break
    except socket.timeout:
        pass
PY
)
kill -INT $upper; wait $upper || true
[ "$answer" = "hi THERE" ] || { cat doc/upper.out; echo "upper answered '$answer'" >&2; exit 1; }
# Its own key is checked with the rest of the config: one sentence, status 2.
sed 's/offset = 2/offset = 9999/' doc/upper.toml > doc/bad.toml
refused doc/upper doc/bad.toml "offset"
# 6b. A message application of the program's own behind the netcode service,
# on the kernel's sockets: the installed bypass-client connects with tokens it
# mints and gets its messages back; so does the page's own client, built on
# libbypass-client alone; the application's counters are in the stats.
c++ -std=c++20 -w doc/tally.cpp -o doc/tally $(pkg-config --cflags --libs bypass)
tport=$((port + 1))
python3 -c 'print("0f" * 32)' > doc/key.hex
python3 - "$src/docs/embedding.md" "$tport" "$PWD/doc/key.hex" > doc/tally.toml <<'PY'
import re, sys
block = next(b for b in re.findall(r"```toml\n(.*?)```", open(sys.argv[1]).read(), re.S)
             if b.startswith("# file: tally.toml"))
cpu = __import__("os").cpu_count() - 1
print(block.replace("port = 7100", "port = " + sys.argv[2]).replace("cpu = 1", f"cpu = {cpu}")
      .replace('"key.hex"', '"' + sys.argv[3] + '"'))
PY
# The page's client, on libbypass-client alone (no DPDK in what it links).
c++ -std=c++20 -w doc/chatter.cpp -o doc/chatter $(pkg-config --cflags --libs bypass-client)
if readelf -d doc/chatter | grep -q "librte_"; then echo "chatter links DPDK" >&2; exit 1; fi
LD_LIBRARY_PATH=$libdir doc/tally -c doc/tally.toml -t 30 > doc/tally.out 2>&1 &
tally=$!
for _ in $(seq 100); do grep -q "serving UDP" doc/tally.out && break; sleep 0.1; done
LD_LIBRARY_PATH=$libdir "$prefix/bin/bypass-client" load 127.0.0.1 "$tport" --key doc/key.hex \
  --protocol-id 4660 --clients 2 --in-flight 4 -s 64 -d 1 > doc/load.out 2>&1 || { cat doc/load.out doc/tally.out; exit 1; }
LD_LIBRARY_PATH=$libdir doc/chatter doc/key.hex "$tport" > doc/chatter.out 2>&1 || { cat doc/chatter.out doc/tally.out; exit 1; }
grep -q "reliable 10 of 10 back, unreliable [0-9]*, closed 1000, state disconnected" doc/chatter.out || { cat doc/chatter.out; exit 1; }
kill -INT $tally; wait $tally || true
grep -q "2 connections, 2 opened, 0 closed early" doc/load.out || { cat doc/load.out; exit 1; }
grep -Eq "mine: messages [1-9][0-9]* bytes [1-9]" doc/tally.out || { cat doc/tally.out; echo "tally's counters are not in its stats" >&2; exit 1; }
# Its key is checked with the rest of the config: one sentence, status 2.
sed 's/tally_name = "mine"/tally_name = "Mine!"/' doc/tally.toml > doc/tally_bad.toml
refused doc/tally doc/tally_bad.toml "tally_name is a name for its counters: use a-z only."
# 7. The page's module test, on a manual clock.
c++ -std=c++20 -w doc/gate_test.cpp -o doc/gate_test $(pkg-config --cflags --libs bypass)
LD_LIBRARY_PATH=$libdir doc/gate_test
c++ -std=c++20 -w doc/fault_test.cpp -o doc/fault_test $(pkg-config --cflags --libs bypass)
LD_LIBRARY_PATH=$libdir doc/fault_test
# 8. A module of the program's own in front of the UDP server, by name in
# the config, on a net_pcap port replaying UDP to ports 7 (echo) and 9.
c++ -std=c++20 -w doc/guard.cpp -o doc/guard $(pkg-config --cflags --libs bypass)
python3 - doc/udp.pcap <<'PY'
import struct, sys
def csum(b):
    s = sum(struct.unpack("!10H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i in range(64):
        udp = struct.pack("!HHHH", 40000, 7 if i % 2 else 9, 12, 0) + b"ping"
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0x4000, 64, 17, 0,
                         bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2]))
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        fr = b"\xff" * 6 + b"\x02\0\0\0\0\x01" + b"\x08\0" + ip + udp
        fr += b"\0" * (60 - len(fr))
        f.write(struct.pack("<IIII", 0, i, len(fr), len(fr)) + fr)
PY
guard_toml=$(python3 - "$src/docs/embedding.md" <<'PY'
import re, sys
print(next(b for b in re.findall(r"```toml\n(.*?)```", open(sys.argv[1]).read(), re.S)
           if 'class = "DstPortGuard"' in b))
PY
)
cat > doc/guard.toml <<EOF
[eal]
huge_pages = false
memory_mb = 256
[[port]]
name = "p0"
device = "net_pcap_guard,rx_pcap=$tmp/doc/udp.pcap"
addresses = ["198.18.0.2/24"]
[[worker]]
cpu = $(($(nproc) - 1))
[control]
socket = "off"
[[udpd.service]]
port = 7
handler = "echo"
$guard_toml
EOF
LD_LIBRARY_PATH=$libdir doc/guard -c doc/guard.toml -t 1 -q > doc/guard.out 2>&1 ||
  { cat doc/guard.out; echo "guard failed" >&2; exit 1; }
if ! grep -q "module guard: in 64 dropped 32 (port_guarded 32)" doc/guard.out ||
  grep -q "udp_port_closed" doc/guard.out; then
  cat doc/guard.out
  echo "the guard in front of the UDP server did not drop port 9 alone" >&2
  exit 1
fi
echo "install_test: shared, static and meson builds ran; docs/embedding.md's programs ran"
