#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>

#include <bypass/control/stats.hpp>

namespace bypass::gen {

namespace {

// Sent and not received once (duplicates and stale frames taken out), as the
// trial's own total counts it. The trackers' gap count (s.rx.lost) is per RX
// worker: with a stream's flows spread over queues each tracker sees the
// others' frames as gaps, and loss after the last frame received is no gap.
uint64_t stream_lost(const StreamResult& s) {
  const uint64_t unique = s.rx.received - s.rx.duplicates - s.rx.stale;
  return s.sent > unique ? s.sent - unique : 0;
}

// What a stream's line adds when it happened: frames too late to count,
// latencies past the histogram (counted at its top), times that ran back.
std::string anomalies(const StreamResult& s) {
  std::string out;
  if (s.rx.stale)
    out +=
        fmt::format("; {} too late to tell from duplicates (received, counted lost)", s.rx.stale);
  if (const uint64_t over = s.latency.overflow())
    out += fmt::format("; {} latencies over {:.0f} s (counted as that)", over,
                       static_cast<double>(s.latency.summary().max) / 1e9);
  if (s.rx.bad_time)
    out += fmt::format("; {} received before they were stamped (clocks apart: not timed)",
                       s.rx.bad_time);
  return out;
}

}  // namespace

std::string progress_line(double secs, const std::vector<PortResult>& now,
                          const std::vector<PortResult>& prev, double dt,
                          const std::vector<StreamResult>& streams) {
  std::string out;
  uint64_t p99 = 0;
  for (const auto& s : streams)
    p99 = std::max(p99, s.latency.count() ? s.latency.percentile(99) : 0);
  for (size_t i = 0; i < now.size(); ++i) {
    const PortResult& a = prev[i];
    const PortResult& b = now[i];
    double tx = static_cast<double>(b.tx_packets - a.tx_packets) / dt;
    double rx = static_cast<double>(b.rx_packets - a.rx_packets) / dt;
    double gbps =
        static_cast<double>((b.tx_bytes - a.tx_bytes) + 20 * (b.tx_packets - a.tx_packets)) * 8 /
        dt / 1e9;
    int64_t loss = static_cast<int64_t>(b.tx_packets) - static_cast<int64_t>(b.rx_packets);
    out += fmt::format(
        "[{:6.1f}s] {}: tx {:7.3f} Mpps rx {:7.3f} Mpps {:6.2f} Gbit/s  tx-rx {}  p99 {:.1f} us\n",
        secs, b.name, tx / 1e6, rx / 1e6, gbps, loss, static_cast<double>(p99) / 1e3);
  }
  return out;
}

std::string summary(const TrialResult& r) {
  std::string out = fmt::format("summary ({:.2f} s)\n", r.seconds);
  for (const auto& p : r.ports) {
    out += fmt::format(
        "  port {}: tx {} ({:.3f} Mpps) rx {} ({:.3f} Mpps) other rx {} pool empty {}", p.name,
        p.tx_packets, static_cast<double>(p.tx_packets) / r.seconds / 1e6, p.rx_packets,
        static_cast<double>(p.rx_packets) / r.seconds / 1e6, p.rx_other, p.tx_nombuf);
    if (p.rx_device_timed) out += fmt::format("; {} timed by the device", p.rx_device_timed);
    out += "\n";
  }
  for (const auto& s : r.streams) {
    HistogramSummary h = s.latency.summary();
    out += fmt::format(
        "  {}: sent {} received {} lost {} duplicates {} reordered {}; latency us p50 {:.1f} p90 "
        "{:.1f} p99 {:.1f} "
        "p99.9 {:.1f} p99.99 {:.1f} max {:.1f}{}\n",
        s.name, s.sent, s.rx.received, stream_lost(s), s.rx.duplicates, s.rx.reordered, h.p50 / 1e3,
        h.p90 / 1e3, h.p99 / 1e3, h.p999 / 1e3, h.p9999 / 1e3, h.max / 1e3, anomalies(s));
  }
  return out;
}

std::string json_line(const TrialResult& r, const std::string& extra) {
  std::string streams;
  for (const auto& s : r.streams) {
    HistogramSummary h = s.latency.summary();
    streams += fmt::format(
        "{}{{\"name\":{},\"sent\":{},\"received\":{},\"duplicates\":{},\"reordered\":{},"
        "\"stale\":{},\"lost\":{},"
        "\"latency_ns\":{{\"p50\":{},\"p90\":{},\"p99\":{},\"p999\":{},\"p9999\":{},\"max\":{},"
        "\"mean\":{:.1f}}}}}",
        streams.empty() ? "" : ",", json_quote(s.name), s.sent, s.rx.received, s.rx.duplicates,
        s.rx.reordered, s.rx.stale, stream_lost(s), h.p50, h.p90, h.p99, h.p999, h.p9999, h.max,
        h.mean);
  }
  std::string ports;
  for (const auto& p : r.ports)
    ports += fmt::format("{}{{\"name\":{},\"tx\":{},\"rx\":{},\"tx_bytes\":{},\"rx_bytes\":{}}}",
                         ports.empty() ? "" : ",", json_quote(p.name), p.tx_packets, p.rx_packets,
                         p.tx_bytes, p.rx_bytes);
  return fmt::format(
      "{{{}\"seconds\":{:.3f},\"tx\":{},\"rx\":{},\"lost\":{},\"tx_pps\":{:.1f},\"rx_pps\":{:.1f},"
      "\"ports\":[{}],\"streams\":[{}]}}\n",
      extra, r.seconds, r.tx(), r.rx(), r.lost(), static_cast<double>(r.tx()) / r.seconds,
      static_cast<double>(r.rx()) / r.seconds, ports, streams);
}

std::string rfc2544_csv(const std::vector<Rfc2544Row>& rows, uint64_t link_mbps) {
  std::string out =
      "frame,mean_frame_bytes,max_zero_loss_pps,max_zero_loss_gbps,percent_of_line,max_rate_pps,"
      "latency_p50_ns,latency_p90_ns,latency_p99_ns,latency_p999_ns,latency_max_ns\n";
  for (const auto& r : rows) {
    double gbps = r.max_pps * (r.mean_frame + 20) * 8 / 1e9;
    out += fmt::format("{},{:.1f},{:.0f},{:.3f},{:.2f},{:.0f},{},{},{},{},{}\n", r.frame,
                       r.mean_frame, r.max_pps, gbps,
                       100.0 * gbps * 1e3 / static_cast<double>(link_mbps), r.max_offered,
                       r.latency.p50, r.latency.p90, r.latency.p99, r.latency.p999, r.latency.max);
  }
  return out;
}

std::string rfc2544_svg(const std::vector<Rfc2544Row>& rows, uint64_t link_mbps) {
  // Two panels: throughput (Mpps bars, Gbit/s labels) and latency p50/p99 per size.
  const int w = 760, h = 420, left = 70, top = 40, ph = 140, gap = 90;
  const int n = static_cast<int>(rows.size());
  double max_mpps = 0.001, max_lat = 1;
  for (const auto& r : rows) {
    max_mpps = std::max(max_mpps, r.max_pps / 1e6);
    max_lat = std::max(max_lat, static_cast<double>(r.latency.p99) / 1e3);
  }
  const double bw = n ? (w - left - 20.0) / n : 1;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" "
      "font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"20\" font-size=\"14\">RFC 2544: zero-loss throughput and latency by "
      "frame size "
      "({} Mbit/s link)</text>\n",
      w, h, left, link_mbps);
  auto panel = [&](int y0, const char* title) {
    s += fmt::format(
        "<text x=\"5\" y=\"{}\">{}</text>\n<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" "
        "stroke=\"black\"/>\n",
        y0 + 10, title, left, y0 + ph, w - 20, y0 + ph);
  };
  panel(top, "Mpps");
  panel(top + ph + gap, "latency us");
  for (int i = 0; i < n; ++i) {
    const auto& r = rows[i];
    double x = left + i * bw + bw * 0.15;
    double mh = (r.max_pps / 1e6) / max_mpps * (ph - 15);
    double gbps = r.max_pps * (r.mean_frame + 20) * 8 / 1e9;
    s += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#3b7dd8\"/>\n",
        x, top + ph - mh, bw * 0.7, mh);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{:.2f} ({:.1f}G)</text>\n", x,
                     top + ph - mh - 3, r.max_pps / 1e6, gbps);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\">{}</text>\n", x, top + ph + 14, r.frame);
    double y1 = top + ph + gap;
    double h50 = static_cast<double>(r.latency.p50) / 1e3 / max_lat * (ph - 15);
    double h99 = static_cast<double>(r.latency.p99) / 1e3 / max_lat * (ph - 15);
    s += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#f0a030\"/>\n",
        x, y1 + ph - h99, bw * 0.33, h99);
    s += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#50a050\"/>\n",
        x + bw * 0.35, y1 + ph - h50, bw * 0.33, h50);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{:.1f}/{:.1f}</text>\n", x, y1 + ph - h99 - 3,
                     r.latency.p99 / 1e3, r.latency.p50 / 1e3);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\">{}</text>\n", x, y1 + ph + 14, r.frame);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\">orange: p99, green: p50</text>\n</svg>\n", left, h - 8);
  return s;
}

}  // namespace bypass::gen
