"""Summaries of the trials: median, min and max over repetitions, ratios
against the peer, the tables printed to stdout and the JSON documents, for
bench-compare (report) and bench-fwd (fwd_report)."""
import math
import datetime
import json
import os
import platform
import statistics
import sys
import time

from .chart import svg
from .processes import dpdk_version

# What each bench-compare case runs and measures (copied into its JSON).
CASES = {
    "A": "bypass-udpd (DPDK backend, echo on 7) vs dpdk-testpmd --forward-mode=5tswap, each the "
         "net_memif server on the server CPU (control and worker lcore on that one CPU); "
         "bypass-gen as the memif client on the generator CPU at max rate, 64-byte frames "
         "(with FCS) 198.18.0.1 -> 198.18.0.2:7, 1024 source ports, broadcast dst MAC. "
         "Mpps: echoes per second received by bypass-gen after the warm-up; server: its own "
         "per-second RX rate.",
    "B": "bypass-udpd sockets backend (one worker, recvmmsg/sendmmsg, 4 MB socket buffers) "
         "bound to 127.0.0.1; bypass-client flood (one thread, one connected socket, "
         "sendmmsg/recvmmsg bursts of 32, 256 datagrams in flight, 18-byte payloads = 64-byte "
         "frames) on the generator CPU. Mpps: echoes per second received by the client. Ratio: "
         "A's bypass rate of the same repetition / this.",
    "C": "veth pair between two namespaces made by the script. Server namespace: "
         "198.18.0.2/24 on its end; bypass-udpd on net_af_xdp on that end, or bypass-udpd's "
         "sockets backend bound to 198.18.0.2. Generator namespace: bypass-gen on net_af_xdp on "
         "the other end, paced at the same rate for both (90% of the lower of its max rates "
         "against either server, measured first), 64-byte frames. Mpps: echoes per second "
         "received by bypass-gen.",
    "D": "Generator TX rate on net_memif, generator CPU: bypass-gen at max rate (it also "
         "receives the reflected packets and timestamps them) vs dpdk-testpmd txonly "
         "(--txpkts=60, 64 bytes with FCS). Peer on the server CPU: dpdk-testpmd io, memif "
         "server, reflecting everything (testpmd txonly never reads what comes back).",
    "D0": "As D, but the peer is dpdk-testpmd rxonly: both generators only transmit.",
    "D1": "As D (peer reflects), but against dpdk-testpmd flowgen, which also receives (and "
          "frees) what comes back: both generators transmit and receive; only bypass-gen "
          "stamps, checks sequence numbers and measures latency.",
    "L": "Echo round-trip percentiles at 10/50/90% of each server's own maximum: bypass-gen "
         "paced -> bypass-udpd (DPDK) over memif at % of A's bypass median (bypass-gen's "
         "TSC stamps); bypass-client flood paced -> bypass-udpd sockets on loopback at % of "
         "B's median (CLOCK_MONOTONIC stamps in the payload). Whole run, no warm-up skipped.",
}


def stat(v):
    if not v:
        return None
    return {"median": round(statistics.median(v), 4), "min": round(min(v), 4),
            "max": round(max(v), 4), "n": len(v)}


def fmt_stat(s, unit="", digits=3):
    if not s:
        return "failed"
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}-{s['max']:.{digits}f}){unit}"


def fmt_lat(s):
    """Latency median (min-max), 3 significant digits."""
    if not s:
        return "failed"
    g = lambda v: f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"
    return f"{g(s['median'])} ({g(s['min'])}-{g(s['max'])})"


# ---- bench-compare ----------------------------------------------------------------

def trial_values(trials, case, kind, field="mpps"):
    return [t[field] for t in trials
            if t["case"] == case and t["kind"] == kind and t["ok"] and t.get(field) is not None]


def trial_median(trials, case, kind, field="mpps"):
    v = trial_values(trials, case, kind, field)
    return statistics.median(v) if v else None


def describe(t):
    """One finished trial on one line, for the progress log."""
    parts = [f"{t['mpps']:.3f} Mpps"]
    if t.get("server_rx_mpps") is not None:
        parts.append(f"server {t['server_rx_mpps']:.3f}")
    if t.get("gen_tx_mpps") is not None:
        parts.append(f"sent {t['gen_tx_mpps']:.3f}")
    if t.get("loss_pct") is not None:
        parts.append(f"loss {t['loss_pct']:.2f}%")
    if t.get("server_cycles_per_pkt") is not None:
        parts.append(f"server {t['server_cycles_per_pkt']:.1f} cycles/pkt")
    lat = t.get("latency_us")
    if lat and t["case"].startswith("L"):
        parts.append(f"p50 {lat['p50']:.1f} p99 {lat['p99']:.1f} p99.9 {lat['p99.9']:.1f} us")
    shares = [f"{k.replace('_cpu_share', '')} {v:.2f}" for k, v in t.items()
              if k.endswith("_cpu_share") and v is not None]
    if shares:
        parts.append("cpu share " + " ".join(shares))
    return ", ".join(parts)


def pair_ratios(b, num_case, num_kind, den_case, den_kind):
    """Per-repetition ratios num/den (same rep) and the ratio of the medians."""
    num = {t["rep"]: t["mpps"] for t in b.trials if t["case"] == num_case and t["kind"] == num_kind and t["ok"]}
    den = {t["rep"]: t["mpps"] for t in b.trials if t["case"] == den_case and t["kind"] == den_kind and t["ok"]}
    per = [num[r] / den[r] for r in num if r in den and den[r] > 0]
    mn, md = b.median(num_case, num_kind), b.median(den_case, den_kind)
    if mn is None or not md:
        return None
    return {"of_medians": round(mn / md, 3), "per_rep_min": round(min(per), 3) if per else None,
            "per_rep_max": round(max(per), 3) if per else None}


def throughput_rows(b):
    """One row per case and kind that ran: stats of every measured field, the
    ratio against its peer and whether the target holds."""
    rows = []

    def add(case, label, kind, peer_of=None, target=None, what=""):
        trials = [t for t in b.trials if t["case"] == case and t["kind"] == kind]
        if not trials:
            return
        ok = [t for t in trials if t["ok"]]
        row = {"case": case, "kind": kind, "label": label, "what": what,
               "mpps": stat(b.values(case, kind)),
               "server_rx_mpps": stat(b.values(case, kind, "server_rx_mpps")),
               "gen_tx_mpps": stat(b.values(case, kind, "gen_tx_mpps")),
               "loss_pct": stat(b.values(case, kind, "loss_pct")),
               "server_cpu_share": stat(b.values(case, kind, "server_cpu_share")),
               "gen_cpu_share": stat(b.values(case, kind, "gen_cpu_share")),
               "server_cycles_per_pkt": stat(b.values(case, kind, "server_cycles_per_pkt")),
               "trials": len(trials), "failed": len(trials) - len(ok),
               "errors": [t["error"] for t in trials if not t["ok"]][:3]}
        if peer_of:
            row["ratio"] = pair_ratios(b, *peer_of)
            row["ratio_of"] = f"{peer_of[0]}:{peer_of[1]} / {peer_of[2]}:{peer_of[3]}"
            row["peer"] = [peer_of[2], peer_of[3]] if peer_of[:2] == (case, kind) else [peer_of[0], peer_of[1]]
            if target is not None and row["ratio"]:
                row["target"] = target
                row["target_met"] = row["ratio"]["of_medians"] >= target
        rows.append(row)

    add("A", "bypass-udpd echo, DPDK, memif", "bypass", ("A", "bypass", "A", "testpmd"), 1.0,
        "echoes/s received by bypass-gen (max rate)")
    add("A", "testpmd 5tswap, memif", "testpmd", what="echoes/s received by bypass-gen (max rate)")
    add("B", "bypass-udpd sockets, loopback", "sockets", ("A", "bypass", "B", "sockets"), 20.0,
        "echoes/s received by bypass-client flood")
    add("C", "bypass-udpd AF_XDP, veth", "af_xdp", ("C", "af_xdp", "C", "sockets"), None,
        "echoes/s received by bypass-gen (AF_XDP), same paced load")
    add("C", "bypass-udpd sockets, veth", "sockets", what="echoes/s received by bypass-gen (AF_XDP)")
    add("D", "bypass-gen TX, peer reflects", "bypass-gen",
        ("D", "bypass-gen", "D", "testpmd-txonly"), None, "packets/s sent, memif, peer testpmd io")
    add("D", "testpmd txonly TX, peer reflects", "testpmd-txonly", what="packets/s sent")
    add("D0", "bypass-gen TX, peer drains", "bypass-gen",
        ("D0", "bypass-gen", "D0", "testpmd-txonly"), None, "packets/s sent, memif, peer testpmd rxonly")
    add("D0", "testpmd txonly TX, peer drains", "testpmd-txonly", what="packets/s sent")
    add("D1", "bypass-gen TX, peer reflects", "bypass-gen",
        ("D1", "bypass-gen", "D1", "testpmd-flowgen"), None,
        "packets/s sent, memif, peer testpmd io, both generators receive")
    add("D1", "testpmd flowgen TX+RX, peer reflects", "testpmd-flowgen", what="packets/s sent")
    return rows


def latency_rows(b):
    """One row per load and server: percentiles over repetitions, and the
    sockets rows' ratio to bypass at the same load."""
    lat = []
    for pct in (10, 50, 90):
        for kind in ("bypass", "sockets"):
            case = f"L{pct}"
            ts = [t for t in b.trials if t["case"] == case and t["kind"] == kind]
            if not ts:
                continue
            ok = [t for t in ts if t["ok"]]
            row = {"case": case, "kind": kind, "percent_of_max": pct,
                   "offered_mpps": ok[0]["offered_mpps"] if ok else None,
                   "mpps": stat([t["mpps"] for t in ok]),
                   "gen_tx_mpps": stat([t["gen_tx_mpps"] for t in ok if t.get("gen_tx_mpps") is not None]),
                   "loss_pct": stat([t["loss_pct"] for t in ok if t.get("loss_pct") is not None]),
                   "trials": len(ts), "failed": len(ts) - len(ok),
                   "errors": [t["error"] for t in ts if not t["ok"]][:3]}
            for p in ("p50", "p99", "p99.9"):
                row[p + "_us"] = stat([t["latency_us"][p] for t in ok
                                       if t.get("latency_us") and t["latency_us"].get(p) is not None])
            lat.append(row)
    for row in lat:
        if row["kind"] == "sockets":
            by = next((r for r in lat if r["case"] == row["case"] and r["kind"] == "bypass"), None)
            if by:
                row["ratio_to_bypass"] = {p: round(row[p + "_us"]["median"] / by[p + "_us"]["median"], 2)
                                          for p in ("p50", "p99", "p99.9")
                                          if row.get(p + "_us") and by.get(p + "_us")
                                          and by[p + "_us"]["median"] > 0}
    return lat


def report(b, args):
    """bench-compare's JSON (args.json), chart (args.svg) and table (stdout).
    b: the run (or a replay of one) with trials, notes and its setup."""
    cases, lat = throughput_rows(b), latency_rows(b)
    doc = {
        "benchmark": "bench-compare",
        "date": getattr(b, "date", None) or datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
        "dpdk": dpdk_version(),
        "setup": {"reps": args.reps, "duration_s": args.duration, "warmup_s": args.warmup,
                  "server_cpu": args.server_cpu, "gen_cpu": args.gen_cpu, "huge_pages": b.huge,
                  "nice": args.nice, "build": b.build, "testpmd": b.testpmd, "frame_bytes": 64,
                  "c_offered_pps": round(b.c_rate) if b.c_rate else None,
                  "c_calibration_max_tx_mpps": b.c_calibration, "c_xdp_mode": b.xdp_mode,
                  "loadavg_at_end": os.getloadavg()},
        "cases": CASES, "throughput": cases, "latency": lat, "notes": b.notes, "trials": b.trials,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.makedirs(os.path.dirname(os.path.abspath(args.svg)), exist_ok=True)
    with open(args.svg, "w") as f:
        f.write(svg(cases, lat, doc))
    print_throughput(b, args, doc, cases)
    print_latency(lat)
    print_notes(b)
    print(f"JSON: {args.json}\nSVG: {args.svg}")


def print_throughput(b, args, doc, cases):
    print()
    print(f"bench-compare {doc['date']}: {args.reps} rep(s) x {args.duration} s "
          f"(+{args.warmup} s warm-up), server CPU {args.server_cpu}, generator CPU {args.gen_cpu}, "
          f"64-byte frames, {'huge pages' if b.huge else 'no huge pages'}")
    print("Mpps: median (min-max) over repetitions; ratio: of medians (per-repetition range)")
    print()
    hdr = f"{'case':<4} {'what':<34} {'Mpps':>24} {'server sees':>12} {'sent':>9} {'cpu srv/gen':>11}  ratio"
    print(hdr)
    print("-" * len(hdr) + "-" * 30)
    for r in cases:
        srv = f"{r['server_rx_mpps']['median']:.3f}" if r["server_rx_mpps"] else "-"
        sent = f"{r['gen_tx_mpps']['median']:.3f}" if r["gen_tx_mpps"] else "-"
        share = "/".join(f"{r[k]['median']:.2f}" if r[k] else "-" for k in ("server_cpu_share", "gen_cpu_share"))
        mp = fmt_stat(r["mpps"])
        if r["failed"]:
            mp = (mp + f" [{r['failed']}/{r['trials']} failed]") if r["mpps"] else f"failed ({r['failed']}/{r['trials']})"
        ratio = ""
        if r.get("ratio"):
            q = r["ratio"]
            rng = f" ({q['per_rep_min']:.2f}-{q['per_rep_max']:.2f})" if q["per_rep_min"] is not None else ""
            ratio = f"{q['of_medians']:.2f}{rng}"
            if "target" in r:
                ratio += f"  target >= {r['target']:g}: {'met' if r['target_met'] else 'NOT met'}"
        elif r.get("ratio_of"):
            peer_ran = any(t["case"] == r["peer"][0] and t["kind"] == r["peer"][1] for t in b.trials)
            ratio = "n/a (a side failed)" if peer_ran else "n/a (the peer did not run)"
        print(f"{r['case']:<4} {r['label']:<34} {mp:>24} {srv:>12} {sent:>9} {share:>11}  {ratio}")
    cyc = {r["kind"]: r["server_cycles_per_pkt"] for r in cases
           if r["case"] == "A" and r.get("server_cycles_per_pkt")}
    if "bypass" in cyc and "testpmd" in cyc:
        ratio = cyc["bypass"]["median"] / cyc["testpmd"]["median"]
        print(f"A  server cost, busy TSC cycles per echoed packet as each server counts its own: "
              f"bypass-udpd {fmt_stat(cyc['bypass'], digits=1)}, testpmd 5tswap "
              f"{fmt_stat(cyc['testpmd'], digits=1)}: bypass/testpmd {ratio:.2f} (below 1: bypass "
              f"spends fewer cycles; throughput above is bound by whichever side is slower)")
    rcv = b.values("C", "sockets", "server_udp_rcvbuf_errors")
    if rcv:
        print(f"C sockets: the server's kernel dropped {statistics.median(rcv):.0f} datagrams per trial "
              f"(median) for a full socket buffer (Udp RcvbufErrors)")
    if b.c_rate:
        print(f"C offered load: {b.c_rate / 1e6:.3f} Mpps paced (bypass-gen on net_af_xdp in the "
              f"other namespace); XDP mode on the server's veth: {b.xdp_mode}")


def print_latency(lat):
    if not lat:
        return
    print()
    h2 = (f"{'load':<5} {'server':<8} {'asked':>7} {'sent':>7} {'echoed':>7} {'p50 us':>20} "
          f"{'p99 us':>20} {'p99.9 us':>20}  sockets/bypass p50 p99 p99.9")
    print(h2)
    print("-" * len(h2))
    for r in lat:
        off = f"{r['offered_mpps']:.4g}" if r["offered_mpps"] else "-"
        ech = f"{r['mpps']['median']:.4g}" if r["mpps"] else "-"
        snt = f"{r['gen_tx_mpps']['median']:.4g}" if r.get("gen_tx_mpps") else "-"
        cells = [fmt_lat(r[p + "_us"]) for p in ("p50", "p99", "p99.9")]
        if r["failed"] and not r["mpps"]:
            cells = [f"failed ({r['failed']}/{r['trials']})", "", ""]
        rat = ""
        if r.get("ratio_to_bypass"):
            rat = " ".join(f"{r['ratio_to_bypass'].get(p, 0):.1f}" for p in ("p50", "p99", "p99.9"))
        print(f"{str(r['percent_of_max']) + '%':<5} {r['kind']:<8} {off:>7} {snt:>7} {ech:>7} "
              f"{cells[0]:>20} {cells[1]:>20} {cells[2]:>20}  {rat}")
    print("(bypass: bypass-gen -> bypass-udpd over memif at % of A's bypass median; sockets: "
          "bypass-client flood -> bypass-udpd sockets on loopback at % of B's median)")


def print_notes(b):
    shares = [t for t in b.trials if t["ok"] and any(
        (t.get(k) or 1) < 0.9 for k in ("server_cpu_share", "gen_cpu_share"))]
    if shares:
        print(f"note: in {len(shares)} of {len(b.trials)} trials another process took more than 10% "
              f"of the server's or the generator's CPU: the machine was busy")
    for n in b.notes:
        print("note: " + n)
    failed = [t for t in b.trials if not t["ok"]]
    for t in failed[:10]:
        print(f"failed: {t['case']} {t['kind']} rep {t['rep']}: {t['error']}")


# ---- bench-fwd --------------------------------------------------------------------

def fwd_trial_line(t):
    """One finished bench-fwd trial, for the progress log."""
    sh = lambda x: f"{x:.2f}" if x is not None else "-"
    return (f"rx {t['rx_mpps']:7.3f}  tx {t['tx_mpps']:7.3f} Mpps over {t['measured_s']:.1f} s"
            f"  (generator {sh(t['generator_mpps'])}; CPU share fwd {sh(t['forwarder_cpu_share'])}"
            f" gen {sh(t['generator_cpu_share'])})")


def fwd_report(trials, s):
    """bench-fwd's JSON (s.json) and table (stdout). s: the run's settings
    (gen, warmup, duration, size, fwd_cpu, gen_cpu, huge "yes"/"no", tx_retries
    as given or "default", trials, bypass_fwd, testpmd, sock, nice)."""
    gen, warm, dur = s.gen, s.warmup, s.duration
    primary = 0 if gen == "txonly" else 1
    for t in trials:
        if t["measured_s"] < dur - 0.5:
            print(f"bench-fwd: warning: {t['forwarder']} trial {t['trial']} measured only "
                  f"{t['measured_s']} s", file=sys.stderr)

    def summary(kind, field):
        xs = [t[field] for t in trials
              if t["forwarder"] == kind and t["measured_s"] > 0 and t.get(field) is not None]
        return stat(xs)

    kinds = [k for k in ("bypass", "testpmd") if any(t["forwarder"] == k for t in trials)]
    summ = {k: summary(k, "mpps") for k in kinds}
    other = {k: summary(k, "tx_mpps" if primary == 0 else "rx_mpps") for k in kinds}
    gen_summ = {k: summary(k, "generator_mpps") for k in kinds}
    share = {k: summary(k, "forwarder_cpu_share") for k in kinds}
    gshare = {k: summary(k, "generator_cpu_share") for k in kinds}

    def p90(kind):
        # The rate most steady seconds stay under: this machine's VM switches
        # between speed levels for seconds at a time, whichever program runs.
        xs = sorted(x for t in trials if t["forwarder"] == kind for x in t["samples_mpps"])
        # nearest rank: the ceil(0.9 n)-th smallest
        return round(xs[max(0, math.ceil(0.9 * len(xs)) - 1)], 3) if xs else None
    high = {k: p90(k) for k in kinds}
    ratio = None
    if summ.get("bypass") and summ.get("testpmd") and summ["testpmd"]["median"] > 0:
        pairs = {}
        for t in trials:
            if t.get("measured_s", 1) > 0:  # as the medians: empty trials left out
                pairs.setdefault(t["trial"], {})[t["forwarder"]] = t["mpps"]
        per = [p["bypass"] / p["testpmd"] for p in pairs.values()
               if "bypass" in p and p.get("testpmd", 0) > 0]
        ratio = {"of_medians": round(summ["bypass"]["median"] / summ["testpmd"]["median"], 4),
                 "per_trial_min": round(min(per), 4) if per else None,
                 "per_trial_max": round(max(per), 4) if per else None}
    what = ("packets received, 5-tuple swapped and offered to TX per second (TX is refused: "
            "testpmd txonly never reads the return ring)" if primary == 0 else
            "packets forwarded (sent back to the generator) per second" if gen == "flowgen" else
            "packets forwarded per second between net_null RX and TX (no generator)")
    per_cpu = {k: summary(k, "mpps_per_full_cpu") for k in kinds} if gen == "null" else None
    ratio_cpu = None
    if per_cpu and per_cpu.get("bypass") and per_cpu.get("testpmd"):
        ratio_cpu = round(per_cpu["bypass"]["median"] / per_cpu["testpmd"]["median"], 4)
    metric = "rx" if primary == 0 else "tx"
    doc = {
        "benchmark": "bench-fwd",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
        "dpdk": dpdk_version(),
        "metric": metric, "metric_means": what,
        "method": (f"{metric} packets / seconds over the forwarder's own per-second stats "
                   f"(bypass-fwd --stats-json; testpmd --stats-period 1 blocks), from the first "
                   f"sample with traffic, skipping it and {warm} s of warm-up, over {dur} s "
                   f"(rounded up to whole samples); median/min/max over trials"),
        "setup": {
            "transport": ("net_memif: forwarder role=server, generator role=client, "
                          "socket-abstract=no, default bsize=2048 and rsize=10 (1024 slots)")
                         if gen != "null" else f"net_null0,size={s.size} (no generator)",
            "socket": s.sock, "forwarder_cpu": s.fwd_cpu, "generator_cpu": s.gen_cpu,
            "forwarder_lcores": f"(0,1)@{s.fwd_cpu}: control + one forwarding lcore on one CPU",
            "generator": f"dpdk-testpmd --forward-mode={gen} --txpkts={s.size} on (0,1)@{s.gen_cpu}"
                         if gen != "null" else None,
            "frame_bytes": s.size, "huge_pages": s.huge == "yes",
            "bypass_fwd": s.bypass_fwd, "bypass_tx_retries": s.tx_retries or "default",
            "testpmd": s.testpmd, "trials": s.trials, "duration_s": dur, "warmup_s": warm,
            "nice": s.nice,
            "order": "alternating: odd trials bypass first, even trials testpmd first",
        },
        "summary_mpps": summ, "other_direction_mpps": other, "generator_view_mpps": gen_summ,
        "p90_of_samples_mpps": high,
        "p90_means": ("90th percentile of all steady per-second (testpmd: per-block) rates of all "
                      "trials of a forwarder: its rate when the machine lets it run"),
        "forwarder_cpu_share": share, "generator_cpu_share": gshare,
        "mpps_per_full_cpu": per_cpu, "ratio_per_full_cpu": ratio_cpu,
        "cpu_share_means": ("run time / (run time + run-queue wait) of the busiest thread over "
                            "the measured seconds, from /proc/PID/task/TID/schedstat; below 1, "
                            "other processes took part of that CPU"),
        "ratio_bypass_over_testpmd": ratio, "trials": trials,
    }
    with open(s.json, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")

    n = len([t for t in trials if t["forwarder"] == kinds[0]]) if kinds else 0
    print()
    if gen == "null":
        print(f"5tswap on one net_null port, one CPU (CPU {s.fwd_cpu}), no generator, {s.size} B "
              f"frames, {n} trial(s) x {dur} s per forwarder")
    else:
        print(f"5tswap on net_memif, one CPU each (forwarder CPU {s.fwd_cpu}, generator testpmd "
              f"{gen} CPU {s.gen_cpu}), {s.size} B frames, {n} trial(s) x {dur} s per forwarder")
    print(f"Mpps = {what}")
    o_name, g_name = ("tx", "gen tx") if primary == 0 else ("rx", "gen rx")
    last = "per full CPU" if gen == "null" else g_name + " med"
    print(f"{'forwarder':<10} {'median':>8} {'min':>8} {'max':>8} {'p90 1s':>8}   "
          f"{o_name + ' med':>8} {last:>12} {'CPU share fwd/gen':>18}")
    for k in kinds:
        sm, o, g = summ[k], other[k], (per_cpu[k] if gen == "null" else gen_summ[k])
        if not sm:
            print(f"{k:<10} {'no data':>8}")
            continue
        shares = (f"{share[k]['median']:.2f}" if share[k] else "-") + " / " + \
                 (f"{gshare[k]['median']:.2f}" if gshare[k] else "-")
        gm = f"{g['median']:12.3f}" if g else f"{'-':>12}"
        hi = f"{high[k]:8.3f}" if high[k] is not None else f"{'-':>8}"
        print(f"{k:<10} {sm['median']:8.3f} {sm['min']:8.3f} {sm['max']:8.3f} {hi}   "
              f"{o['median']:8.3f} {gm} {shares:>18}")
    if ratio:
        print(f"bypass/testpmd: {ratio['of_medians']:.3f} (ratio of medians; per trial pair "
              f"{ratio['per_trial_min']:.3f} to {ratio['per_trial_max']:.3f})")
    if high.get("bypass") and high.get("testpmd"):
        print(f"bypass/testpmd of p90 seconds: {high['bypass'] / high['testpmd']:.3f}")
    if ratio_cpu:
        print(f"bypass/testpmd per full CPU: {ratio_cpu:.3f} (medians of rate / CPU share)")
    busy = [t["busy_polls_pct"] for t in trials if t.get("busy_polls_pct") is not None]
    if busy and gen != "null" and statistics.median(busy) < 50:
        print(f"note: bypass-fwd's worker found packets in only {statistics.median(busy):.1f}% of "
              f"its polls (median over trials): it waited for packets most of the time, so these "
              f"rates show the generator and the machine more than the forwarders; --gen null "
              f"measures the forwarders' own cost")
    low = [t for t in trials if (t["forwarder_cpu_share"] or 1) < 0.95
           or (t["generator_cpu_share"] or 1) < 0.95]
    if low:
        print(f"note: in {len(low)} of {len(trials)} trials other processes took more than 5% of "
              f"the forwarder's or the generator's CPU: the machine was not quiet; compare "
              f"medians, or rerun with more trials or --nice -10")
    print(f"JSON: {s.json}")
