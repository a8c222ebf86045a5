"""What the load comparisons against bypass-udpd's netcode service share
(scripts/bench-messages, scripts/bench-netcode): the veth pair between two
network namespaces, bypass-udpd started on its Linux sockets backend or on
net_af_xdp, the CPU time each side spent, and a load client run to its end.

Server CPU time: for the sockets backend, the process's user + system time
from /proc; for a poll-mode DPDK worker, which is never idle, its busy
cycles (polls that carried packets) from the stats JSON it writes."""
import json
import os
import select
import subprocess
import sys
import time

KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeeff"
PROTOCOL_ID = 4660


def sh(*cmd, check=True, who="bench"):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"{who}: {' '.join(cmd)} failed: {r.stderr.strip()}")
    return r


def cpu_times(pid):
    """(user, system) CPU seconds of a running process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid):
    """utime + stime of a running process, in seconds."""
    return sum(cpu_times(pid))


def client_with_cpu(argv, seconds):
    """Runs a load client to its end: exit code, stdout, stderr and its CPU
    seconds (user + system, children included)."""
    before = os.times()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system -
                                                          before.children_system)
    return p.returncode, out, err, cpu


class Veth:
    """A veth pair: `host_if` in namespace `host_ns` (198.18.7.1/24), the
    other end `srv_if` in `srv_ns`, addressed (198.18.7.2/24) only when a
    kernel socket serves on it (AF_XDP takes the bare interface)."""
    HOST, SERVER = "198.18.7.1", "198.18.7.2"

    def __init__(self, tag, who):
        self.host_ns, self.srv_ns = f"{tag}h", f"{tag}s"
        self.host_if, self.srv_if = f"{tag}a", f"{tag}b"
        self.who = who

    def setup(self, server_address=False):
        self.teardown()
        sh("ip", "netns", "add", self.host_ns, who=self.who)
        sh("ip", "netns", "add", self.srv_ns, who=self.who)
        sh("ip", "link", "add", "name", self.host_if, "netns", self.host_ns, "type", "veth",
           "peer", "name", self.srv_if, "netns", self.srv_ns, who=self.who)
        for ns, ifname in ((self.host_ns, self.host_if), (self.srv_ns, self.srv_if)):
            sh("ip", "-n", ns, "link", "set", "lo", "up", who=self.who)
            sh("ip", "-n", ns, "link", "set", ifname, "up", who=self.who)
        sh("ip", "-n", self.host_ns, "addr", "add", f"{self.HOST}/24", "dev", self.host_if,
           who=self.who)
        if server_address:
            sh("ip", "-n", self.srv_ns, "addr", "add", f"{self.SERVER}/24", "dev", self.srv_if,
               who=self.who)

    def teardown(self):
        for ns in (self.host_ns, self.srv_ns):
            sh("ip", "netns", "del", ns, check=False)


class Udpd:
    """bypass-udpd serving one [[udpd.service]] on CPU 1: on the sockets
    backend over loopback (`where` = "loopback") or on the veth's server end
    (`where` = "veth"), or on net_af_xdp on the veth (backend "af_xdp")."""

    def __init__(self, build, backend, where, veth, who):
        self.udpd = os.path.join(build, "apps/udpd/bypass-udpd")
        self.backend, self.where, self.veth, self.who = backend, where, veth, who
        self.name = "bypass-" + backend if where != "veth" or backend != "sockets" else \
            "bypass-sockets-veth"

    def on_veth(self):
        return self.backend != "sockets" or self.where == "veth"

    def start(self, tmp, port, service):
        """`service`: the lines of the [[udpd.service]] table after its port."""
        self.port = port
        self.stats = os.path.join(tmp, f"stats-{self.name}.jsonl")
        if os.path.exists(self.stats):
            os.unlink(self.stats)
        table = f'[[udpd.service]]\nport = {port}\n{service}'
        prefix = []
        if self.backend == "sockets":
            self.host = Veth.SERVER if self.where == "veth" else "127.0.0.1"
            cfg = (f'[[worker]]\ncpu = 1\n[udpd]\nbackend = "sockets"\nbind = ["{self.host}"]\n'
                   + table)
        else:
            self.host = Veth.SERVER
            cfg = (f'[eal]\ncontrol_cpu = 0\nhuge_pages = true\nmemory_mb = 512\n'
                   f'file_prefix = "{self.who}"\n[memory]\npool_size = 16383\n'
                   f'[[port]]\nname = "veth"\ndevice = "net_af_xdp0,iface={self.veth.srv_if}"\n'
                   f'addresses = ["{Veth.SERVER}/24"]\n[[worker]]\ncpu = 1\n' + table)
        if self.on_veth():
            self.veth.setup(server_address=self.backend == "sockets")
            prefix = ["ip", "netns", "exec", self.veth.srv_ns]
        path = os.path.join(tmp, f"udpd-{self.name}.toml")
        with open(path, "w") as f:
            f.write(cfg)
        self.p = subprocess.Popen(prefix + [self.udpd, "-c", path, "-q", "-t", "3600",
                                            "--stats-json", self.stats],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Waits for its "serving UDP" line 30 s at most: a server that hangs
        # before it says anything must not hang the benchmark.
        # (Raw reads of the pipe: a buffered readline could hold the line
        # back while select() waits on the descriptor.)
        deadline = time.time() + 30
        fd = self.p.stdout.fileno()
        seen = b""
        serving = False
        while not serving and time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], max(deadline - time.time(), 0))
            if not ready:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
            serving = b"serving UDP" in seen
        if not serving:
            self.p.kill()
            _, err = self.p.communicate(timeout=30)
            if self.on_veth():
                self.veth.teardown()
            sys.exit(f"{self.who}: bypass-udpd did not start within 30 s: {err.strip()}")
        self.cpu0 = cpu_seconds(self.p.pid)
        self.sys0 = cpu_times(self.p.pid)[1]

    def client_prefix(self):
        """What a client runs under: the host namespace when on the veth."""
        return ["ip", "netns", "exec", self.veth.host_ns] if self.on_veth() else []

    def stop(self):
        """Stops it; the CPU seconds its work took (see the module's note).
        `sys_s`: the part of it spent in the kernel (system calls, and on a
        veth the delivery of what it sent)."""
        cpu = cpu_seconds(self.p.pid) - self.cpu0
        self.sys_s = cpu_times(self.p.pid)[1] - self.sys0
        self.p.send_signal(15)
        self.p.communicate(timeout=30)
        if self.on_veth():
            self.veth.teardown()
        if self.backend == "sockets":
            return cpu
        last = None
        with open(self.stats) as f:
            for line in f:
                if line.strip():
                    last = json.loads(line)
        if not last:
            return cpu
        busy = sum(w.get("busy_cycles", 0) for w in last.get("workers", []))
        return busy / last["tsc_hz"]
