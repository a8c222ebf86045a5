"""Starting, watching and stopping the processes a benchmark runs, and cleaning
up what a run leaves on the machine: network namespaces and their veth pair,
the memif socket, DPDK's runtime directories and the work directory of logs
and configs. Also the small facts about the machine the scripts ask for
(huge pages, a free UDP port, kernel UDP counters, schedstat)."""
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class TrialFailed(Exception):
    """A trial cannot give a result: a process died, no traffic, no output."""


class Proc:
    """A child pinned to one CPU, stdout line-buffered into a log, in a session
    of its own (so a Ctrl-C reaches only the script, which stops the children
    in an order that does not crash them). Optionally inside a netns, with
    bpffs mounted in the private mount namespace `ip netns exec` makes."""

    def __init__(self, group, name, argv, logpath, cpu, role, netns=None, bpffs=False, nice=0):
        cmd = ["taskset", "-c", str(cpu), "stdbuf", "-oL"] + argv
        if nice:
            cmd = ["nice", "-n", str(nice)] + cmd
        if netns:
            pre = ["ip", "netns", "exec", netns]
            if bpffs:
                pre += ["sh", "-c",
                        'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf; exec "$@"', "sh"]
            cmd = pre + cmd
        self.group, self.name, self.log, self.role, self.cmd = group, name, logpath, role, cmd
        self.stats_json = None  # the --stats-json file it writes, if it was given one
        with open(logpath, "w") as f:
            f.write("# " + " ".join(cmd) + "\n")
            f.flush()
            self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def send(self, sig):
        if self.alive():
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """sig, then SIGKILL after `timeout` s; returns the exit status."""
        if self.alive():
            self.send(signal.SIGCONT)
            self.send(sig)
            if self.wait(timeout) is None:
                log(f"{self.group.program}: {self.name} did not stop on "
                    f"{signal.Signals(sig).name}: killing it")
                self.send(signal.SIGKILL)
                self.wait(5)
        self.group.forget(self)
        return self.p.returncode


class ProcessGroup:
    """The children of one script that may still run. Roles: "gen" for load
    generators, anything else ("server") for the program under test."""

    def __init__(self, program):
        self.program = program  # the script's name, for its messages
        self.live = []

    def start(self, name, argv, logpath, cpu, role, **kw):
        p = Proc(self, name, argv, logpath, cpu, role, **kw)
        self.live.append(p)
        return p

    def forget(self, proc):
        if proc in self.live:
            self.live.remove(proc)

    def stop_all(self):
        """Generators are frozen first, servers stop cleanly, then generators go:
        a memif peer that vanishes under a polling process can crash it."""
        for p in self.live:
            if p.role == "gen":
                p.send(signal.SIGSTOP)
        for p in list(self.live):
            if p.role != "gen":
                p.stop()
        for p in list(self.live):
            p.send(signal.SIGKILL)
            p.wait(5)
            self.live.remove(p)


def wait_until(pred, timeout, proc=None):
    """True once pred() holds within `timeout` s; False on timeout or when
    `proc` exits first."""
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        if proc is not None and not proc.alive():
            return False
        time.sleep(0.1)
    return False


def wait_for(pred, timeout, proc=None, what="", log_of=None):
    """As wait_until, but raises TrialFailed saying what did not happen."""
    if wait_until(pred, timeout, proc):
        return
    if proc is not None and not proc.alive():
        raise TrialFailed(f"{proc.name} exited (status {proc.p.returncode}) before {what}: "
                          + tail(proc))
    raise TrialFailed(f"timed out after {timeout} s waiting for {what}"
                      + (": " + tail(log_of) if log_of else ""))


def tail(proc, n=3):
    """The last n non-empty lines of a process's log, on one line."""
    lines = [l for l in proc.text().splitlines() if l.strip() and not l.startswith("#")]
    return " | ".join(lines[-n:])


def is_socket(path):
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def print_tail(path, n=20):
    """The last n lines of a log file, to stderr."""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return
    for line in lines[-n:]:
        print(line, file=sys.stderr)
    sys.stderr.flush()


def sched_snapshot(procs):
    """Per process name, per thread: (run ns, run-queue wait ns), from schedstat."""
    out = {}
    for p in procs:
        d = {}
        try:
            for tid in os.listdir(f"/proc/{p.pid}/task"):
                with open(f"/proc/{p.pid}/task/{tid}/schedstat") as f:
                    run, wait, _ = f.read().split()
                    d[tid] = (int(run), int(wait))
        except (OSError, ValueError):
            pass
        out[p.name] = d
    return out


def cpu_share(a, b, name, digits=3):
    """run / (run + run-queue wait) of the process's busiest thread between two
    snapshots: below 1, other work on the machine took the rest of its CPU."""
    best = None
    for tid, (r1, w1) in b.get(name, {}).items():
        if tid in a.get(name, {}):
            d = (r1 - a[name][tid][0], w1 - a[name][tid][1])
            if best is None or d[0] > best[0]:
                best = d
    if not best or best[0] + best[1] <= 0:
        return None
    return round(best[0] / (best[0] + best[1]), digits)


def sh(*cmd, check=True):
    """A command's stdout; with check, TrialFailed when it fails."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        if check:
            raise TrialFailed(f"{cmd[0]}: {e}")
        return ""
    if check and r.returncode != 0:
        raise TrialFailed(f"{' '.join(cmd)}: {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


def dpdk_version():
    try:
        return subprocess.run(["pkg-config", "--modversion", "libdpdk"], capture_output=True,
                              text=True, timeout=5).stdout.strip()
    except Exception:
        return ""


def meson_build(root, build, targets, setup, jobs=None):
    """`meson setup` (when asked) and `meson compile` of some targets; output to stderr."""
    if setup:
        subprocess.run(["meson", "setup", build, root], check=True, stdout=sys.stderr)
    subprocess.run(["meson", "compile", "-C", build] + (["-j", jobs] if jobs else []) + list(targets),
                   check=True, stdout=sys.stderr)


# ---- what a run leaves behind --------------------------------------------------

class Workspace:
    """The work directory (logs, configs, stats files), the memif socket path,
    the DPDK file prefixes handed out and the network namespaces made; cleanup()
    removes them all."""

    def __init__(self, program, work_prefix, sock, prefix_format, work_parent=None):
        self.program = program
        self.work = tempfile.mkdtemp(prefix=work_prefix, dir=work_parent)
        self.sock = sock
        self.prefix_format = prefix_format  # "{what}" in it: what the prefix is for
        self.prefixes = set()
        self.netns = []

    def path(self, name):
        return os.path.join(self.work, name)

    def prefix(self, what):
        p = self.prefix_format.format(what=what)
        self.prefixes.add(p)
        return p

    def remove_socket(self):
        try:
            os.unlink(self.sock)
        except OSError:
            pass

    def add_netns(self, name):
        sh("ip", "netns", "add", name)
        self.netns.append(name)

    def delete_netns(self):
        for ns in self.netns:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.netns = []

    def remove_dpdk_runtime_dirs(self):
        bases = ("/var/run/dpdk",
                 os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent"), "dpdk"))
        for p in self.prefixes:
            for base in bases:
                shutil.rmtree(os.path.join(base, p), ignore_errors=True)

    def cleanup(self, keep_logs=None):
        """After the processes have stopped: namespaces, socket, runtime
        directories; the work directory, copied to keep_logs first if given."""
        self.delete_netns()
        self.remove_socket()
        self.remove_dpdk_runtime_dirs()
        if keep_logs:
            os.makedirs(keep_logs, exist_ok=True)
            for f in os.listdir(self.work):
                shutil.copy(os.path.join(self.work, f), keep_logs)
            log(f"{self.program}: logs kept in {keep_logs}")
        shutil.rmtree(self.work, ignore_errors=True)


class VethPair:
    """Two namespaces (server S, generator G) joined by a veth pair: 198.18.0.2/24
    on S's end, each kernel with its defaults (IPv6 on, its link chatter
    included; transmit checksums left to an offload, which bypass-gen's receiver
    takes as a veth delivers them). S resolves the generator's 198.18.0.1 by
    ARP, which bypass-gen answers (its port has that address)."""

    def __init__(self, ws, pid):
        self.ns_s, self.ns_g = f"bcmp-s-{pid}", f"bcmp-g-{pid}"
        self.if_s, self.if_g = f"bcs{pid}"[:15], f"bcg{pid}"[:15]
        s, g = self.ns_s, self.ns_g
        ws.add_netns(s)
        ws.add_netns(g)
        sh("ip", "link", "add", self.if_s, "netns", s, "type", "veth", "peer", "name", self.if_g,
           "netns", g)
        for ns, ifn in ((s, self.if_s), (g, self.if_g)):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "set", ifn, "up")
        sh("ip", "-n", s, "addr", "add", "198.18.0.2/24", "dev", self.if_s)

    def xdp_mode(self):
        """How XDP is attached to the server's end: generic, native or unknown."""
        link = sh("ip", "-n", self.ns_s, "link", "show", self.if_s)
        return ("generic (skb)" if "xdpgeneric" in link else
                "native (veth driver)" if re.search(r"\bxdp\b", link) else "unknown")


# ---- facts about the machine ---------------------------------------------------

def hugetlbfs_mounted():
    with open("/proc/mounts") as f:
        return any(len(l.split()) > 2 and l.split()[2] == "hugetlbfs" for l in f)


def huge_pages_free_mb():
    with open("/proc/meminfo") as f:
        info = f.read()
    free = re.search(r"HugePages_Free:\s+(\d+)", info)
    size = re.search(r"Hugepagesize:\s+(\d+)", info)
    return int(free[1]) * int(size[1]) // 1024 if free and size else 0


def udp_snmp(ns):
    """The Udp: counters of /proc/net/snmp in a namespace."""
    text = sh("ip", "netns", "exec", ns, "cat", "/proc/net/snmp", check=False)
    rows = [l.split()[1:] for l in text.splitlines() if l.startswith("Udp:")]
    if len(rows) < 2:
        return {}
    return {k: int(v) for k, v in zip(rows[0], rows[1])}


def free_udp_port(pid):
    for port in [20000 + pid % 20000] + list(range(40000, 40100)):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    return 40007
