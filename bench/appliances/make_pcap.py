#!/usr/bin/env python3
"""Writes a capture file of 64-byte frames that hits an appliance's rules,
for net_pcap's rx_pcap (with infinite_rx=1 the PMD replays it for ever).

  make_pcap.py firewall|l4lb|policer OUT.pcap [--frames N]

firewall: IPv4 UDP to 198.18.0.0/15 on high ports (allowed), to port 5000
          (denied by rule), TCP (no rule: the default) and IPv6 UDP from
          2001:db8::/32 (allowed), in the ratio 4:1:1:2.
l4lb:     UDP and TCP to the virtual service 198.18.0.100:80 from 1024
          client ports on 64 client addresses.
policer:  UDP from 256 sources in 198.19.0.0/24.
"""
import argparse
import ipaddress
import struct


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(ethertype: int) -> bytes:
    return bytes.fromhex("020000000002") + bytes.fromhex("020000000001") + struct.pack("!H", ethertype)


def ip4(src: str, dst: str, proto: int, l4: bytes) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64, proto, 0,
                      ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return eth(0x0800) + hdr + l4


def ip6(src: str, dst: str, proto: int, l4: bytes) -> bytes:
    hdr = struct.pack("!IHBB16s16s", 0x60000000, len(l4), proto, 64,
                      ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed)
    return eth(0x86DD) + hdr + l4


def udp(sport: int, dport: int, payload: bytes = b"bypass--") -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport: int, dport: int) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x02, 65535, 0, 0)


def frames(kind: str, n: int):
    for i in range(n):
        if kind == "firewall":
            k = i % 8
            if k < 4:
                yield ip4(f"198.19.{i % 256}.1", f"198.18.0.{k + 1}", 17, udp(40000 + i % 1000, 1024 + i % 60000))
            elif k == 4:
                yield ip4("198.19.0.1", "198.18.0.2", 17, udp(40000, 5000))
            elif k == 5:
                yield ip4("198.19.0.1", "198.18.0.2", 6, tcp(40000 + i % 1000, 80))
            else:
                yield ip6(f"2001:db8::{i % 256 + 1:x}", "2001:db8:1::2", 17, udp(40000, 7000))
        elif kind == "l4lb":
            client = f"198.19.{(i // 1024) % 64}.{1 + (i % 64)}"
            l4 = udp(10000 + i % 1024, 80) if i % 2 else tcp(10000 + i % 1024, 80)
            yield ip4(client, "198.18.0.100", 17 if i % 2 else 6, l4)
        else:
            yield ip4(f"198.19.0.{i % 256}", "198.18.0.2", 17, udp(40000, 9000))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=["firewall", "l4lb", "policer"])
    ap.add_argument("out")
    ap.add_argument("--frames", type=int, default=4096)
    a = ap.parse_args()
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames(a.kind, a.frames)):
            fr = fr + b"\0" * max(0, 60 - len(fr))
            f.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(fr), len(fr)) + fr)


if __name__ == "__main__":
    main()
