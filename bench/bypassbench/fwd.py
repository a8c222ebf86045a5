"""scripts/bench-fwd: its command line, the trials in alternating order and
the cleanup. What it measures and why is described at the top of
scripts/bench-fwd (the text --help points to)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import types

from .cases import FwdCase
from .processes import (ProcessGroup, TrialFailed, Workspace, huge_pages_free_mb,
                        hugetlbfs_mounted, log, meson_build)
from .report import fwd_report, fwd_trial_line

USAGE = """\
usage: scripts/bench-fwd [options]

Runs bypass-fwd and dpdk-testpmd in 5tswap mode on net_memif, one CPU each,
against a dpdk-testpmd generator on another CPU; prints median/min/max Mpps
and the bypass/testpmd ratio, and writes JSON.

  -n, --trials N       trials per forwarder (default 5)
  -d, --duration S     seconds measured per trial, after the warm-up (default 5)
  -w, --warmup S       seconds of traffic skipped at the start of a trial (default 1)
  -g, --gen MODE       txonly (default), flowgen, or null (no generator: net_null
                       port); see the top of this file
  -s, --size BYTES     frame size (default 64)
      --fwd-cpu N      CPU of the forwarder under test (default 0)
      --gen-cpu N      CPU of the generator (default 1)
      --huge MODE      auto (default: huge pages if 640 MB of them are free), yes, no
      --tx-retries N   bypass-fwd [fwd].tx_retries (default: bypass-fwd's own, 4)
      --only WHICH     run only bypass or only testpmd
      --nice N         run the three DPDK processes at this nice level (default 0);
                       -10 or lower keeps other work on the machine from taking the
                       CPUs (and stalls that work while the benchmark runs)
  -o, --json FILE      JSON output (default results/bench-fwd.json)
      --keep-logs DIR  keep every process's log and the bypass-fwd config in DIR
  -h, --help           this text

Environment: BYPASS_FWD=path to bypass-fwd (default build/apps/fwd/bypass-fwd,
built with meson if missing), TESTPMD=path to dpdk-testpmd.
"""

# flag -> option name; every option takes a value
FLAGS = {"-n": "trials", "--trials": "trials", "-d": "duration", "--duration": "duration",
         "-w": "warmup", "--warmup": "warmup", "-g": "gen", "--gen": "gen",
         "-s": "size", "--size": "size", "--fwd-cpu": "fwd_cpu", "--gen-cpu": "gen_cpu",
         "--huge": "huge", "--tx-retries": "tx_retries", "--only": "only", "--nice": "nice",
         "-o": "json", "--json": "json", "--keep-logs": "keep_logs"}


class Usage(Exception):
    """A bad command line or setup: the message, exit status 2."""


def parse_args(root, argv):
    o = {"trials": "5", "duration": "5", "warmup": "1", "gen": "txonly", "size": "64",
         "fwd_cpu": "0", "gen_cpu": "1", "huge": "auto", "tx_retries": "", "only": "",
         "nice": "0", "json": os.path.join(root, "results", "bench-fwd.json"), "keep_logs": ""}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            sys.exit(0)
        if arg not in FLAGS:
            sys.stderr.write(USAGE)
            raise Usage(f"unknown argument '{arg}'")
        if i + 1 >= len(argv) or argv[i + 1] == "":
            raise Usage(f"{arg} needs a value")
        o[FLAGS[arg]] = argv[i + 1]
        i += 2
    return check_args(types.SimpleNamespace(**o))


def check_args(o):
    uint = lambda v: re.fullmatch(r"[0-9]+", v) is not None
    if not uint(o.trials) or int(o.trials) < 1:
        raise Usage("--trials must be a whole number >= 1")
    if not uint(o.duration) or int(o.duration) < 1:
        raise Usage("--duration must be whole seconds >= 1")
    if not uint(o.warmup):
        raise Usage("--warmup must be a whole number of seconds")
    if not uint(o.size) or not 64 <= int(o.size) <= 1518:
        raise Usage("--size must be from 64 to 1518")
    if not uint(o.fwd_cpu) or not uint(o.gen_cpu):
        raise Usage("--fwd-cpu and --gen-cpu must be CPU numbers")
    if int(o.fwd_cpu) == int(o.gen_cpu):
        raise Usage("the forwarder and the generator need different CPUs")
    if o.tx_retries and not uint(o.tx_retries):
        raise Usage("--tx-retries must be a whole number")
    if o.gen not in ("txonly", "flowgen", "null"):
        raise Usage("--gen must be txonly, flowgen or null")
    if o.huge not in ("auto", "yes", "no"):
        raise Usage("--huge must be auto, yes or no")
    if o.only not in ("", "bypass", "testpmd"):
        raise Usage("--only must be bypass or testpmd")
    if not re.fullmatch(r"-?[0-9]+", o.nice) or not -20 <= int(o.nice) <= 19:
        raise Usage("--nice must be from -20 to 19")
    for k in ("trials", "duration", "warmup", "size", "fwd_cpu", "gen_cpu", "nice"):
        setattr(o, k, int(getattr(o, k)))
    for c in (o.fwd_cpu, o.gen_cpu):
        try:
            ok = subprocess.run(["taskset", "-c", str(c), "true"], capture_output=True).returncode == 0
        except OSError:
            ok = False
        if not ok:
            raise Usage(f"CPU {c} is not available to this process (see nproc/taskset)")
    return o


def find_programs(root, o):
    """dpdk-testpmd and bypass-fwd (built with meson when it is the default one and missing)."""
    for tool, package in (("taskset", "util-linux"), ("stdbuf", "coreutils")):
        if not shutil.which(tool):
            raise Usage(f"{tool} ({package}) is needed")
    o.testpmd = os.environ.get("TESTPMD") or shutil.which("dpdk-testpmd") or ""
    if not (o.testpmd and os.access(o.testpmd, os.X_OK)):
        raise Usage("dpdk-testpmd not found: install the dpdk package (scripts/bootstrap) or set TESTPMD")
    if os.geteuid() != 0:
        log("bench-fwd: warning: not root; DPDK may refuse to start")
    default = os.path.join(root, "build", "apps", "fwd", "bypass-fwd")
    o.bypass_fwd = os.environ.get("BYPASS_FWD") or default
    if not os.access(o.bypass_fwd, os.X_OK) and o.only != "testpmd":
        if o.bypass_fwd != default:
            raise Usage(f"BYPASS_FWD={o.bypass_fwd} is not an executable")
        log("bench-fwd: building bypass-fwd in build/")
        build = os.path.join(root, "build")
        meson_build(root, build, ["bypass-fwd"], setup=not os.path.isdir(build))
        if not os.access(o.bypass_fwd, os.X_OK):
            raise Usage(f"the build did not produce {o.bypass_fwd}")


def pick_memory(mode):
    """"yes" or "no": auto takes huge pages when 640 MB of them are free."""
    if mode == "auto":
        return "yes" if hugetlbfs_mounted() and huge_pages_free_mb() >= 640 else "no"
    if mode == "yes" and (not hugetlbfs_mounted() or huge_pages_free_mb() < 512):
        raise Usage("--huge yes but fewer than 512 MB of huge pages are free: reserve some "
                    "(scripts/bootstrap)")
    return mode


def run_trials(o, case):
    kinds = [k for k in ("bypass", "testpmd") if o.only in ("", k)]
    setup = (f"forwarder on CPU {o.fwd_cpu} with a net_null port, no generator" if o.gen == "null"
             else f"forwarder on CPU {o.fwd_cpu}, generator testpmd {o.gen} on CPU {o.gen_cpu}")
    log(f"bench-fwd: {o.trials} trial(s) x {o.duration}s (+{o.warmup}s warm-up) per forwarder; "
        f"{setup}, {o.size} B frames, {'huge pages' if o.huge == 'yes' else 'no huge pages'}")
    trials = []
    for t in range(1, o.trials + 1):
        order = list(reversed(kinds)) if t % 2 == 0 and len(kinds) == 2 else kinds
        for k in order:
            print(f"bench-fwd: trial {t}/{o.trials} {k:<8} ", end="", file=sys.stderr, flush=True)
            trial = case.run(k, t)
            log(fwd_trial_line(trial))
            trials.append(trial)
    return trials


def main(root, argv=None):
    """scripts/bench-fwd; root: the repository's top directory."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        o = parse_args(root, argv)
        find_programs(root, o)
        o.huge = pick_memory(o.huge)
    except Usage as e:
        log(f"bench-fwd: {e}")
        return 2
    except subprocess.CalledProcessError as e:
        return e.returncode
    pid = os.getpid()
    ws = Workspace("bench-fwd", "bypass-bench-fwd.", f"/tmp/bypass-bench-{pid}.sock",
                   f"bench-fwd-{{what}}-{pid}", work_parent="/tmp")
    o.sock = ws.sock
    procs = ProcessGroup("bench-fwd")

    def on_signal(sig, frame):
        raise KeyboardInterrupt if sig == signal.SIGINT else SystemExit(128 + sig)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        case = FwdCase(o, ws, procs, o.bypass_fwd, o.testpmd, o.huge == "yes")
        if o.only != "testpmd":
            case.write_config()
        trials = run_trials(o, case)
        os.makedirs(os.path.dirname(o.json) or ".", exist_ok=True)
        fwd_report(trials, o)
    except TrialFailed as e:
        log(f"bench-fwd: {e}")
        return 2
    except KeyboardInterrupt:
        log("bench-fwd: interrupted")
        return 130
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        procs.stop_all()
        ws.cleanup(o.keep_logs or None)
    return 0
