#include "options.hpp"

#include <cstdlib>

namespace bypass::gen {

Expected<double> parse_rate(const std::string& s, uint64_t link_mbps, uint16_t frame) {
  if (s == "max") return 0.0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  std::string unit = end ? std::string(end) : "";
  if (!(v > 0) || end == s.c_str())
    return Status::error("rate \"" + s +
                         "\" is not a rate: write \"max\", \"1000pps\", \"1.5Mpps\" or \"50%\".");
  if (unit == "pps") return v;
  if (unit == "kpps") return v * 1e3;
  if (unit == "Mpps" || unit == "mpps") return v * 1e6;
  if (unit == "%") {
    if (v > 100)
      return Status::error("rate \"" + s + "\" is above 100% of the line rate: use at most 100%.");
    return v / 100.0 * static_cast<double>(link_mbps) * 1e6 / ((frame + 20.0) * 8.0);
  }
  return Status::error("rate \"" + s + "\" has an unknown unit: use pps, kpps, Mpps or %.");
}

Expected<GenOptions> read_gen_options(const Config& c,
                                      const std::vector<std::string>& cli_streams) {
  GenOptions o;
  const toml::table* g = c.app["gen"].as_table();
  if (g) {
    for (const auto& [k, v] : *g) {
      std::string key(k.str());
      if (key == "duration") {
        auto d = v.value<double>();
        if (!d || *d <= 0)
          return Status::error("[gen].duration must be a number of seconds above 0.");
        o.duration = *d;
      } else if (key == "rate") {
        auto r = v.value<std::string>();
        if (!r)
          return Status::error(
              "[gen].rate must be a string: \"max\", \"1000pps\", \"1.5Mpps\" or \"50%\".");
        o.rate = *r;
      } else if (key == "link_mbps") {
        auto n = v.value<int64_t>();
        if (!n || *n < 1)
          return Status::error("[gen].link_mbps must be the link speed in Mbit/s, like 10000.");
        o.link_mbps = static_cast<uint64_t>(*n);
      } else if (key == "peer_mac") {
        auto m = MacAddr::parse(v.value_or(std::string()));
        if (!m)
          return Status::error("[gen].peer_mac must be a MAC address like \"02:00:00:00:00:02\".");
        o.peer_mac = *m;
      } else if (key == "json" || key == "csv" || key == "latency_csv" || key == "svg") {
        auto s = v.value<std::string>();
        if (!s) return Status::error("[gen]." + key + " must be a file name.");
        (key == "json" ? o.json : key == "csv" ? o.csv : key == "svg" ? o.svg : o.latency_csv) = *s;
      } else if (key == "rfc2544") {
        const toml::table* r = v.as_table();
        if (!r) return Status::error("[gen.rfc2544] must be a table.");
        o.rfc2544 = true;
        for (const auto& [rk, rv] : *r) {
          std::string k2(rk.str());
          if (k2 == "sizes") {
            o.rfc.sizes.clear();
            o.rfc.imix = false;
            const toml::array* a = rv.as_array();
            if (!a)
              return Status::error("[gen.rfc2544].sizes must be a list like [64, 128, \"imix\"].");
            for (const auto& e : *a) {
              if (e.value<std::string>() == std::optional<std::string>("imix")) {
                o.rfc.imix = true;
              } else if (auto n = e.value<int64_t>(); n && *n >= 64 && *n <= 9216) {
                o.rfc.sizes.push_back(static_cast<uint16_t>(*n));
              } else {
                return Status::error(
                    "[gen.rfc2544].sizes holds a size that is not 64..9216 or \"imix\".");
              }
            }
          } else if (k2 == "trial" || k2 == "loss" || k2 == "precision" || k2 == "latency_trial") {
            auto d = rv.value<double>();
            if (!d || *d < 0)
              return Status::error("[gen.rfc2544]." + k2 + " must be a number >= 0.");
            (k2 == "trial"       ? o.rfc.trial
             : k2 == "loss"      ? o.rfc.loss
             : k2 == "precision" ? o.rfc.precision
                                 : o.rfc.latency_trial) = *d;
          } else if (k2 == "repetitions") {
            auto n = rv.value<int64_t>();
            if (!n || *n < 1 || *n > 100)
              return Status::error("[gen.rfc2544].repetitions must be 1..100.");
            o.rfc.repetitions = static_cast<unsigned>(*n);
          } else {
            return Status::error(
                "unknown key '" + k2 +
                "' in [gen.rfc2544]: known keys are sizes, trial, repetitions, loss, precision, "
                "latency_trial.");
          }
        }
      } else if (key != "stream") {
        return Status::error(
            "unknown key '" + key +
            "' in [gen]: known keys are duration, rate, link_mbps, peer_mac, json, csv, "
            "latency_csv, svg, rfc2544, stream.");
      }
    }
  }
  const toml::array* streams = g ? (*g)["stream"].as_array() : nullptr;
  uint16_t id = 0;
  if (streams) {
    for (size_t i = 0; i < streams->size(); ++i) {
      const toml::table* t = (*streams)[i].as_table();
      std::string where = "[[gen.stream]] " + std::to_string(i + 1);
      if (!t) return Status::error(where + " must be a table.");
      toml::table copy = *t;
      size_t port = 0;
      if (auto p = copy["port"].value<std::string>()) {
        int pi = c.port_index(*p);
        if (pi < 0)
          return Status::error(where + ".port = \"" + *p +
                               "\" names no [[port]]: use one of their names.");
        port = static_cast<size_t>(pi);
        copy.erase("port");
      }
      auto s = parse_stream(copy, where, id++);
      if (!s) return s.status();
      o.streams.push_back({port, std::move(*s)});
    }
  }
  for (const auto& text : cli_streams) {
    auto s = parse_stream_arg(text, id++);
    if (!s) return s.status();
    o.streams.push_back({0, std::move(*s)});
  }
  if (o.streams.empty())
    return Status::error(
        "no streams to send: add a [[gen.stream]] with dst = \"198.18.0.2\" or pass --stream "
        "\"dst=198.18.0.2 dport=7\".");
  if (c.ports.empty())
    return Status::error("the config names no ports: add a [[port]] to send on.");
  return o;
}

}  // namespace bypass::gen
