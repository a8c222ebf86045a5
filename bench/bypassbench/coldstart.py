"""bench-coldstart: from exec of bypass-udpd to the first UDP echo that a
Linux host in a network namespace gets back, and where the time goes.

Each trial makes a namespace with an ordinary host (198.18.0.1) joined by a
veth pair to bypass-udpd's end (AF_PACKET, huge pages when free), starts a
host-side sender that asks for an echo every 0.5 ms, then starts
bypass-udpd and takes the time of the first answer. bypass-udpd's own
start-up line gives the breakdown (EAL and memory, packet pool, ports).
Prints median (min-max) over the trials and writes JSON."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from .processes import huge_pages_free_mb, hugetlbfs_mounted, log, sh

# The host side: sends a numbered datagram every 0.5 ms until one comes
# back, then prints when (CLOCK_MONOTONIC, seconds) and exits.
SENDER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
deadline = time.monotonic() + float(sys.argv[1])
print("ready", flush=True)
n = 0
while time.monotonic() < deadline:
    try:
        s.sendto(n.to_bytes(8, "big"), ("198.18.0.2", 7))
    except OSError:
        pass  # no neighbour yet: the kernel says so until bypass-udpd answers ARP
    n += 1
    t = time.monotonic() + 0.0005
    while time.monotonic() < t:
        try:
            s.recv(64)
            print(f"answered {time.monotonic():.6f}", flush=True)
            sys.exit(0)
        except (BlockingIOError, ConnectionRefusedError):
            pass
sys.exit(1)
"""

STARTUP = re.compile(r"start-up: EAL and memory ([0-9.]+) ms, packet pool ([0-9.]+) ms "
                     r"\(\d+ mbufs\), ports ([0-9.]+) ms")


def trial(build, workdir, k, huge):
    ns, a, b = f"bcs-{os.getpid()}-{k}", f"bcs{os.getpid() % 10000}a{k}", f"bcs{os.getpid() % 10000}b{k}"
    udpd = None
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        sh("ip", "link", "set", b, "netns", ns)
        sh("sysctl", "-qw", f"net.ipv6.conf.{a}.disable_ipv6=1")
        sh("ip", "link", "set", a, "up")
        sh("ip", "-n", ns, "link", "set", b, "up")
        sh("ip", "-n", ns, "addr", "add", "198.18.0.1/24", "dev", b)
        cfg = os.path.join(workdir, f"udpd-{k}.toml")
        with open(cfg, "w") as f:
            f.write(f'[eal]\ncontrol_cpu = 0\nhuge_pages = {"true" if huge else "false"}\n'
                    f'file_prefix = "coldstart-{os.getpid()}-{k}"\n'
                    f'[[port]]\nname = "veth"\ndevice = "net_af_packet0,iface={a}"\n'
                    'addresses = ["198.18.0.2/24"]\n[[worker]]\ncpu = 1\n'
                    '[[udpd.service]]\nport = 7\nhandler = "echo"\n')
        sender = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SENDER, "20"],
                                  stdout=subprocess.PIPE, text=True)
        if sender.stdout.readline().strip() != "ready":
            raise RuntimeError("the host-side sender did not start")
        start = time.monotonic()
        udpd = subprocess.Popen([os.path.join(build, "apps", "udpd", "bypass-udpd"), "-c", cfg,
                                 "-q", "-t", "30"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = sender.stdout.readline().split()
        sender.wait(timeout=30)
        if len(line) != 2 or line[0] != "answered":
            raise RuntimeError("no echo came back within 20 s")
        first = (float(line[1]) - start) * 1000
        udpd.send_signal(2)
        out, _ = udpd.communicate(timeout=30)
        m = STARTUP.search(out)
        if not m:
            raise RuntimeError("bypass-udpd printed no start-up line:\n" + out[-2000:])
        return {"first_echo_ms": first, "eal_ms": float(m[1]), "pool_ms": float(m[2]),
                "ports_ms": float(m[3])}
    finally:
        if udpd and udpd.poll() is None:
            udpd.kill()
            udpd.wait()
        sh("ip", "link", "del", a, check=False)
        sh("ip", "netns", "del", ns, check=False)


def main(root):
    ap = argparse.ArgumentParser(prog="scripts/bench-coldstart", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--trials", type=int, default=5, help="trials (default 5)")
    ap.add_argument("--json", default=os.path.join(root, "results", "bench-coldstart.json"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench-coldstart: run it as root: it makes network namespaces.")
    build = os.path.join(root, os.environ.get("BUILD", "build"))
    if not os.access(os.path.join(build, "apps", "udpd", "bypass-udpd"), os.X_OK):
        sys.exit(f"bench-coldstart: no bypass-udpd in {build}: build it first (meson compile -C build).")
    huge = hugetlbfs_mounted() and huge_pages_free_mb() >= 512
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-coldstart-") as d:
        for k in range(a.trials):
            r = trial(build, d, k, huge)
            log(f"bench-coldstart: trial {k + 1}/{a.trials}: first echo {r['first_echo_ms']:.1f} ms "
                f"(EAL {r['eal_ms']:.1f}, pool {r['pool_ms']:.1f}, ports {r['ports_ms']:.1f})")
            rows.append(r)
    print(f"bypass-udpd cold start, AF_PACKET on a veth, huge pages: {'yes' if huge else 'no'}, "
          f"{a.trials} trials; median (min-max) ms")
    summary = {}
    for key, what in (("first_echo_ms", "exec to first echo at the host"),
                      ("eal_ms", "  EAL and memory"), ("pool_ms", "  packet pool"),
                      ("ports_ms", "  ports")):
        v = [r[key] for r in rows]
        summary[key] = {"median": statistics.median(v), "min": min(v), "max": max(v)}
        print(f"{what:32s} {statistics.median(v):8.1f} ({min(v):.1f}-{max(v):.1f})")
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump({"trials": rows, "summary": summary, "huge_pages": huge}, f, indent=1)
    print(f"JSON: {a.json}")
