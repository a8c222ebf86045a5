"""bench-compare's chart: one SVG with two panels, throughput (log Mpps,
median bar with a min-max whisker, per case and kind) and echo latency (log
us, p50 bar with p99 and p99.9 ticks, per load and server)."""
import math



def decades(vals, floor):
    """The powers of ten around `vals` (at least `floor`), for a log axis."""
    lo = 10 ** math.floor(math.log10(max(min(vals), floor)))
    hi = 10 ** math.ceil(math.log10(max(max(vals), floor)))  # all zero: still an axis
    return lo, (hi if hi > lo else lo * 10)

def svg(cases, lat, doc):
    """Two panels: throughput (log Mpps, median bar with min-max whisker) and
    latency (log us, p50/p99/p99.9 per load)."""
    W, left, right = 1160, 380, 230
    pw = W - left - right
    rows = cases
    lrows = [r for r in lat if r.get("p50_us")]
    h1 = 60 + 26 * max(1, len(rows))
    h2 = 60 + 26 * max(1, len(lrows)) if lrows else 0
    H = 50 + h1 + h2 + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="22" font-size="15">bench-compare {doc["date"]}: one CPU per side, '
           f'64-byte UDP, median of {doc["setup"]["reps"]} (whisker: min-max)</text>']

    def axis(y0, h, lo, hi, unit):
        for e in range(int(math.floor(math.log10(lo))), int(math.ceil(math.log10(hi))) + 1):
            v = 10 ** e
            if v < lo or v > hi:
                continue
            x = left + pw * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
            out.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + h}" stroke="#ddd"/>')
            out.append(f'<text x="{x:.1f}" y="{y0 + h + 14}" text-anchor="middle">{v:g} {unit}</text>')

    def xpos(v, lo, hi):
        v = min(max(v, lo), hi)
        return left + pw * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    colors = {"bypass": "#2f6fd0", "af_xdp": "#2f6fd0", "bypass-gen": "#2f6fd0",
              "testpmd": "#888", "testpmd-txonly": "#888", "sockets": "#d0702f"}
    y = 50
    out.append(f'<text x="10" y="{y}" font-size="13">Throughput, Mpps (log scale)</text>')
    if rows:
        vals = ([r["mpps"]["min"] for r in rows if r["mpps"]] +
                [r["mpps"]["max"] for r in rows if r["mpps"]]) or [0.1, 10]
        lo, hi = decades(vals, 1e-4)
        top = y + 12
        axis(top, 26 * len(rows), lo, hi, "")
        for i, r in enumerate(rows):
            yy = top + 26 * i
            s = r["mpps"]
            out.append(f'<text x="{left - 6}" y="{yy + 16}" text-anchor="end">{r["case"]}: {esc(r["label"])}</text>')
            if not s:
                out.append(f'<text x="{left + 4}" y="{yy + 16}" fill="#c00">failed ({r["failed"]} of '
                           f'{r["trials"]} trials)</text>')
                continue
            x0, xm = xpos(lo, lo, hi), xpos(s["median"], lo, hi)
            c = colors.get(r["kind"], "#2f6fd0")
            out.append(f'<rect x="{x0:.1f}" y="{yy + 4}" width="{max(1, xm - x0):.1f}" height="16" fill="{c}"/>')
            a, bb = xpos(s["min"], lo, hi), xpos(s["max"], lo, hi)
            out.append(f'<line x1="{a:.1f}" y1="{yy + 12}" x2="{bb:.1f}" y2="{yy + 12}" stroke="black"/>')
            out.append(f'<line x1="{a:.1f}" y1="{yy + 7}" x2="{a:.1f}" y2="{yy + 17}" stroke="black"/>')
            out.append(f'<line x1="{bb:.1f}" y1="{yy + 7}" x2="{bb:.1f}" y2="{yy + 17}" stroke="black"/>')
            lab = f'{s["median"]:.3g}'
            if r.get("ratio"):
                lab += f'  (x{r["ratio"]["of_medians"]:.2f} vs peer)'
            out.append(f'<text x="{max(xm, bb) + 5:.1f}" y="{yy + 16}">{lab}</text>')
    y += h1
    if lrows:
        out.append(f'<text x="10" y="{y}" font-size="13">Echo round trip, us (log scale): '
                   f'p50 (bar), p99 (dark tick), p99.9 (light tick)</text>')
        vals = [r[p]["median"] for r in lrows for p in ("p50_us", "p99_us", "p99.9_us") if r.get(p)]
        lo, hi = decades(vals, 0.1)
        top = y + 12
        axis(top, 26 * len(lrows), lo, hi, "")
        for i, r in enumerate(lrows):
            yy = top + 26 * i
            c = colors.get(r["kind"], "#2f6fd0")
            name = "bypass-udpd DPDK memif" if r["kind"] == "bypass" else "bypass-udpd sockets lo"
            out.append(f'<text x="{left - 6}" y="{yy + 16}" text-anchor="end">{name}, '
                       f'{r["percent_of_max"]}% of max ({r["offered_mpps"]:.3g} Mpps)</text>')
            x0, xm = xpos(lo, lo, hi), xpos(r["p50_us"]["median"], lo, hi)
            out.append(f'<rect x="{x0:.1f}" y="{yy + 4}" width="{max(1, xm - x0):.1f}" height="16" fill="{c}"/>')
            num = lambda v: f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"
            lab = num(r["p50_us"]["median"])
            xr = xm
            for p, col in (("p99_us", "#222"), ("p99.9_us", "#999")):
                if r.get(p):
                    xp = xpos(r[p]["median"], lo, hi)
                    xr = max(xr, xp)
                    out.append(f'<line x1="{xp:.1f}" y1="{yy + 2}" x2="{xp:.1f}" y2="{yy + 22}" '
                               f'stroke="{col}" stroke-width="3"/>')
                    lab += " / " + num(r[p]["median"])
            out.append(f'<text x="{xr + 6:.1f}" y="{yy + 16}">{lab}</text>')
    out.append(f'<text x="10" y="{H - 12}" fill="#555">blue: bypass, grey: dpdk-testpmd, orange: '
               f'Linux sockets. Host {esc(doc["host"])}, kernel {esc(doc["kernel"])}, DPDK {esc(doc["dpdk"])}.</text>')
    out.append("</svg>\n")
    return "\n".join(out)


def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
