#!/usr/bin/env bash
# The three example appliances as programs, on net_pcap replaying captures
# that hit their rules: the firewall's rules replaced on SIGHUP while it runs
# (a rule that exists only in the new config gets hits), the load balancer
# wrapping every frame, the policer dropping red under over_rate, and a
# mistake in a rule answered with one sentence and status 2.
# Needs root (DPDK): CI has it.
set -euo pipefail
build=$1
src=$2
if [ "$(id -u)" != 0 ]; then
  echo "appliances_test: needs root (DPDK); CI runs it as root" >&2
  exit 1
fi
tmp=$(mktemp -d /tmp/bypass-appliances-XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
huge=true
[ "${BYPASS_TEST_NO_HUGE:-0}" = 1 ] && huge=false
fail() { echo "appliances_test: $*" >&2; exit 1; }

config() {  # config KIND TABLE
  python3 "$src/bench/appliances/make_pcap.py" "$1" "$tmp/$1.pcap" --frames 512
  cat <<EOF2
[eal]
huge_pages = $huge
memory_mb = 256
[[port]]
name = "in"
device = "net_pcap_$1,rx_pcap=$tmp/$1.pcap,infinite_rx=1"
[[worker]]
cpu = $(($(nproc) - 1))
rx = ["in:0"]
[control]
socket = "off"
$2
EOF2
}

# 1. Firewall: deny all but high UDP ports on IPv4, then SIGHUP with a rule for IPv6.
rule_high='[[firewall.rule]]
name = "udp_high"
action = "allow"
proto = "udp"
dst = "198.18.0.0/15"
dport = "1024-65535"'
config firewall "[firewall]
default = \"deny\"
$rule_high" > "$tmp/fw.toml"
"$build/examples/firewall/bypass-firewall" -c "$tmp/fw.toml" -q --stats-json "$tmp/fw.json" \
  > "$tmp/fw.out" 2>&1 &
pid=$!
for _ in $(seq 300); do [ -s "$tmp/fw.json" ] && break; sleep 0.1; done
[ -s "$tmp/fw.json" ] || { cat "$tmp/fw.out"; fail "bypass-firewall did not start"; }
cat >> "$tmp/fw.toml" <<'EOF2'
[[firewall.rule]]
name = "v6_docs"
action = "allow"
src = "2001:db8::/32"
EOF2
kill -HUP "$pid"
for _ in $(seq 300); do grep -q "reload: .* applied" "$tmp/fw.out" && break; sleep 0.1; done
lines=$(wc -l < "$tmp/fw.json")
for _ in $(seq 300); do [ "$(wc -l < "$tmp/fw.json")" -gt $((lines + 1)) ] && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid" || { cat "$tmp/fw.out"; fail "bypass-firewall failed"; }
pid=
out=$(cat "$tmp/fw.out")
grep -q "reload: .* applied" <<<"$out" || { echo "$out"; fail "the firewall did not reload"; }
grep -Eq "firewall.v6_docs: [1-9]" <<<"$out" || { echo "$out"; fail "the rule added on SIGHUP got no hits"; }
grep -Eq "drop denied: [1-9]" <<<"$out" || { echo "$out"; fail "nothing denied"; }
grep -q "mbufs in use at exit: 0" <<<"$out" || { echo "$out"; fail "the firewall leaked"; }

# 2. Load balancer: every frame is for the virtual service and goes out wrapped.
config l4lb '[l4lb]
vip = "198.18.0.100"
port = 80
self = "198.18.0.1"
gateway_mac = "02:00:00:00:00:fe"
backends = ["198.18.1.1", "198.18.1.2"]' > "$tmp/lb.toml"
out=$("$build/examples/l4lb/bypass-l4lb" -c "$tmp/lb.toml" -t 0.5 -q 2>&1) || { echo "$out"; fail "bypass-l4lb failed"; }
grep -Eq "module l4lb0: in [1-9][0-9]* dropped 0" <<<"$out" || { echo "$out"; fail "the load balancer dropped frames"; }

# 3. Policer: 256 sources far over 2 kB/s each: red is dropped as over_rate.
config policer '[policer]
cir = 2000
cbs = 2000
ebs = 2000' > "$tmp/pol.toml"
out=$("$build/examples/policer/bypass-policer" -c "$tmp/pol.toml" -t 0.5 -q 2>&1) || { echo "$out"; fail "bypass-policer failed"; }
grep -Eq "drop over_rate: [1-9]" <<<"$out" || { echo "$out"; fail "the policer dropped nothing"; }
grep -Eq "policer.green: [1-9]" <<<"$out" || { echo "$out"; fail "the policer let nothing through"; }

# 4. A mistake in a rule: one sentence, status 2, nothing started.
config firewall '[firewall]
[[firewall.rule]]
action = "allow"
dst = "198.18.0.0/40"' > "$tmp/bad.toml"
set +e
out=$("$build/examples/firewall/bypass-firewall" -c "$tmp/bad.toml" 2>&1)
rc=$?
set -e
[ "$rc" = 2 ] || { echo "$out"; fail "a bad rule gave status $rc, not 2"; }
[ "$out" = "bypass-firewall: [[firewall.rule]] 1.dst has a prefix length out of 0-32." ] ||
  { echo "$out"; fail "a bad rule's message is not the one sentence expected"; }
# -t that is not a number of seconds (nan ran until killed, "" as 0).
for t in nan ""; do
  set +e
  out=$("$build/examples/firewall/bypass-firewall" -c "$tmp/bad.toml" -t "$t" 2>&1)
  rc=$?
  set -e
  [ "$rc" = 2 ] && [ "$out" = "bypass-firewall: -t takes a number of seconds (0: until stopped), not '$t'." ] ||
    { echo "$out"; fail "-t '$t' gave status $rc"; }
done
# 5. A device that resets (injected) stops an appliance and the port filter
#    (both run by Runtime::run): one sentence naming the port, status 1, no leak.
reset_config() {  # reset_config PORTS TABLE
  printf '[eal]\nhuge_pages = %s\nmemory_mb = 256\n[control]\nsocket = "off"\n' "$huge"
  for n in $(seq 0 $(($1 - 1))); do
    printf '[[port]]\nname = "n%s"\ndevice = "net_null%s"\n' "$n" "$n"
    printf '[port.faults]\nreset_after_polls = 20000\n'
  done
  printf '[[worker]]\ncpu = %s\n%s\n' "$(($(nproc) - 1))" "$2"
}
reset_config 1 '[policer]
cir = 2000' > "$tmp/reset-pol.toml"
reset_config 2 '' > "$tmp/reset-pf.toml"
for run in "examples/policer/bypass-policer -c $tmp/reset-pol.toml -q" \
           "examples/port_filter/bypass-port-filter -c $tmp/reset-pf.toml --block 53"; do
  set +e
  # shellcheck disable=SC2086
  out=$(timeout 60 "$build"/$run -t 120 2>&1)
  rc=$?
  set -e
  [ "$rc" = 1 ] || { echo "$out"; fail "${run%% *} gave status $rc after a device reset, not 1"; }
  grep -q "port 'n0' (net_null) was reset by its device" <<<"$out" ||
    { echo "$out"; fail "${run%% *} did not say which port reset"; }
  grep -q "mbufs in use at exit: 0" <<<"$out" || { echo "$out"; fail "${run%% *} leaked"; }
done
echo "appliances_test: firewall reloaded on SIGHUP, l4lb wrapped, policer dropped red, a bad rule refused, a device reset stopped the policer and the port filter"
