#!/usr/bin/env bash
# bypass-udpd as an ordinary user (nobody) with only the capabilities it was
# measured to need (docs/running.md), against a Linux host in a network
# namespace on a veth pair: net_af_packet with CAP_NET_RAW and CAP_NET_ADMIN
# and huge pages from a hugetlbfs mount the user owns; net_af_xdp with
# CAP_NET_RAW, CAP_NET_ADMIN, CAP_IPC_LOCK and CAP_SYS_ADMIN; net_af_packet
# again from a copy given file capabilities (setcap), run by nobody with none
# of its own; and one capability short, one sentence naming it and status 2.
# Needs root to set the stage up (veth, namespace, mount): CI has it.
set -euo pipefail
build=$1
if [ "$(id -u)" != 0 ]; then
  echo "nonroot_test: needs root to set up the veth, namespace and mount; CI runs it as root" >&2
  exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bypass-nonroot-XXXXXX")
ns=bpnr$$
a=bpnra$$
huge=$tmp/huge
cleanup() {
  mountpoint -q "$huge" && umount "$huge"
  ip link del "$a" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "nonroot_test: $*" >&2; exit 1; }
chmod 755 "$tmp"
cp "$build/apps/udpd/bypass-udpd" "$tmp/"  # reachable by nobody wherever the tree is
ip link add "$a" type veth peer name "${a}p"
ip link set "$a" up
ip netns add "$ns"
ip link set "${a}p" netns "$ns"
ip -n "$ns" addr add 198.18.7.1/24 dev "${a}p"
ip -n "$ns" link set "${a}p" up
ip -n "$ns" link set lo up
nobody=$(id -u nobody)
mkdir -p "$huge"
if [ "${BYPASS_TEST_NO_HUGE:-0}" = 1 ]; then
  eal='huge_pages = false'
else
  mount -t hugetlbfs -o "uid=$nobody,gid=$(id -g nobody),mode=0700,pagesize=2M" nodev "$huge"
  eal="huge_pages = true
args = [\"--huge-dir\", \"$huge\"]"
fi
config() {  # config DRIVER
  cat <<EOF2
[eal]
control_cpu = 0
$eal
[[port]]
name = "veth"
device = "$1,iface=$a"
addresses = ["198.18.7.2/24"]
[[worker]]
cpu = $(($(nproc) - 1))
[control]
socket = "off"
[[udpd.service]]
port = 7
handler = "echo"
EOF2
}
as_nobody() {  # as_nobody CAPS ARGS...: the program as nobody with CAPS ambient
  local caps=$1
  shift
  # Without root's XDG_RUNTIME_DIR (/run/user/0 after a root login), where
  # DPDK would put a non-root process's runtime files and nobody cannot write.
  env -u XDG_RUNTIME_DIR setpriv --reuid="$nobody" --regid="$(id -g nobody)" --clear-groups \
    --inh-caps="$caps" --ambient-caps="$caps" "$@"
}
echo_from_host() {  # the host sends until an echo comes back (the server may still be starting)
  ip netns exec "$ns" python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.1)
for _ in range(150):
    s.sendto(b"as nobody", ("198.18.7.2", 7))
    try:
        print(s.recv(100).decode())
        break
    except socket.timeout:
        pass
PY
}
serve() {  # serve DRIVER CAPS [BINARY]: one echo to the host from a server run as nobody
  config "$1" > "$tmp/$1.toml"
  chmod 644 "$tmp/$1.toml"
  as_nobody "$2" "${3:-$tmp/bypass-udpd}" -c "$tmp/$1.toml" -t 20 -q > "$tmp/$1.out" 2>&1 &
  local pid=$!
  local got
  got=$(echo_from_host)
  kill -INT "$pid" 2>/dev/null || true  # it may have stopped already: wait says how
  wait "$pid" || { cat "$tmp/$1.out"; fail "$1 as nobody exited with an error"; }
  [ "$got" = "as nobody" ] || { cat "$tmp/$1.out"; fail "$1 as nobody did not echo ('$got')"; }
  grep -q "mbufs in use at exit: 0" "$tmp/$1.out" || { cat "$tmp/$1.out"; fail "$1 leaked"; }
}

serve net_af_packet +net_raw,+net_admin
serve net_af_xdp +net_raw,+net_admin,+ipc_lock,+sys_admin
# The setcap route (docs/running.md): the capabilities come with the file, so
# any user who runs it has them; nobody brings none.
# (The kernel ignores file capabilities on a nosuid mount: say so rather than
# fail as if setcap had done nothing.)
if findmnt -no OPTIONS --target "$tmp" | tr ',' '\n' | grep -qx nosuid; then
  fail "$tmp is on a nosuid mount, where file capabilities do not apply: set TMPDIR to a directory on another mount"
fi
cp "$tmp/bypass-udpd" "$tmp/bypass-udpd-caps"
setcap cap_net_raw,cap_net_admin+ep "$tmp/bypass-udpd-caps"
serve net_af_packet -all "$tmp/bypass-udpd-caps"

# One capability short: the sentence names it, nothing starts.
config net_af_packet > "$tmp/short.toml"
chmod 644 "$tmp/short.toml"
set +e
out=$(as_nobody +net_raw "$tmp/bypass-udpd" -c "$tmp/short.toml" -t 1 -q 2>&1)
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "lacks CAP_NET_ADMIN: grant them" <<<"$out" ||
  { echo "$out"; fail "a missing capability gave status $rc without the sentence"; }
# The sockets backend as nobody: a receive buffer above net.core.rmem_max is
# capped by the kernel, and bypass-udpd says so once, naming the fix; one
# within it draws no warning.
sockets() {  # sockets KIB: the config of an echo on loopback with that buffer
  printf '[[worker]]\ncpu = 0\n[udpd]\nbackend = "sockets"\nbind = ["127.0.0.1"]\n'
  printf 'socket_buffer_kib = %s\n[control]\nsocket = "off"\n' "$1"
  printf '[[udpd.service]]\nport = 17007\nhandler = "echo"\n'
}
rmem_kib=$(($(cat /proc/sys/net/core/rmem_max) / 1024))
sockets $((rmem_kib * 2)) > "$tmp/big.toml"
sockets 64 > "$tmp/small.toml"
chmod 644 "$tmp/big.toml" "$tmp/small.toml"
out=$(as_nobody -all "$tmp/bypass-udpd" -c "$tmp/big.toml" -t 1 -q 2>&1) ||
  { echo "$out"; fail "the sockets backend as nobody failed"; }
[ "$(grep -c "net.core.rmem_max" <<<"$out")" = 1 ] ||
  { echo "$out"; fail "a capped receive buffer was not said once, naming net.core.rmem_max"; }
out=$(as_nobody -all "$tmp/bypass-udpd" -c "$tmp/small.toml" -t 1 -q 2>&1) ||
  { echo "$out"; fail "the sockets backend as nobody failed"; }
! grep -q "rmem_max" <<<"$out" || { echo "$out"; fail "a buffer within rmem_max drew a warning"; }
echo "nonroot_test: af_packet (ambient and file capabilities) and af_xdp served a namespace host as nobody; a missing capability was named; a capped socket buffer was said once"
