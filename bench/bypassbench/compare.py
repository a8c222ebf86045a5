"""scripts/bench-compare: its command line, the order of the trials, the
replay of an earlier run's JSON and the cleanup. What each case measures is
described at the top of scripts/bench-compare and in docs/bench-compare.md."""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from .cases import CompareCases
from .processes import TrialFailed, huge_pages_free_mb, hugetlbfs_mounted, log, meson_build
from .report import describe, report, trial_median, trial_values

ALL_CASES = ("A", "B", "C", "D", "D0", "D1", "L")


class Bench(CompareCases):
    """One bench-compare run: which trials run in which order, and their results."""

    def __init__(self, a, root, huge, testpmd):
        super().__init__(a, root, huge, testpmd)
        self.root = root
        self.trials = []
        self.notes = []

    def ensure_built(self):
        missing = [k for k, v in self.bin.items() if not os.access(v, os.X_OK)]
        if not missing:
            return
        log(f"bench-compare: building {', '.join(missing)} in {self.build}")
        meson_build(self.root, self.build, list(self.bin),
                    setup=not os.path.exists(os.path.join(self.build, "build.ninja")),
                    jobs=os.environ.get("BUILD_JOBS") or None)
        for k, v in self.bin.items():
            if not os.access(v, os.X_OK):
                sys.exit(f"bench-compare: the build did not produce {v}")

    def cleanup(self):
        self.procs.stop_all()
        self.ws.cleanup(self.a.keep_logs)

    def trial(self, case, kind, rep, fn, **kw):
        """Runs one case method; a failure is recorded with its reason, the run goes on."""
        t = {"case": case, "kind": kind, "rep": rep, "loadavg_1min": os.getloadavg()[0],
             "start": time.strftime("%H:%M:%S")}
        log_line = f"bench-compare: {case} {rep}/{self.a.reps} {kind:<14}"
        try:
            t.update(fn(kind, f"{case}{rep}-{kind}", **kw))
            t["ok"] = True
        except TrialFailed as e:
            t["ok"] = False
            t["error"] = str(e)[:500]
        except Exception as e:  # a failed trial is reported, it does not end the run
            t["ok"] = False
            t["error"] = f"{type(e).__name__}: {e}"[:500]
        finally:
            self.procs.stop_all()
        if t["ok"]:
            log(f"{log_line} {describe(t)}")
        else:
            log(f"{log_line} FAILED: {t['error']}")
        self.trials.append(t)
        return t

    def run(self):
        a = self.a
        cases = a.cases
        pairs = {"A": ("bypass", "testpmd"), "C": ("af_xdp", "sockets"),
                 "D": ("bypass-gen", "testpmd-txonly"), "D0": ("bypass-gen", "testpmd-txonly"),
                 "D1": ("bypass-gen", "testpmd-flowgen")}
        if "C" in cases:
            try:
                self.setup_veth()
                self.calibrate_c()
                if not self.c_rate:
                    self.notes.append("C: calibration failed, so C ran at bypass-gen's max rate")
            except Exception as e:
                log(f"bench-compare: C setup failed: {e}")
                self.notes.append(f"C: setup failed: {e}")
                cases = [c for c in cases if c != "C"]
        for rep in range(1, a.reps + 1):
            for case in ("A", "B", "C", "D", "D0", "D1"):
                if case not in cases:
                    continue
                if case == "B":
                    self.trial("B", "sockets", rep, self.case_b)
                    continue
                order = pairs[case] if rep % 2 else tuple(reversed(pairs[case]))
                for kind in order:
                    if case == "A":
                        self.trial("A", kind, rep, self.case_a)
                    elif case == "C":
                        self.trial("C", kind, rep, self.case_c, rate=self.c_rate)
                    else:
                        self.trial(case, kind, rep, self.case_d,
                                   peer="rxonly" if case == "D0" else "io")
        if "C" in cases:
            self.ws.delete_netns()
        if "L" in cases:
            self.run_latency()

    def run_latency(self):
        a_max = self.median("A", "bypass")
        b_max = self.median("B", "sockets")
        if a_max is None:
            self.notes.append("L: bypass rows skipped: no bypass maximum from A in this run")
        if b_max is None:
            self.notes.append("L: sockets rows skipped: no sockets maximum from B in this run")
        for rep in range(1, self.a.reps + 1):
            for pct in (10, 50, 90):
                if a_max:
                    self.trial(f"L{pct}", "bypass", rep, self.latency_bypass,
                               rate=a_max * 1e6 * pct / 100)
                if b_max:
                    self.trial(f"L{pct}", "sockets", rep, self.latency_sockets,
                               rate=b_max * 1e6 * pct / 100)

    values = lambda self, *a, **k: trial_values(self.trials, *a, **k)
    median = lambda self, *a, **k: trial_median(self.trials, *a, **k)


class Replay:
    """A finished run read back from its JSON (--from-json): the table and the
    chart again, without traffic."""

    def __init__(self, doc, a):
        st = doc["setup"]
        self.trials, self.notes = doc["trials"], doc.get("notes", [])
        self.c_rate, self.xdp_mode = st.get("c_offered_pps"), st.get("c_xdp_mode")
        self.c_calibration, self.huge = st.get("c_calibration_max_tx_mpps"), st.get("huge_pages")
        self.build, self.testpmd = st.get("build"), st.get("testpmd")
        self.date = doc["date"]
        for k in ("reps", "duration", "warmup", "server_cpu", "gen_cpu", "nice"):
            setattr(a, k, st.get(k if k in ("reps", "server_cpu", "gen_cpu", "nice") else k + "_s"))

    values = lambda self, *a, **k: trial_values(self.trials, *a, **k)
    median = lambda self, *a, **k: trial_median(self.trials, *a, **k)


def pick_memory(mode):
    """Huge pages or not: auto takes them when 640 MB are free."""
    mounted = hugetlbfs_mounted()
    if mode == "auto":
        return mounted and huge_pages_free_mb() >= 640
    if mode == "yes" and (not mounted or huge_pages_free_mb() < 512):
        sys.exit("bench-compare: --huge yes, but fewer than 512 MB of huge pages are free")
    return mode == "yes"


def parse_args(root, argv=None):
    ap = argparse.ArgumentParser(
        prog="scripts/bench-compare",
        description="bypass vs dpdk-testpmd and Linux sockets, side by side, one CPU per side.",
        epilog="Environment: BUILD=dir (default build; relative to the repository root) holds "
               "bypass-gen, bypass-udpd and bypass-client (built with meson if missing, with "
               "BUILD_JOBS jobs if set); TESTPMD=path to dpdk-testpmd.")
    ap.add_argument("--reps", type=int, default=5, help="repetitions of every case (default 5)")
    ap.add_argument("--duration", type=int, default=5, help="measured seconds per trial (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="seconds skipped at a trial's start (default 1)")
    ap.add_argument("--quick", action="store_true", help="1 repetition x 2 s")
    ap.add_argument("--cases", default="A,B,C,D,D0,D1,L",
                    help="comma-separated subset of A,B,C,D,D0,D1,L (default all; L needs A and B)")
    ap.add_argument("--server-cpu", type=int, default=0, help="CPU of the server under test (0)")
    ap.add_argument("--gen-cpu", type=int, default=1, help="CPU of the load generator (1)")
    ap.add_argument("--c-rate", default="auto",
                    help="C's offered load in packets/s, or auto: 90%% of the lower of bypass-gen's "
                         "max rates against either server, measured first (default auto)")
    ap.add_argument("--huge", choices=("auto", "yes", "no"), default="auto",
                    help="huge pages: auto (if 640 MB are free), yes, no")
    ap.add_argument("--nice", type=int, default=0,
                    help="nice level of every process started (default 0; -10 keeps other work off "
                         "the two CPUs, and stalls it)")
    ap.add_argument("--json", default=os.path.join(root, "results", "bench-compare.json"))
    ap.add_argument("--svg", default=os.path.join(root, "results", "bench-compare.svg"))
    ap.add_argument("--keep-logs", metavar="DIR", help="keep every log and config in DIR")
    ap.add_argument("--from-json", metavar="FILE",
                    help="no traffic: print the table and draw the chart of an earlier run's JSON")
    a = ap.parse_args(argv)
    if a.from_json:
        return a
    if a.quick:
        a.reps, a.duration = 1, 2
    a.cases = [c.strip().upper() for c in a.cases.split(",") if c.strip()]
    bad = [c for c in a.cases if c not in ALL_CASES]
    if bad:
        ap.error(f"unknown case(s) {','.join(bad)}: use A, B, C, D, D0, L")
    if a.reps < 1 or a.duration < 1 or a.warmup < 0:
        ap.error("--reps and --duration must be >= 1, --warmup >= 0")
    if a.server_cpu == a.gen_cpu:
        ap.error("the server and the generator need different CPUs")
    for c in (a.server_cpu, a.gen_cpu):
        if c not in os.sched_getaffinity(0):
            ap.error(f"CPU {c} is not available to this process")
    if a.c_rate != "auto":
        try:
            if float(a.c_rate) <= 0:
                raise ValueError
        except ValueError:
            ap.error("--c-rate must be auto or packets per second above 0")
    return a


def main(root, argv=None):
    """scripts/bench-compare; root: the repository's top directory."""
    a = parse_args(root, argv)
    if a.from_json:
        with open(a.from_json) as f:
            doc = json.load(f)
        if os.path.abspath(a.json) == os.path.abspath(a.from_json):
            a.json = os.path.join(tempfile.gettempdir(), "bench-compare-replay.json")
        report(Replay(doc, a), a)
        return 0
    if os.geteuid() != 0:
        sys.exit("bench-compare: run as root (DPDK, network namespaces, AF_XDP)")
    for tool in ("taskset", "stdbuf", "ip"):
        if not shutil.which(tool):
            sys.exit(f"bench-compare: {tool} is needed (scripts/bootstrap installs it)")
    testpmd = os.environ.get("TESTPMD") or shutil.which("dpdk-testpmd") or ""
    if not os.access(testpmd, os.X_OK):
        sys.exit("bench-compare: dpdk-testpmd not found: install dpdk (scripts/bootstrap) or set TESTPMD")
    b = Bench(a, root, pick_memory(a.huge), testpmd)

    def on_signal(sig, frame):
        raise KeyboardInterrupt if sig == signal.SIGINT else SystemExit(128 + sig)
    # SIGINT too, even if the caller ignores it (a background job of a script)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        b.ensure_built()
        log(f"bench-compare: cases {','.join(a.cases)}, {a.reps} rep(s) x {a.duration} s "
            f"(+{a.warmup} s warm-up), server CPU {a.server_cpu}, generator CPU {a.gen_cpu}, "
            f"{'huge pages' if b.huge else 'no huge pages'}; logs in {b.ws.work}")
        b.run()
        report(b, a)
    except KeyboardInterrupt:
        log("bench-compare: interrupted: stopping everything")
        return 130
    except subprocess.CalledProcessError as e:
        log(f"bench-compare: {' '.join(e.cmd)} failed (status {e.returncode})")
        return 2
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        b.cleanup()
    return 0
