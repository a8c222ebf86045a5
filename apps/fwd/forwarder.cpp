#include "forwarder.hpp"

#include <bypass/graph/swap_modules.hpp>

namespace bypass::fwd {

Expected<Mode> parse_mode(const std::string& s) {
  if (s == "io") return Mode::kIo;
  if (s == "macswap") return Mode::kMacSwap;
  if (s == "5tswap") return Mode::kFiveTupleSwap;
  return Status::error("forwarding mode \"" + s +
                       "\" is not known: use \"io\", \"macswap\" or \"5tswap\".");
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kIo:
      return "io";
    case Mode::kMacSwap:
      return "macswap";
    case Mode::kFiveTupleSwap:
      return "5tswap";
  }
  return "?";
}

Expected<FwdOptions> read_fwd_options(const Config& c) {
  FwdOptions o;
  const toml::table* t = c.app["fwd"].as_table();
  if (!t) return o;
  for (const auto& [k, v] : *t) {
    std::string key(k.str());
    if (key == "mode") {
      if (!v.is_string())
        return Status::error("[fwd].mode must be a string: \"io\", \"macswap\" or \"5tswap\".");
      auto m = parse_mode(*v.value<std::string>());
      if (!m) return m.status();
      o.mode = *m;
    } else if (key == "topology") {
      auto s = v.value<std::string>();
      if (!s || (*s != "paired" && *s != "loop"))
        return Status::error(
            "[fwd].topology must be \"paired\" (0<->1, 2<->3) or \"loop\" (each port to itself).");
      o.paired = *s == "paired";
    } else if (key == "pipeline") {
      if (!v.is_boolean()) return Status::error("[fwd].pipeline must be true or false.");
      o.pipeline = *v.value<bool>();
    } else if (key == "tx_retries") {
      auto n = v.value<int64_t>();
      if (!n || *n < 0 || *n > 1000)
        return Status::error("[fwd].tx_retries must be a whole number from 0 to 1000.");
      o.tx_retries = static_cast<unsigned>(*n);
    } else {
      return Status::error(
          "unknown key '" + key +
          "' in [fwd]: check its spelling (known keys: mode, topology, pipeline, tx_retries).");
    }
  }
  return o;
}

Module* Forwarder::add_swap(Mode m) {
  switch (m) {
    case Mode::kIo:
      modules_.push_back(std::make_unique<Io>());
      break;
    case Mode::kMacSwap:
      modules_.push_back(std::make_unique<MacSwap>());
      break;
    case Mode::kFiveTupleSwap:
      modules_.push_back(std::make_unique<FiveTupleSwap>());
      break;
  }
  return modules_.back().get();
}

Expected<std::unique_ptr<Forwarder>> Forwarder::build(const Config& c, const FwdOptions& o,
                                                      const std::vector<Port*>& ports) {
  if (o.pipeline && c.workers.size() < 2)
    return Status::error(
        "[fwd].pipeline = true needs at least two [[worker]]s: add one or set pipeline = false.");
  std::unique_ptr<Forwarder> f(new Forwarder());
  for (size_t i = 0; i < c.workers.size(); ++i)
    f->workers_.push_back(std::make_unique<Worker>(static_cast<unsigned>(i), c.workers[i]));
  auto peer = [&](size_t p) -> size_t {
    if (!o.paired) return p;
    size_t q = p ^ 1;
    return q < ports.size() ? q : p;
  };
  for (size_t wi = 0; wi < c.workers.size(); ++wi) {
    size_t handler = o.pipeline ? (wi + 1) % c.workers.size() : wi;
    for (const QueueRef& q : c.workers[wi].rx) {
      // The TX side runs on the handler worker and uses that worker's TX queue.
      f->modules_.push_back(std::make_unique<PortTx>(*ports[peer(q.port)],
                                                     static_cast<uint16_t>(handler), o.tx_retries));
      Module* tx = f->modules_.back().get();
      Module* swap = f->add_swap(o.mode);
      swap->connect(0, tx);
      Module* first = swap;
      if (o.pipeline) {
        std::string name = "fwd_w" + std::to_string(wi) + "_p" + std::to_string(q.port) + "q" +
                           std::to_string(q.queue);
        auto ring = HandoffRing::create(name, c.memory.ring_size);
        if (!ring) return ring.status();
        f->rings_.push_back(std::make_unique<HandoffRing>(std::move(ring.value())));
        HandoffRing& r = *f->rings_.back();
        f->pollers_.push_back(std::make_unique<RingIn>(r, swap));
        f->workers_[handler]->add(f->pollers_.back().get());
        f->modules_.push_back(std::make_unique<RingOut>(r));
        first = f->modules_.back().get();
      }
      f->pollers_.push_back(std::make_unique<PortRx>(*ports[q.port], q.queue, first));
      f->workers_[wi]->add(f->pollers_.back().get());
    }
  }
  return f;
}

std::vector<Worker*> Forwarder::workers() {
  std::vector<Worker*> out;
  for (auto& w : workers_) out.push_back(w.get());
  return out;
}

}  // namespace bypass::fwd
