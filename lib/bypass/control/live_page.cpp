#include <bypass/control/live_page.hpp>

namespace bypass {

const char* live_page_html() {
  return R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bypass</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px system-ui, sans-serif; margin: 16px 24px; background: #f7f7f5; color: #222; }
h1 { font-size: 20px; margin: 0 0 12px; } h2 { font-size: 15px; margin: 18px 0 6px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 130px; }
.card .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
canvas { background: #fff; border: 1px solid #ddd; border-radius: 6px; width: 100%; max-width: 960px; height: 180px; }
table { border-collapse: collapse; background: #fff; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
#status { color: #a33; } .key span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; }
</style></head>
<body>
<h1><span id="program">bypass</span> <small id="status"></small></h1>
<div class="cards">
  <div class="card">rx packets/s<div class="v" id="rx">-</div></div>
  <div class="card">tx packets/s<div class="v" id="tx">-</div></div>
  <div class="card">tx Gbit/s<div class="v" id="gbps">-</div></div>
  <div class="card">drops/s<div class="v" id="drops">-</div></div>
  <div class="card">up<div class="v" id="uptime">-</div></div>
</div>
<h2>Packets per second <span class="key"><span style="background:#2a6fdb"></span>rx<span style="background:#1d9a5b"></span>tx</span></h2>
<canvas id="rates" width="960" height="180"></canvas>
<h2>Drops per second</h2>
<canvas id="droprate" width="960" height="180"></canvas>
<h2>Latency <span class="key"><span style="background:#7a4fd0"></span>p50<span style="background:#d0782a"></span>p99</span> <small id="latnote"></small></h2>
<canvas id="latency" width="960" height="180"></canvas>
<h2>Ports</h2><table id="ports"></table>
<h2>Workers</h2><table id="workers"></table>
<h2>Drops</h2><table id="droptable"></table>
<p><small>samples <span id="samples">0</span>; rx packets at each: <span id="rxseen"></span></small></p>
<script>
"use strict";
const keep = 120;
const series = { rx: [], tx: [], drops: [], p50: [], p99: [] };
const seen = [];
let samples = 0;
function fmt(x) {
  if (x >= 1e9) return (x / 1e9).toFixed(2) + " G";
  if (x >= 1e6) return (x / 1e6).toFixed(2) + " M";
  if (x >= 1e3) return (x / 1e3).toFixed(1) + " k";
  return (Math.round(x * 10) / 10).toString();
}
function push(name, v) { const s = series[name]; s.push(v); if (s.length > keep) s.shift(); }
function draw(id, lines) {
  const c = document.getElementById(id), g = c.getContext("2d");
  const w = c.width, h = c.height, left = 60, bottom = 20;
  g.clearRect(0, 0, w, h);
  let max = 1;
  for (const [data] of lines) for (const v of data) max = Math.max(max, v);
  g.strokeStyle = "#eee"; g.fillStyle = "#777"; g.font = "11px sans-serif";
  for (let i = 0; i <= 4; i++) {
    const y = 8 + (h - bottom - 8) * i / 4;
    g.beginPath(); g.moveTo(left, y); g.lineTo(w - 8, y); g.stroke();
    g.fillText(fmt(max * (4 - i) / 4), 4, y + 4);
  }
  g.fillText(keep + " s", w - 40, h - 4);
  for (const [data, color] of lines) {
    g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
    data.forEach((v, i) => {
      const x = left + (w - left - 8) * (i + keep - data.length) / (keep - 1);
      const y = 8 + (h - bottom - 8) * (1 - v / max);
      if (i) g.lineTo(x, y); else g.moveTo(x, y);
    });
    g.stroke();
  }
}
function table(id, rows, cols) {
  const t = document.getElementById(id);
  let html = "<tr>" + cols.map(c => "<th>" + c[0] + "</th>").join("") + "</tr>";
  for (const r of rows) html += "<tr>" + cols.map(c => "<td>" + c[1](r) + "</td>").join("") + "</tr>";
  if (!rows.length) html += "<tr><td colspan=" + cols.length + ">none</td></tr>";
  t.innerHTML = html;
}
function esc(s) { return String(s).replace(/[&<>"]/g, ch => "&#" + ch.charCodeAt(0) + ";"); }
async function tick() {
  let j;
  try {
    const r = await fetch("/api/top", { cache: "no-store" });
    j = await r.json();
    document.getElementById("status").textContent = "";
  } catch (e) {
    document.getElementById("status").textContent = "cannot reach bypass: " + e;
    return;
  }
  samples++;
  seen.push(j.rx_packets); if (seen.length > 10) seen.shift();
  document.getElementById("samples").textContent = samples;
  document.getElementById("rxseen").textContent = seen.join(" ");
  document.getElementById("program").textContent = j.program;
  document.getElementById("rx").textContent = fmt(j.rx_pps);
  document.getElementById("tx").textContent = fmt(j.tx_pps);
  document.getElementById("gbps").textContent = j.tx_gbps.toFixed(3);
  document.getElementById("drops").textContent = fmt(j.drops_per_second);
  document.getElementById("uptime").textContent = Math.round(j.seconds) + " s";
  push("rx", j.rx_pps); push("tx", j.tx_pps); push("drops", j.drops_per_second);
  const h = j.histograms.length ? j.histograms[0] : null;
  document.getElementById("latnote").textContent =
    h ? "(" + h.name + ", " + h.unit + ")" : "(this program keeps no latency histogram)";
  if (h) { push("p50", h.p50); push("p99", h.p99); }
  draw("rates", [[series.rx, "#2a6fdb"], [series.tx, "#1d9a5b"]]);
  draw("droprate", [[series.drops, "#c0392b"]]);
  draw("latency", [[series.p50, "#7a4fd0"], [series.p99, "#d0782a"]]);
  table("ports", j.ports, [["port", p => esc(p.name)], ["link", p => p.link_up ? "up" : "down"],
    ["rx", p => p.ipackets], ["tx", p => p.opackets], ["rx/s", p => fmt(p.rx_pps)],
    ["tx/s", p => fmt(p.tx_pps)], ["imissed", p => p.imissed], ["rx_nombuf", p => p.rx_nombuf]]);
  table("workers", j.workers, [["worker", x => x.worker], ["cpu", x => x.cpu],
    ["rx", x => x.rx_packets], ["tx", x => x.tx_packets], ["rx/s", x => fmt(x.rx_pps)],
    ["tx/s", x => fmt(x.tx_pps)], ["dropped", x => x.dropped],
    ["busy", x => x.busy_percent === null ? "-" : x.busy_percent.toFixed(1) + " %"]]);
  table("droptable", j.drops, [["module", d => esc(d.module)], ["worker", d => d.worker],
    ["reason", d => esc(d.reason)], ["count", d => d.count], ["per second", d => fmt(d.per_second)]]);
}
tick();
setInterval(tick, 1000);
</script>
</body></html>
)html";
}

}  // namespace bypass
