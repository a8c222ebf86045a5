#include "options.hpp"

#include <cmath>
#include <cstdlib>
#include <set>

#include <bypass/core/config_reader.hpp>

namespace bypass::gen {

Expected<double> parse_rate(const std::string& s, uint64_t link_mbps, double frame) {
  if (s == "max") return 0.0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  std::string unit = end ? std::string(end) : "";
  // At least one frame a million seconds (a smaller rate rounds to none), and finite.
  if (!(v > 0) || !std::isfinite(v) || end == s.c_str())
    return Status::error("rate \"" + s +
                         "\" is not a rate: write \"max\", \"1000pps\", \"1.5Mpps\" or \"50%\".");
  const double pps = unit == "kpps" ? v * 1e3 : unit == "Mpps" || unit == "mpps" ? v * 1e6 : v;
  if ((unit == "pps" || unit == "kpps" || unit == "Mpps" || unit == "mpps") &&
      (pps < 1e-6 || pps > 1e12))
    return Status::error("rate \"" + s +
                         "\" is out of range: give 1e-6 to 1e12 frames a second, or \"max\".");
  if (unit == "pps") return v;
  if (unit == "kpps") return v * 1e3;
  if (unit == "Mpps" || unit == "mpps") return v * 1e6;
  if (unit == "%") {
    if (v > 100)
      return Status::error("rate \"" + s + "\" is above 100% of the line rate: use at most 100%.");
    const double r = v / 100.0 * static_cast<double>(link_mbps) * 1e6 / ((frame + 20.0) * 8.0);
    if (r < 1e-6)
      return Status::error("rate \"" + s +
                           "\" is under one frame in a million seconds: give a larger share.");
    return r;
  }
  return Status::error("rate \"" + s + "\" has an unknown unit: use pps, kpps, Mpps or %.");
}

Expected<GenOptions> read_gen_options(const Config& c,
                                      const std::vector<std::string>& cli_streams) {
  GenOptions o;
  if (!c.handoffs.empty())
    return Status::error(
        "[[handoff]] is not for bypass-gen: each worker sends and receives on its own queues; "
        "remove the [[handoff]] tables.");
  auto gen = ConfigSection(c.app, "").table("gen");
  if (!gen) return gen.status();
  uint16_t id = 0;
  if (*gen) {
    const ConfigSection& g = **gen;
    BYPASS_TRY(g.only({"duration", "rate", "link_mbps", "peer_mac", "json", "csv", "latency_csv",
                       "svg", "rfc2544", "stream", "drain"}));
    BYPASS_TRY(g.number("duration", &o.duration, 1e-3, 1e9));
    BYPASS_TRY(g.number("drain", &o.drain, 0, 60));
    BYPASS_TRY(g.string("rate", &o.rate));
    BYPASS_TRY(g.integer("link_mbps", &o.link_mbps, 1, 10'000'000));
    std::string mac;
    BYPASS_TRY(g.string("peer_mac", &mac));
    if (g.has("peer_mac")) {
      auto m = MacAddr::parse(mac);
      if (!m) return g.error("peer_mac", "must be a MAC address like \"02:00:00:00:00:02\".");
      o.peer_mac = *m;
    }
    BYPASS_TRY(g.string("json", &o.json));
    BYPASS_TRY(g.string("csv", &o.csv));
    BYPASS_TRY(g.string("latency_csv", &o.latency_csv));
    BYPASS_TRY(g.string("svg", &o.svg));
    auto rfc = g.table("rfc2544");
    if (!rfc) return rfc.status();
    if (*rfc) {
      // Settings only: the search runs with --rfc2544, so one config serves
      // both plain runs and searches.
      const ConfigSection& r = **rfc;
      BYPASS_TRY(
          r.only({"sizes", "trial", "repetitions", "loss", "precision", "latency_trial", "drain"}));
      if (const ConfigValue* sizes = r.get("sizes")) {
        const Status bad = r.error("sizes",
                                   "must be a list of frame sizes from 64 to 9216 or "
                                   "\"imix\", like [64, 128, \"imix\"].");
        if (!sizes->is_array() || sizes->items().empty()) return bad;
        o.rfc.sizes.clear();
        o.rfc.imix = false;
        for (const auto& e : sizes->items()) {
          if (const std::string* str = e.as_string(); str && *str == "imix") {
            o.rfc.imix = true;
          } else if (auto n = e.as_int(); n && *n >= 64 && *n <= 9216) {
            o.rfc.sizes.push_back(static_cast<uint16_t>(*n));
          } else {
            return bad;
          }
        }
      }
      // A trial of 0 s would run until a signal; a precision of 1 or more
      // would try no rate at all.
      BYPASS_TRY(r.number("trial", &o.rfc.trial, 0.01, 1e6));
      BYPASS_TRY(r.number("loss", &o.rfc.loss, 0, 1));
      BYPASS_TRY(r.number("precision", &o.rfc.precision, 1e-6, 0.5));
      BYPASS_TRY(r.number("latency_trial", &o.rfc.latency_trial, 0.01, 1e6));
      BYPASS_TRY(r.number("drain", &o.rfc.drain, 0, 60));
      BYPASS_TRY(r.integer("repetitions", &o.rfc.repetitions, 1, 100));
    }
    BYPASS_TRY(g.tables("stream", [&](const ConfigSection& t, size_t) {
      ConfigValue copy = t.value();
      size_t port = 0;
      if (t.has("port")) {
        std::string pname;
        BYPASS_TRY(t.string("port", &pname));
        int pi = c.port_index(pname);
        if (pi < 0)
          return Status::error(t.where("port") + " = \"" + pname +
                               "\" names no [[port]]: use one of their names.");
        port = static_cast<size_t>(pi);
        copy.erase("port");
      }
      auto s = parse_stream(copy, t.path(), id++);
      if (!s) return s.status();
      o.streams.push_back({port, std::move(*s)});
      return Status::ok();
    }));
  }
  for (const auto& text : cli_streams) {
    auto s = parse_stream_arg(text, id++);
    if (!s) return s.status();
    o.streams.push_back({0, std::move(*s)});
  }
  // Reports and --json name each stream; bypass-gen gives each stream's
  // frames its own flow numbers (the `id` key is for embedders), so the name
  // is what must tell streams apart.
  std::set<std::string> names;
  for (const PortStream& ps : o.streams)
    if (!names.insert(ps.stream.name).second)
      return Status::error("two streams are named '" + ps.stream.name +
                           "': give each its own name (a stream without one is named "
                           "stream<id>, its id its position counting from 0).");
  if (o.streams.empty())
    return Status::error(
        "no streams to send: add a [[gen.stream]] with dst = \"198.18.0.2\" or pass --stream "
        "\"dst=198.18.0.2 dport=7\".");
  if (c.ports.empty())
    return Status::error("the config names no ports: add a [[port]] to send on.");
  return o;
}

}  // namespace bypass::gen
