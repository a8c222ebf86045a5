#include "trial.hpp"

#include <rte_cycles.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <bypass/control/control_plane.hpp>
#include <bypass/control/stats.hpp>
#include <bypass/core/run.hpp>
#include <bypass/core/worker.hpp>
#include <bypass/graph/graph.hpp>
#include <bypass/graph/port_modules.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/net/frame.hpp>
#include <bypass/net/port_host.hpp>

namespace bypass::gen {

uint64_t TrialResult::tx() const {
  uint64_t n = 0;
  for (const auto& s : streams) n += s.sent;
  return n;
}
uint64_t TrialResult::rx() const {
  uint64_t n = 0;
  for (const auto& s : streams) n += s.rx.received - s.rx.duplicates - s.rx.stale;
  return n;
}
uint64_t TrialResult::lost() const {
  return tx() > rx() ? tx() - rx() : 0;
}

namespace {

// Everything one trial owns; destroyed after the workers stopped.
struct Plan {
  std::vector<std::unique_ptr<Worker>> workers;
  // One block per (worker, port): each has one writer, like every counter
  // here; a port's figures are their sum.
  std::vector<std::unique_ptr<PortCounters>> port_counters;  // [worker * ports + port]
  size_t ports = 0;
  PortCounters& counters(size_t worker, size_t port) {
    return *port_counters[worker * ports + port];
  }
  std::vector<std::unique_ptr<StreamTable>> tables;                  // by (stream, tx worker)
  std::vector<std::vector<std::pair<size_t, StreamTx*>>> stream_tx;  // by stream: (worker, tx)
  std::vector<std::unique_ptr<WorkerGraph>> graphs;                  // by worker
  std::vector<GenTx*> tx;
  std::vector<std::unique_ptr<FlowTrackers>> trackers;  // by worker
  std::vector<std::vector<Source*>> rx_by_worker;       // PortRx -> GenRx
  std::vector<GenRx*> sinks;                            // every GenRx
  // In front of each GenRx: the port's answers to ARP and neighbour
  // solicitations for its addresses (by RX queue, with its port).
  std::vector<std::unique_ptr<Endpoint>> endpoints;
  std::vector<std::pair<size_t, PortHost*>> hosts;
  size_t flows_per_stream = 0;
};

// Once per process and port: what a port was asked by ARP and cannot
// answer, with the setting that would (trials repeat; the log should not).
void advise_once(const Plan& p, const std::vector<Port*>& ports) {
  static std::vector<std::string> advised;
  for (const auto& [port, host] : p.hosts) {
    const std::string& name = ports[port]->name();
    const uint32_t target = host->first_unanswered_target();
    if (host->unanswered() == 0 || target == 0 ||
        std::find(advised.begin(), advised.end(), name) != advised.end())
      continue;
    advised.push_back(name);
    spdlog::warn("{}", unanswered_arp_advice(name, target, to_mac(ports[port]->mac())));
  }
}

std::vector<PortResult> port_results(const Plan& p, const std::vector<Port*>& ports) {
  std::vector<PortResult> out;
  for (size_t i = 0; i < ports.size(); ++i) {
    PortResult r{ports[i]->name()};
    for (size_t w = 0; w < p.workers.size(); ++w) {
      const PortCounters& c = *p.port_counters[w * p.ports + i];
      r.tx_packets += c.tx_packets.get();
      r.tx_bytes += c.tx_bytes.get();
      r.rx_packets += c.rx_packets.get();
      r.rx_bytes += c.rx_bytes.get();
      r.rx_other += c.rx_other.get();
      r.tx_nombuf += c.tx_nombuf.get();
      r.rx_device_timed += c.rx_device_timed.get();
    }
    out.push_back(r);
  }
  return out;
}

std::vector<StreamResult> stream_results(const Plan& p, const GenOptions& o, bool with_latency) {
  std::vector<StreamResult> out(o.streams.size());
  for (size_t s = 0; s < o.streams.size(); ++s) {
    StreamResult& r = out[s];
    r.name =
        o.streams[s].stream.name.empty() ? "stream " + std::to_string(s) : o.streams[s].stream.name;
    for (const auto& [w, tx] : p.stream_tx[s]) {
      r.sent += tx->sent.get();
      const uint16_t flow = static_cast<uint16_t>(s * p.flows_per_stream + w);
      for (const auto& ft : p.trackers) {
        RxTracker* t = ft->get(flow);
        if (!t) continue;
        r.rx.add(t->counts());
        if (with_latency) r.latency.merge(t->latency());
      }
    }
  }
  return out;
}

}  // namespace

// Prometheus' buckets from the generator's histogram: 1-2-5 steps from 1 us
// to 1 s; a bucket of ours that straddles a bound counts above it.
static void prometheus_buckets(const Histogram& h, StatsSnapshot::HistogramStat* st) {
  static constexpr double kBounds[] = {1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6,
                                       2e6, 5e6, 1e7, 2e7, 5e7, 1e8, 2e8, 5e8, 1e9};
  std::vector<uint64_t> at(std::size(kBounds), 0);
  double sum = 0;
  for (size_t i = 0; i < h.bucket_count(); ++i) {
    const uint64_t n = h.count_at(i);
    if (!n) continue;
    const double lo = static_cast<double>(h.bucket_lower(i)),
                 hi = static_cast<double>(h.bucket_upper(i));
    sum += static_cast<double>(n) * (lo + hi) / 2;
    for (size_t b = 0; b < std::size(kBounds); ++b)
      if (hi <= kBounds[b]) at[b] += n;
  }
  for (size_t b = 0; b < std::size(kBounds); ++b) st->cumulative.emplace_back(kBounds[b], at[b]);
  st->sum = sum;
}

std::vector<std::pair<std::string, FrameSizes>> rfc2544_sizes(const GenOptions& o) {
  std::vector<std::pair<std::string, FrameSizes>> sizes;
  for (uint16_t sz : o.rfc.sizes)
    sizes.push_back({std::to_string(sz), FrameSizes{SizeMode::kFixed, sz, sz}});
  if (o.rfc.imix) {
    FrameSizes imix;
    imix.mode = SizeMode::kMix;
    imix.mix.assign(std::begin(kSimpleImix), std::end(kSimpleImix));
    sizes.push_back({"imix", imix});
  }
  return sizes;
}

Status preflight(const Config& c, const GenOptions& o) {
  for (const auto& port : c.ports)
    for (const auto& a : port.addresses)
      if (auto ia = IfAddr::parse(a); !ia)
        return Status::error("port '" + port.name + "': " + ia.error());
  std::vector<std::optional<FrameSizes>> sizes = {std::nullopt};  // each stream's own
  if (o.rfc2544) {
    sizes.clear();
    for (const auto& [label, fs] : rfc2544_sizes(o)) sizes.push_back(fs);
  }
  // Each (stream, worker) has its own 16-bit flow number.
  if (o.streams.size() * c.workers.size() > 65536)
    return Status::error(fmt::format(
        "{} streams on {} workers make {} flows, and a frame's stamp numbers 65,536 at most: use "
        "fewer streams (sport and dst ranges make many flows of one stream).",
        o.streams.size(), c.workers.size(), o.streams.size() * c.workers.size()));
  const uint32_t room = c.memory.data_room - RTE_PKTMBUF_HEADROOM;
  for (const PortStream& ps : o.streams) {
    if (!ps.stream.stamp)
      return Status::error("stream '" + ps.stream.name +
                           "' has stamp = false, and bypass-gen counts a stream's frames by their "
                           "stamp (it could only count them lost): remove stamp = false.");
    for (const auto& size : sizes) {
      Stream st = ps.stream;
      if (size) {
        uint16_t smallest = size->min;
        for (const auto& w : size->mix) smallest = std::min(smallest, w.size);
        if (smallest < st.min_frame()) continue;  // the search skips it, saying so
        st.size = *size;
      }
      auto t = StreamTable::expand(st);
      if (!t) return t.status();
      if (t->max_write() > room)
        return Status::error(fmt::format(
            "stream '{}' writes up to {} bytes per frame but the mbufs hold {}: set [memory] "
            "data_room to at least {}{}.",
            st.name, t->max_write(), room, t->max_write() + RTE_PKTMBUF_HEADROOM,
            o.rfc2544 ? " (or leave the largest frame size out of [gen.rfc2544] sizes)" : ""));
    }
  }
  return Status::ok();
}

Expected<TrialResult> run_trial(const Config& c, const GenOptions& o,
                                const std::vector<Port*>& ports, rte_mempool* pool,
                                const TrialSpec& spec, StopSignals& signals, const TickFn& tick) {
  Plan p;
  const uint64_t hz = rte_get_tsc_hz();
  const size_t nw = c.workers.size();
  p.flows_per_stream = nw;
  p.rx_by_worker.resize(nw);
  p.ports = ports.size();
  for (size_t i = 0; i < nw * ports.size(); ++i)
    p.port_counters.push_back(std::make_unique<PortCounters>());
  for (size_t w = 0; w < nw; ++w) {
    p.workers.push_back(std::make_unique<Worker>(static_cast<unsigned>(w), c.workers[w]));
    p.graphs.push_back(std::make_unique<WorkerGraph>(*p.workers.back()));
    p.trackers.push_back(std::make_unique<FlowTrackers>(o.streams.size() * nw, hz,
                                                        HistogramConfig{1, 10'000'000'000ull, 2}));
  }
  // TX: a worker sends the streams of every port it polls, on its own TX queue.
  p.stream_tx.resize(o.streams.size());
  for (size_t w = 0; w < nw; ++w) {
    std::vector<size_t> my_ports;
    for (const QueueRef& q : c.workers[w].rx)
      if (std::find(my_ports.begin(), my_ports.end(), q.port) == my_ports.end())
        my_ports.push_back(q.port);
    for (size_t port : my_ports) {
      auto tx = std::make_unique<GenTx>(*ports[port], static_cast<uint16_t>(w), pool,
                                        p.counters(w, port));
      for (size_t s = 0; s < o.streams.size(); ++s) {
        if (o.streams[s].port != port) continue;
        Stream st = o.streams[s].stream;
        st.id = static_cast<uint16_t>(s * nw + w);
        if (spec.size) st.size = *spec.size;
        auto table = StreamTable::expand(st);
        if (!table) return table.status();
        p.tables.push_back(std::make_unique<StreamTable>(std::move(*table)));
        StreamTable& t = *p.tables.back();
        t.set_macs(st.src_mac.is_zero() ? to_mac(ports[port]->mac()) : st.src_mac,
                   st.dst_mac.is_zero() ? o.peer_mac : st.dst_mac);
        if (!t.fits(pool))
          return Status::error(fmt::format(
              "stream '{}' writes up to {} bytes per frame but the mbufs hold {}: set "
              "[memory] data_room to at least {}",
              st.name, t.max_write(), rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM,
              t.max_write() + RTE_PKTMBUF_HEADROOM));
        // The workers sending on a port share each stream's rate.
        size_t senders = 0;
        for (size_t w2 = 0; w2 < nw; ++w2)
          for (const QueueRef& q : c.workers[w2].rx)
            if (q.port == port) {
              ++senders;
              break;
            }
        double pps = s < spec.pps.size() ? spec.pps[s] : 0;
        Rate rate = pps > 0 ? Rate::pps(pps / static_cast<double>(senders)) : Rate::max();
        auto sx = std::make_unique<StreamTx>(&t, st.id, Pacer(hz, rate));
        p.stream_tx[s].emplace_back(w, sx.get());
        tx->add(std::move(sx));
      }
      p.tx.push_back(tx.get());
      p.graphs[w]->add_source(std::move(tx));
    }
    for (const QueueRef& q : c.workers[w].rx) {
      const std::string sfx = ".p" + std::to_string(q.port) + "q" + std::to_string(q.queue);
      auto& sink = p.graphs[w]->make<GenRx>("gen_rx" + sfx, *ports[q.port], *p.trackers[w],
                                            p.counters(w, q.port));
      p.sinks.push_back(&sink);
      EndpointConfig ec;
      ec.mac = to_mac(ports[q.port]->mac());
      for (const auto& a : c.ports[q.port].addresses) {
        auto ia = IfAddr::parse(a);
        if (!ia) return Status::error("port '" + c.ports[q.port].name + "': " + ia.error());
        ec.addrs.push_back(*ia);
      }
      try {
        p.endpoints.push_back(
            std::make_unique<Endpoint>(std::move(ec), p.workers[w]->clock().hz()));
      } catch (const std::exception& e) {
        return Status::error(e.what());
      }
      auto& host =
          p.graphs[w]->make<PortHost>("host" + sfx, *p.endpoints.back(), PortHost::Role::kReceiver);
      host.connect(PortHost::kOn, &sink);
      host.connect(PortHost::kAnswer, &p.graphs[w]->make<PortTx>("answer" + sfx, *ports[q.port],
                                                                 static_cast<uint16_t>(w)));
      p.hosts.emplace_back(q.port, &host);
      p.rx_by_worker[w].push_back(
          &p.graphs[w]->add_source(std::make_unique<PortRx>(*ports[q.port], q.queue, &host)));
    }
    if (Status st = p.graphs[w]->start(); !st) return st;
  }
  std::vector<Worker*> raw;
  for (auto& w : p.workers) raw.push_back(w.get());
  // --stats-json: the common snapshot plus the generator's per-port and
  // per-stream figures as counters.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> json(nullptr, &std::fclose);
  if (!spec.stats_json.empty()) {
    json.reset(std::fopen(spec.stats_json.c_str(), "w"));
    if (!json)
      return Status::error("cannot write the stats file '" + spec.stats_json +
                           "': check that its directory exists and is writable.");
  }
  std::vector<const WorkerGraph*> graphs;
  for (auto& g : p.graphs) graphs.push_back(g.get());
  StatsCollector stats(std::vector<const Worker*>(raw.begin(), raw.end()), ports, graphs);
  stats.add_counters([&](auto& out) {
    for (const PortResult& r : port_results(p, ports))
      for (auto [k, v] : {std::pair<const char*, uint64_t>{"tx_packets", r.tx_packets},
                          {"tx_bytes", r.tx_bytes},
                          {"rx_packets", r.rx_packets},
                          {"rx_bytes", r.rx_bytes},
                          {"rx_other", r.rx_other},
                          {"tx_nombuf", r.tx_nombuf},
                          {"rx_device_timed", r.rx_device_timed}})
        out.emplace_back("gen.port." + r.name + "." + k, v);
    for (const StreamResult& r : stream_results(p, o, false))
      for (auto [k, v] : {std::pair<const char*, uint64_t>{"sent", r.sent},
                          {"received", r.rx.received},
                          {"duplicates", r.rx.duplicates},
                          {"reordered", r.rx.reordered}})
        out.emplace_back("gen.stream." + r.name + "." + k, v);
    uint64_t arp = 0, na = 0, unanswered = 0;
    for (const auto& e : p.endpoints) {
      arp += e->counters().arp_replies.get();
      na += e->counters().na_sent.get();
    }
    for (const auto& h : p.hosts) unanswered += h.second->unanswered();
    out.insert(out.end(), {{"host.arp_replies", arp},
                           {"host.neighbour_adverts", na},
                           {"host.arp_unanswered", unanswered}});
  });
  stats.add_histograms([&](auto& out) {
    for (const StreamResult& r : stream_results(p, o, true)) {
      const HistogramSummary h = r.latency.summary();
      StatsSnapshot::HistogramStat st{"gen.stream." + r.name + ".latency",
                                      "ns",
                                      h.count,
                                      h.min,
                                      h.p50,
                                      h.p90,
                                      h.p99,
                                      h.p999,
                                      h.max,
                                      {},
                                      0};
      prometheus_buckets(r.latency, &st);
      out.push_back(std::move(st));
    }
  });
  auto write = [&](double secs, bool final) {
    if (!json) return;
    std::fprintf(json.get(), "%s\n", stats_json(stats.take(secs), final).c_str());
    std::fflush(json.get());
  };
  WorkerGroup group(raw);
  const uint64_t now = TscClock().now();
  // Frames stamped before this trial (late ones of the one before, with the
  // same streams and sequences) are not this trial's.
  for (GenRx* g : p.sinks) g->count_from(now);
  for (auto& t : p.tx) t->start(now);
  // bypassctl and /metrics while the trial runs (the control thread serves
  // between ticks).
  std::optional<ControlPlane> plane;
  const uint64_t t0 = TscClock().now();
  auto elapsed = [t0] {
    TscClock clk;
    return static_cast<double>(clk.now() - t0) / static_cast<double>(clk.hz());
  };
  if (spec.control)
    plane.emplace(*spec.control, "bypass-gen", [&] { return stats.take(elapsed()); });
  std::function<void(int, std::chrono::milliseconds)> serve;
  if (spec.control)
    serve = [&](int fd, std::chrono::milliseconds t) { spec.control->serve(fd, t); };
  auto run = run_until_stopped(
      group, signals, spec.seconds,
      [&](double secs) {
        advise_once(p, ports);
        if (tick) tick(secs, port_results(p, ports), stream_results(p, o, true));
        write(secs, false);
        if (plane) plane->tick(stats.take(secs));
      },
      nullptr, serve);
  if (!run) return run.status();
  // Let the last packets in flight arrive: RX only, for a moment.
  std::vector<std::unique_ptr<Worker>> drain;
  std::vector<Worker*> rx_only;
  for (size_t w = 0; w < nw; ++w) {
    drain.push_back(std::make_unique<Worker>(static_cast<unsigned>(w), c.workers[w]));
    for (Source* rp : p.rx_by_worker[w]) drain.back()->add(rp);
    rx_only.push_back(drain.back().get());
  }
  WorkerGroup dg(rx_only);
  // The drain serves the control socket as the run did, and a signal that
  // would have stopped the run (a Ctrl-C after the trial's time was up, or a
  // second one) cuts it short and is the trial's: an RFC 2544 search then
  // stops too, as it does for a signal during a trial.
  int drain_signal = 0;
  if (spec.drain > 0) {
    auto drained = run_until_stopped(dg, signals, spec.drain, nullptr, nullptr, serve);
    if (!drained) return drained.status();
    drain_signal = drained->signal;
  }
  // What the drain received, sent and dropped is the run's: onto the run's
  // workers, whose totals the reports read (the modules' tallies, drops by
  // reason among them, already hold it).
  for (size_t w = 0; w < nw; ++w) {
    const WorkerCounters& d = drain[w]->counters();
    WorkerCounters& k = p.workers[w]->counters();
    k.rx_packets.add(d.rx_packets.get());
    k.rx_bytes.add(d.rx_bytes.get());
    k.tx_packets.add(d.tx_packets.get());
    k.tx_bytes.add(d.tx_bytes.get());
    k.dropped.add(d.dropped.get());
  }
  advise_once(p, ports);
  write(run->seconds, true);
  TrialResult r;
  r.last = stats.take(run->seconds);
  r.seconds = run->seconds;
  r.signal = run->signal != 0 ? run->signal : drain_signal;
  r.ports = port_results(p, ports);
  r.streams = stream_results(p, o, true);
  return r;
}

}  // namespace bypass::gen
