#include <bypass/control/control_plane.hpp>

#include <bypass/control/control_views.hpp>
#include <bypass/control/live_page.hpp>
#include <bypass/control/prometheus.hpp>
#include <bypass/control/report.hpp>

namespace bypass {

ControlPlane::ControlPlane(ControlServer& server, std::string program, TakeFn take)
    : server_(server), program_(std::move(program)), take_(std::move(take)) {
  prev_ = now_ = take_();
  latest_ = std::make_shared<const StatsSnapshot>(now_);
  server_.add_view("stats", "totals, ports, drops and modules since the start",
                   [this](const CommandRequest& r) {
                     StatsSnapshot s = take_();
                     if (r.json) return CommandReply{true, stats_json(s, false)};
                     std::string body = final_report(s);
                     return CommandReply{true, body.substr(body.find('\n') + 1)};
                   });
  server_.add_view("ports", "each port: link, packets, rates, device drops",
                   [this](const CommandRequest& r) {
                     const StatsSnapshot fresh = take_();
                     return CommandReply{true, ports_view({prev_, fresh}, r.json)};
                   });
  server_.add_view("workers", "each worker: its CPU, packets, rates, busy share",
                   [this](const CommandRequest& r) {
                     const StatsSnapshot fresh = take_();
                     return CommandReply{true, workers_view({prev_, fresh}, r.json)};
                   });
  server_.add_view(
      "drops", "drops by module, worker and reason, with rates", [this](const CommandRequest& r) {
        const StatsSnapshot fresh = take_();
        return CommandReply{true, drops_view({prev_, fresh}, r.json, r.offset, r.limit)};
      });
  server_.add_view("top", "one screen: rates per port and worker, drops, levels",
                   [this](const CommandRequest& r) {
                     const StatsSnapshot fresh = take_();
                     return CommandReply{true, top_view({prev_, fresh}, program_, r.json)};
                   });
  server_.add_page("/", "text/html; charset=utf-8", [] { return std::string(live_page_html()); });
  server_.add_page("/metrics", "text/plain; version=0.0.4; charset=utf-8",
                   [this] { return prometheus_text(take_(), program_); });
}

ControlPlane::~ControlPlane() {
  for (const char* c : {"stats", "ports", "workers", "drops", "top", "journal"})
    server_.remove_command(c);
  server_.remove_page("/");
  server_.remove_page("/metrics");
}

void ControlPlane::set_journal(Journal* j) {
  journal_ = j;
  if (!j) return;
  j->serve_on(server_);
  // The links as they are at the start, so that a change shows.
  for (size_t i = 0; i < now_.ports.size(); ++i) {
    JournalEvent e;
    e.kind = now_.ports[i].link.up ? JournalKind::kLinkUp : JournalKind::kLinkDown;
    e.port = static_cast<uint16_t>(i);
    j->record(e);
  }
}

void ControlPlane::tick(StatsSnapshot now) {
  prev_ = std::move(now_);
  now_ = std::move(now);
  if (journal_) {
    journal_->drain();
    for (size_t i = 0; i < now_.ports.size() && i < prev_.ports.size(); ++i)
      if (now_.ports[i].link.up != prev_.ports[i].link.up) {
        JournalEvent e;
        e.kind = now_.ports[i].link.up ? JournalKind::kLinkUp : JournalKind::kLinkDown;
        e.port = static_cast<uint16_t>(i);
        journal_->record(e);
      }
  }
  auto copy = std::make_shared<const StatsSnapshot>(now_);
  std::lock_guard lock(latest_mu_);
  latest_ = std::move(copy);
}

std::shared_ptr<const StatsSnapshot> ControlPlane::latest() const {
  std::lock_guard lock(latest_mu_);
  return latest_;
}

}  // namespace bypass
