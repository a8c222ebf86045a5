"""What the programs a benchmark runs say, turned into numbers.

bypass-udpd (DPDK backend) and bypass-fwd are read from their --stats-json
file: one JSON object a second and a final one, counters cumulative since
the start. The other programs are read from their text output: bypass-gen's
per-second lines and summary, dpdk-testpmd's --stats-period blocks and
--record-core-cycles line, `bypass-client flood`, and bypass-udpd's sockets
backend, which writes no --stats-json file."""
import json
import re
import statistics


# ---- bypass-udpd and bypass-fwd: --stats-json -----------------------------------

def read_stats_json(path):
    """Every complete object of a --stats-json file, in order. A line still
    being written, or a file not there yet, gives nothing."""
    objs = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    objs.append(obj)
    except OSError:
        pass
    return objs


def stats_final(objs):
    """The final object (written once the run stopped), or None."""
    return next((o for o in reversed(objs) if o.get("final")), None)


def stats_intervals(objs):
    """(seconds, rx packets, tx packets) of each per-second object, against the
    one before it (the first against the start: 0 s, no packets). The final
    object is no interval of its own."""
    out, prev_t, prev_rx, prev_tx = [], 0.0, 0, 0
    for o in objs:
        if o.get("final"):
            continue
        t, tot = float(o["seconds"]), o["totals"]
        out.append((t - prev_t, tot["rx_packets"] - prev_rx, tot["tx_packets"] - prev_tx))
        prev_t, prev_rx, prev_tx = t, tot["rx_packets"], tot["tx_packets"]
    return out


def stats_rates_mpps(objs):
    """(rx Mpps, tx Mpps) of each second, as the program's per-second line has them."""
    out = []
    for dt, rx, tx in stats_intervals(objs):
        dt = dt if dt > 0 else 1.0
        out.append((rx / dt / 1e6, tx / dt / 1e6))
    return out


def stats_has_traffic(objs):
    """A second with a receive rate of at least 0.001 Mpps (as printed)."""
    return any(round(rx, 3) > 0 for rx, _ in stats_rates_mpps(objs))


def busy_cycles_per_packet(final):
    """Busy TSC cycles per received packet over all workers (the final report's
    "cycles/packet", one decimal); None without a final object."""
    if not final:
        return None
    t = final["totals"]
    return round(t["busy_cycles"] / t["rx_packets"], 1) if t["rx_packets"] else 0.0


def busy_polls_pct(final):
    """The share of the workers' polls that found packets, in % (one decimal)."""
    if not final:
        return None
    t = final["totals"]
    return round(100.0 * t["busy_polls"] / t["polls"], 1) if t["polls"] else 0.0


def run_totals(final):
    """rx, tx, dropped and seconds of the whole run, from the final object."""
    if not final:
        return None
    t = final["totals"]
    return {"rx": t["rx_packets"], "tx": t["tx_packets"], "dropped": t["dropped"],
            "seconds": round(float(final["seconds"]), 2)}


def udp_counters(final):
    """bypass-udpd's datagrams and replies, from the final object's counters."""
    c = (final or {}).get("counters", {})
    if "udp.datagrams" not in c or "udp.replies" not in c:
        return None
    return {"datagrams": c["udp.datagrams"], "replies": c["udp.replies"]}


# ---- bypass-udpd, sockets backend (text: it writes no --stats-json) -------------

def udpd_sockets_seconds(text):
    """The per-second lines, "[   2.0s] rx   0.250 Mpps  tx   0.250 Mpps ...":
    (rx Mpps, tx Mpps)."""
    return [(float(rx), float(tx)) for rx, tx in
            re.findall(r"\[ *[\d.]+s\] rx +([\d.]+) Mpps +tx +([\d.]+) Mpps", text)]


def udpd_sockets_final(text):
    """The final report's "udp: datagrams N replies M"."""
    m = re.search(r"udp: datagrams (\d+) replies (\d+)", text)
    return {"datagrams": int(m[1]), "replies": int(m[2])} if m else None


# ---- bypass-gen (text) ----------------------------------------------------------

def gen_seconds(text):
    """bypass-gen's per-second lines: (t, tx Mpps, rx Mpps)."""
    return [(float(t), float(tx), float(rx)) for t, tx, rx in
            re.findall(r"\[ *([\d.]+)s\] \S+: tx +([\d.]+) Mpps rx +([\d.]+) Mpps", text)]


def gen_summary(text):
    """bypass-gen's summary: seconds, port counts and rates, the first stream's
    sent/received/lost and latency percentiles in us; None if incomplete."""
    m = re.search(r"summary \(([\d.]+) s\)", text)
    p = re.search(r"port \S+: tx (\d+) \(([\d.]+) Mpps\) rx (\d+) \(([\d.]+) Mpps\)", text)
    s = re.search(r": sent (\d+) received (\d+) lost (\d+) duplicates (\d+) reordered (\d+); "
                  r"latency us p50 ([\d.]+) p90 ([\d.]+) p99 ([\d.]+) p99.9 ([\d.]+) "
                  r"p99.99 ([\d.]+) max ([\d.]+)", text)
    if not (m and p and s):
        return None
    return {"seconds": float(m[1]), "tx": int(p[1]), "tx_mpps": float(p[2]), "rx": int(p[3]),
            "rx_mpps": float(p[4]), "sent": int(s[1]), "received": int(s[2]), "lost": int(s[3]),
            "latency_us": {"p50": float(s[6]), "p90": float(s[7]), "p99": float(s[8]),
                           "p99.9": float(s[9]), "p99.99": float(s[10]), "max": float(s[11])}}


def gen_steady(text, warm, upto=None):
    """Mean tx and rx Mpps of bypass-gen's seconds after the warm-up (and up to
    `upto` s, when the run went on after the measurement)."""
    secs = [s for s in gen_seconds(text)
            if s[0] > warm + 0.05 and (upto is None or s[0] <= upto + 0.05)]
    if not secs:
        return None
    return {"tx_mpps": statistics.fmean(s[1] for s in secs),
            "rx_mpps": statistics.fmean(s[2] for s in secs),
            "samples_rx_mpps": [s[2] for s in secs], "samples_tx_mpps": [s[1] for s in secs],
            "measured_s": round(secs[-1][0] - max(warm, secs[0][0] - 1), 2)}


# ---- dpdk-testpmd (text) --------------------------------------------------------

def testpmd_seconds(text):
    """testpmd --stats-period blocks: (rx Mpps, tx Mpps) per block."""
    return [(int(rx) / 1e6, int(tx) / 1e6) for rx, tx in
            re.findall(r"Rx-pps: +(\d+).*?Tx-pps: +(\d+)", text, re.S)]


def testpmd_has_traffic(text):
    """A --stats-period block with a non-zero receive rate."""
    return re.search(r"Rx-pps: +[1-9]", text) is not None


def testpmd_cycles_per_packet(text):
    """Busy cycles per received packet from --record-core-cycles, or None."""
    m = re.search(r"CPU cycles/packet=([\d.]+)", text)
    return float(m[1]) if m else None


def testpmd_tx_dropped(text):
    """The last TX-dropped count testpmd printed, or None."""
    m = re.findall(r"TX-dropped: +(\d+)", text)
    return int(m[-1]) if m else None


def testpmd_samples(text, primary):
    """testpmd's --stats-period blocks as (seconds, rx packets, tx packets).
    A block holds cumulative RX/TX-packets and the rates since the previous
    block; the block's length is packets / rate (testpmd prints every
    stats-period + 1 s when DPDK's TSC estimate is a bit high). `primary`: 0
    to time blocks by RX, 1 by TX, the other direction when that one is idle."""
    out, prev_rx, prev_tx = [], 0, 0
    blocks = re.findall(r"RX-packets: +(\d+).*?TX-packets: +(\d+).*?Rx-pps: +(\d+).*?Tx-pps: +(\d+)",
                        text, re.S)
    for rx, tx, rxpps, txpps in blocks:
        rx, tx, rxpps, txpps = int(rx), int(tx), int(rxpps), int(txpps)
        # net_memif clears its counters when the peer leaves: start again from 0
        drx = rx - prev_rx if rx >= prev_rx else rx
        dtx = tx - prev_tx if tx >= prev_tx else tx
        prev_rx, prev_tx = rx, tx
        pkts, pps = (drx, rxpps) if primary == 0 else (dtx, txpps)
        if pps <= 0 or pkts <= 0:
            pkts, pps = (dtx, txpps) if primary == 0 else (drx, rxpps)
        if pps > 0 and pkts > 0:
            out.append((pkts / pps, drx, dtx))
        else:
            out.append((0.0, 0, 0))  # no traffic: length unknown, and it does not matter
    return out


# ---- bypass-client flood (text) -------------------------------------------------

def flood_result(text):
    """`flood: sent N received M lost L ... sent_pps X received_pps Y` as a dict
    of floats, with "latency_us" from the `flood-rtt:` line when there is one."""
    m = re.search(r"flood: (.*)", text)
    if not m:
        return None
    kv = m[1].split()
    d = {kv[i]: float(kv[i + 1]) for i in range(0, len(kv) - 1, 2)}
    r = re.search(r"flood-rtt: (.*)", text)
    if r:
        kv = r[1].split()
        rtt = {kv[i]: float(kv[i + 1]) for i in range(0, len(kv) - 1, 2)}
        d["latency_us"] = {"p50": rtt.get("p50_us"), "p90": rtt.get("p90_us"),
                           "p99": rtt.get("p99_us"), "p99.9": rtt.get("p999_us"),
                           "max": rtt.get("max_us")}
    return d


# ---- the steady part of a series of samples -------------------------------------

def active_mean(samples, col, skip=0, keep=None):
    """Mean of a column over the samples with traffic, without the first (a
    partial second) and the last (partial) when there are enough; `skip` more
    at the start, at most `keep` samples."""
    if not samples:
        return None
    top = max(s[col] for s in samples)
    if top <= 0:
        return 0.0
    idx = [i for i, s in enumerate(samples) if s[col] > 0.02 * top]
    sel = samples[idx[0]:idx[-1] + 1]
    if len(sel) >= 3:
        sel = sel[1:-1]
    sel = sel[skip:] if len(sel) > skip else sel[-1:]
    if keep:
        sel = sel[:keep]
    return statistics.fmean(s[col] for s in sel)


def steady_window(samples, primary, warm, dur):
    """Of (seconds, rx packets, tx packets) samples, the steady part: after the
    first sample with traffic in column `primary` (0 rx, 1 tx; a partial
    sample), skip `warm` seconds of samples, then keep samples until `dur` s."""
    i = next((k for k, s in enumerate(samples) if s[1 + primary] > 0), None)
    if i is None:
        return []
    i += 1
    skipped = 0.0
    while i < len(samples) and skipped < warm:
        skipped += samples[i][0]
        i += 1
    kept, secs = [], 0.0
    while i < len(samples) and secs < dur - 0.05:
        kept.append(samples[i])
        secs += samples[i][0]
        i += 1
    return kept


def window_rates(w):
    """(seconds, rx Mpps, tx Mpps) over a window of samples."""
    secs = sum(s[0] for s in w)
    if secs <= 0:
        return 0.0, 0.0, 0.0
    return secs, sum(s[1] for s in w) / secs / 1e6, sum(s[2] for s in w) / secs / 1e6
