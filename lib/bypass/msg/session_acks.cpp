// Session's acknowledgements (session.hpp): what was received, for the
// header's ack and ack bits; acks of what was sent, RTT samples, losses, the
// congestion window with its undo of spurious back-offs, and the
// retransmission timeout.
#include <bypass/msg/session.hpp>

#include <algorithm>

namespace bypass::msg {

namespace {

// Packets acked after an unacked one before it counts as lost (as TCP's
// three duplicate acks).
constexpr int kReorderThreshold = 3;

}  // namespace

void Session::note_received(uint16_t seq) {
  if (!any_received_) {
    any_received_ = true;
    recv_latest_ = seq;
    recv_bits_ = 0;
    return;
  }
  const int d = static_cast<int16_t>(static_cast<uint16_t>(seq - recv_latest_));
  if (d > 0) {
    recv_bits_ = d > 32 ? 0 : ((d == 32 ? 0 : recv_bits_ << d) | (1u << (d - 1)));
    recv_latest_ = seq;
  } else if (d < 0 && -d <= 32) {
    recv_bits_ |= 1u << (-d - 1);
  }
}

void Session::process_acks(const Header& h, uint64_t now) {
  if (!h.ack_valid()) return;
  uint64_t newly[4] = {};
  bool any = false;
  uint32_t late = 0, late_in_episode = 0;  // taken for lost, acknowledged now
  auto ack_one = [&](uint16_t q, bool sample) {
    Sent& s = sent_[q & 255];
    if (!s.valid || s.seq != q || s.acked) return;
    s.acked = true;
    newly[(q & 255) >> 6] |= 1ULL << (q & 63);
    any = true;
    if (s.data && !s.lost) {
      --in_flight_;
      cwnd_ += cwnd_ < ssthresh_ ? 1.0 : 1.0 / cwnd_;
      cwnd_ = std::min(cwnd_, static_cast<double>(config_->max_cwnd));
    } else if (s.lost && !s.probe) {  // a probe's loss was not counted
      ++late;
      late_in_episode += static_cast<int16_t>(static_cast<uint16_t>(q - episode_first_)) >= 0;
    }
    if (sample && s.eliciting) on_rtt_sample(now - s.sent_ns);
    if (hello_in_flight_ && q == hello_packet_) {
      hello_acked_ = true;
      hello_in_flight_ = false;
    }
  };
  ack_one(h.ack, true);
  // Only packets from the oldest that may be unacked on can change: the bits
  // for older ones (acked long ago, or given up) are skipped, unless one
  // taken for lost may be among them.
  int reach = static_cast<int16_t>(static_cast<uint16_t>(h.ack - oldest_));
  if (lost_tracked_) {
    if (static_cast<int16_t>(static_cast<uint16_t>(h.ack - lost_newest_)) > 32) {
      lost_tracked_ = false;  // past every header's reach: the rest were lost
      episode_lost_ = 0;
    } else {
      reach = 32;
    }
  }
  uint32_t bits = h.ack_bits;
  if (reach <= 0) {
    bits = 0;
  } else if (reach <= 32) {
    bits &= reach == 32 ? ~0u : (1u << reach) - 1;
  }
  while (bits != 0) {
    const int i = __builtin_ctz(bits);
    bits &= bits - 1;
    ack_one(static_cast<uint16_t>(h.ack - 1 - i), false);
  }
  if (!any) return;
  if (late != 0) on_late_acks(late, late_in_episode);
  acked_ns_ = now;
  // The header's ack may name a packet the ring does not hold (one without
  // data, sent while its entry still held unacked data): it moves nothing,
  // but what its bits acknowledged is released below all the same.
  const Sent& newest = sent_[h.ack & 255];
  if (newest.valid && newest.seq == h.ack &&
      (!any_acked_ || static_cast<int16_t>(static_cast<uint16_t>(h.ack - newest_acked_)) > 0)) {
    newest_acked_ = h.ack;
    any_acked_ = true;
  }
  // A data packet sent kReorderThreshold or more before the newest acked one
  // and still unacked is lost: the window backs off now, not at the timeout.
  while (any_acked_ && oldest_ != next_packet_ &&
         static_cast<int16_t>(static_cast<uint16_t>(newest_acked_ - oldest_)) >=
             kReorderThreshold) {
    Sent& s = sent_[oldest_ & 255];
    if (s.valid && s.seq == oldest_ && !s.acked && s.data && !s.lost) mark_lost(s, now);
    ++oldest_;
  }
  if (reliable_unacked_ == 0) return;
  for (uint32_t i = head_; i != cursor_; ++i) {
    Out& e = out_at(i);
    if (e.state != OutState::kInFlight && e.state != OutState::kResend) continue;
    const bool same_slot = sent_[e.packet & 255].seq == e.packet;
    if (same_slot && ((newly[(e.packet & 255) >> 6] >> (e.packet & 63)) & 1) != 0) {
      if (e.state == OutState::kResend) {
        --resend_;
        --pending_;
      }
      e.state = OutState::kDone;
      ++done_;
      pool_->give(e.chunk);
      --reliable_unacked_;
    } else if (e.state == OutState::kInFlight &&
               static_cast<int16_t>(static_cast<uint16_t>(newest_acked_ - e.packet)) >=
                   kReorderThreshold) {
      // Fast retransmit: later packets arrived, this one did not.
      e.state = OutState::kResend;
      ++resend_;
      ++pending_;
      counters_->fast_retransmits++;
    }
  }
}

void Session::on_rtt_sample(uint64_t rtt) {
  if (!have_rtt_) {
    srtt_ = rtt;
    rttvar_ = rtt / 2;
    have_rtt_ = true;
  } else {
    const uint64_t dev = srtt_ > rtt ? srtt_ - rtt : rtt - srtt_;
    rttvar_ = (3 * rttvar_ + dev) / 4;
    srtt_ = (7 * srtt_ + rtt) / 8;
  }
  rto_ = std::clamp(srtt_ + std::max<uint64_t>(4 * rttvar_, 1'000'000), config_->min_rto_ns,
                    config_->max_rto_ns);
}

void Session::mark_lost(Sent& s, uint64_t now) {
  s.lost = true;
  --in_flight_;
  // A probe into a shut window: no ack means the peer's application
  // refuses, not that the path is congested, so the window keeps its size
  // (as TCP's zero window probes do not count as losses).
  if (!s.probe) {
    on_loss(s.seq, now);
    return;
  }
  // Its ack may still come, in the ack bits: they are read that far back.
  lost_newest_ = s.seq;
  lost_tracked_ = true;
}

void Session::on_loss(uint16_t seq, uint64_t now) {
  counters_->packets_lost++;
  // An episode runs while some packet taken for lost in it may still be
  // acknowledged; it remembers the window from before its first back-off.
  if (episode_lost_ == 0 || !lost_tracked_) {
    prior_cwnd_ = cwnd_;
    prior_ssthresh_ = ssthresh_;
    prior_reduction_ns_ = last_reduction_ns_;
    episode_first_ = seq;
    episode_lost_ = episode_late_ = 0;
  }
  ++episode_lost_;
  lost_newest_ = seq;
  lost_tracked_ = true;
  if (last_reduction_ns_ != 0 && now - last_reduction_ns_ < std::max(srtt_, uint64_t{1})) return;
  ssthresh_ = std::max(2.0, cwnd_ / 2);
  cwnd_ = ssthresh_;
  last_reduction_ns_ = now;
}

// Packets taken for lost were acknowledged after all (`in_episode` of them
// since the window last halved): they were late (a peer that stalled, a
// queue that grew), not lost. When every packet of the episode turns out
// so, its back-offs are undone (as TCP's Eifel and F-RTO undo a spurious
// timeout), so a delay does not cost the window.
void Session::on_late_acks(uint32_t late, uint32_t in_episode) {
  counters_->spurious_losses.add(late);
  if (episode_lost_ == 0 || in_episode == 0) return;  // from an episode already over
  episode_late_ += in_episode;
  if (episode_late_ < episode_lost_) return;
  cwnd_ = std::max(cwnd_, prior_cwnd_);
  ssthresh_ = std::max(ssthresh_, prior_ssthresh_);
  // The back-offs never happened: a real loss next halves at once, not one
  // round trip after the one undone.
  last_reduction_ns_ = prior_reduction_ns_;
  episode_lost_ = 0;
}

uint64_t Session::rto_for(uint8_t sends) const {
  const uint32_t shift = std::min<uint32_t>(sends > 0 ? sends - 1 : 0, 10);
  return std::min(rto_ << shift, config_->max_rto_ns);
}

}  // namespace bypass::msg
