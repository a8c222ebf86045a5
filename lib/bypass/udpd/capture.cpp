// bypassctl capture for bypass-udpd on DPDK: a capture point in front of the
// modules at a point of the graph, a BPF filter, a packet budget, pcapng.
#include <pcap/pcap.h>
#include <sys/stat.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <bypass/control/pcapng.hpp>
#include <bypass/control/stats.hpp>

#include <bypass/udpd/server.hpp>

namespace bypass::udpd {

Expected<std::vector<CaptureTap*>> DpdkServer::retap(
    const std::string& point, std::shared_ptr<CaptureChannel> ch, const ModuleRegistry& reg,
    const std::function<void(size_t)>& before_free) {
  if (!config_.handoffs.empty())
    return Status::error("capture does not move [[handoff]] graphs yet: use dpdk-dumpcap.");
  std::vector<std::unique_ptr<WorkerGraph>> next;
  std::vector<CaptureTap*> taps;
  try {
    for (size_t wi = 0; wi < per_worker_.size(); ++wi) {
      PerWorker& pw = per_worker_[wi];
      auto g = std::make_unique<WorkerGraph>(*pw.worker);
      build_udp_graph(*g, plan(config_, wi), *pw.services, pool_, ports_->size() > 1);
      BYPASS_TRY(g->insert_specs(reg, config_.modules));
      if (ch)
        for (Module* m : g->at_point(point)) {
          auto tap = std::make_unique<CaptureTap>(ch, static_cast<unsigned>(wi + 1));
          taps.push_back(tap.get());
          const std::string name = "capture@" + m->name();
          g->insert_before(*m, std::move(tap), name);
        }
      BYPASS_TRY(g->check());
      next.push_back(std::move(g));
    }
  } catch (const std::exception& e) {
    return Status::error("the capture point could not be made (" + std::string(e.what()) + ").");
  }
  if (ch && taps.empty())
    return Status::error("no module is at the point '" + point +
                         "': choose one that bypassctl graph lists (ip, udp_dispatch, "
                         "service.<port>, tx).");
  for (size_t wi = 0; wi < per_worker_.size(); ++wi) {
    PerWorker& pw = per_worker_[wi];
    std::vector<std::string> keep;
    for (const auto& m : next[wi]->modules()) {
      const Module* old = pw.graph->find(m->name());
      if (old && old->gates() == m->gates() && m->name().rfind("capture@", 0) != 0)
        keep.push_back(m->name());
    }
    Status s = next[wi]->carry_over(*pw.graph, keep);
    if (s) s = next[wi]->swap_in(*pw.graph);
    if (!s) {
      if (on_swap_) on_swap_();  // the workers before this one did swap
      return s;
    }
    retire(wi, *pw.graph, {});  // the taps' counts (and no handler) stay
    if (before_free) before_free(wi);
    pw.graph = std::move(next[wi]);
  }
  if (on_swap_) on_swap_();
  capturing_ = ch != nullptr;
  return taps;
}

class CaptureCommand {
 public:
  CaptureCommand(ControlServer& control, DpdkServer& server, const ModuleRegistry& reg)
      : control_(control), server_(server), reg_(reg) {}
  ~CaptureCommand() { control_.set_idle(nullptr); }

  CommandReply run(const CommandRequest& r) {
    if (r.args.empty()) return status(r.json);
    if (r.args[0] == "stop") {
      if (!active_) return CommandReply::error("no capture is running: nothing to stop.");
      finish("stopped");
      return status(r.json);
    }
    if (active_)
      return CommandReply::error("a capture at " + point_ +
                                 " is running: stop it first (bypassctl capture stop).");
    return start(r);
  }

 private:
  CommandReply start(const CommandRequest& r) {
    std::string point = r.args[0], filter, output;
    uint64_t count = 1000;
    for (size_t i = 1; i < r.args.size(); ++i) {
      const std::string& a = r.args[i];
      if (a == "--filter") {
        for (++i; i < r.args.size() && r.args[i].rfind("--", 0) != 0; ++i)
          filter += (filter.empty() ? "" : " ") + r.args[i];
        --i;
        if (filter.empty())
          return CommandReply::error(
              "--filter takes an expression, as for tcpdump: --filter udp port 7.");
      } else if ((a == "--count" || a == "--output") && i + 1 < r.args.size()) {
        if (a == "--output") {
          output = r.args[++i];
        } else {
          const std::string& n = r.args[++i];
          if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos || n.size() > 9 ||
              std::stoull(n) == 0)
            return CommandReply::error(
                "--count takes a number of packets, 1 or more: --count 1000.");
          count = std::stoull(n);
        }
      } else {
        return CommandReply::error(
            "capture takes POINT [--filter EXPR] [--count N] --output "
            "FILE: '" +
            a + "' is none of those.");
      }
    }
    if (output.empty() || output[0] != '/')
      return CommandReply::error(
          "capture needs --output with an absolute path for the pcapng "
          "file (bypass-udpd writes it).");
    std::vector<BpfInsn> insns;
    if (!filter.empty()) {
      pcap_t* dead = pcap_open_dead(DLT_EN10MB, CaptureRecord::kSnap);
      bpf_program prog{};
      const bool ok =
          dead && pcap_compile(dead, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0;
      if (ok) {
        for (u_int k = 0; k < prog.bf_len; ++k)
          insns.push_back({prog.bf_insns[k].code, prog.bf_insns[k].jt, prog.bf_insns[k].jf,
                           prog.bf_insns[k].k});
        pcap_freecode(&prog);
      }
      if (dead) pcap_close(dead);
      if (!ok)
        return CommandReply::error("the filter '" + filter +
                                   "' is not a capture filter libpcap understands: write it as "
                                   "for tcpdump, like 'udp port 7'.");
    }
    // The point first: a mistake there must not have truncated the file.
    bool known = false;
    for (const WorkerGraph* g : server_.graphs()) known = known || !g->at_point(point).empty();
    if (!known)
      return CommandReply::error("no module is at the point '" + point +
                                 "': choose one that bypassctl graph lists (ip, udp_dispatch, "
                                 "service.<port>, tx).");
    auto writer = PcapngWriter::create(
        output,
        "bypass-udpd capture at " + point + (filter.empty() ? "" : ", filter '" + filter + "'"),
        "bypass:" + point, CaptureRecord::kSnap, "bypass-udpd");
    if (!writer) return CommandReply::error(writer.error());
    auto ch = std::make_shared<CaptureChannel>(std::move(insns), count);
    auto taps = server_.retap(point, ch, reg_);
    if (!taps) {
      std::remove(output.c_str());  // made by this call (an existing file is refused)
      return CommandReply::error(taps.error());
    }
    writer_.emplace(std::move(*writer));
    ch_ = ch;
    taps_ = *taps;
    point_ = point;
    filter_ = filter;
    output_ = output;
    written_ = 0;
    active_ = true;
    ended_.clear();
    control_.set_idle([this] { drain(); });
    spdlog::info("capture at {} to {} ({} packets at most)", point, output, count);
    return CommandReply{
        true, fmt::format("capturing at {} ({} point(s)) to {}\n", point, taps_.size(), output)};
  }

  // Writes what `t` holds, up to the budget.
  void write_from(CaptureTap& t) {
    CaptureRecord rec;
    while (written_ < ch_->budget() && t.pop(&rec)) {
      writer_->packet(rec.unix_ns, rec.wire_len, {rec.data, rec.len},
                      "worker " + std::to_string(rec.worker));
      ++written_;
    }
  }

  void drain() {
    if (!active_) return;
    for (CaptureTap* t : taps_) write_from(*t);
    writer_->flush();
    if (!writer_->ok())
      finish("writing " + output_ + " failed (is its disk full?): the file ends early");
    else if (written_ >= ch_->budget())
      finish("the packet budget was reached");
  }

  void finish(const std::string& why) {
    control_.set_idle(nullptr);
    ring_full_ = 0;
    // Each worker's taps are read a last time once it stopped using them,
    // before they are freed: what they copied is written, not lost.
    auto gone = server_.retap(point_, nullptr, reg_, [this](size_t wi) {
      for (CaptureTap* t : taps_)
        if (t->worker() == wi + 1) {
          write_from(*t);
          ring_full_ += t->ring_full();
        }
      std::erase_if(taps_, [wi](CaptureTap* t) { return t->worker() == wi + 1; });
    });
    if (!gone) spdlog::error("capture: the capture point stays in the graph: {}", gone.error());
    for (CaptureTap* t : taps_) ring_full_ += t->ring_full();  // a failed swap: still there
    taps_.clear();
    writer_->flush();
    writer_.reset();
    active_ = false;
    ended_ = why;
    spdlog::info("capture at {} ended ({}): {} packets to {}, {} dropped with the ring full",
                 point_, why, written_, output_, ring_full_);
  }

  CommandReply status(bool json) {
    uint64_t full = ring_full_;
    if (active_) {
      full = 0;
      for (CaptureTap* t : taps_) full += t->ring_full();
    }
    if (json)
      return CommandReply{
          true, fmt::format("{{\"active\":{},\"point\":{},\"output\":{},\"packets\":{},"
                            "\"budget\":{},\"ring_full\":{},\"ended\":{}}}",
                            active_ ? "true" : "false", json_quote(point_), json_quote(output_),
                            written_, ch_ ? ch_->budget() : 0, full, json_quote(ended_))};
    if (point_.empty()) return CommandReply{true, "no capture yet\n"};
    return CommandReply{
        true, fmt::format("capture at {}{}: {} packets of {} to {}, {} dropped with the ring full; "
                          "{}\n",
                          point_, filter_.empty() ? "" : " (" + filter_ + ")", written_,
                          ch_ ? ch_->budget() : 0, output_, full,
                          active_ ? "running" : "ended: " + ended_)};
  }

  ControlServer& control_;
  DpdkServer& server_;
  const ModuleRegistry& reg_;
  std::shared_ptr<CaptureChannel> ch_;
  std::vector<CaptureTap*> taps_;
  std::optional<PcapngWriter> writer_;
  std::string point_, filter_, output_, ended_;
  uint64_t written_ = 0, ring_full_ = 0;
  bool active_ = false;
};

std::shared_ptr<CaptureCommand> add_capture_command(ControlServer& control, DpdkServer& server,
                                                    const ModuleRegistry& reg) {
  auto c = std::make_shared<CaptureCommand>(control, server, reg);
  control.add_command("capture",
                      "POINT [--filter EXPR] [--count N] --output FILE; no argument: status; stop",
                      [p = c.get()](const CommandRequest& r) { return p->run(r); });
  return c;
}

}  // namespace bypass::udpd
