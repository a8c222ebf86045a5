// Pacer: how many packets a generator worker may send now, for a target rate
// in packets per second, from a TSC-like tick counter. Rate is a rational
// (num / den packets per second) so that line rates such as 10 Gbit/s of 64 B
// frames (10e9 / 672 pps) are exact.
//
// Credit is kept in Q64.64 fixed point and grows by `elapsed ticks x packets
// per tick`, the latter rounded up once when the rate is set: no division on
// the fast path and no drift. Starting at tick t0, the packets granted by time
// t are 1 + floor((t - t0) x rate / hz) (the first packet is due at once) while
// the caller keeps up, except that the rounding may make a packet due early,
// by at most 1 + (t - t0) x hz / (rate x 2^64) ticks (a tick or two after hours
// at 1 pps), never a whole packet ahead. Totals at whole seconds are exact.
//
// A late caller (preempted, TX ring full) gets at most `backlog` packets of
// catch-up, `burst` per call; the rest of the lost time is forgiven. A clock
// that goes backwards grants nothing and re-anchors at the new time. In max
// rate mode due() always grants a full burst. due() takes no lock, makes no
// syscall and allocates nothing.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

namespace bypass::gen {

__extension__ using Uint128 = unsigned __int128;

struct Rate {
  uint64_t num = 0;  // packets per second = num / den
  uint64_t den = 1;  // 0: max rate (as fast as the port takes them)

  static Rate max() { return {0, 0}; }
  static Rate ratio(uint64_t num, uint64_t den) { return reduced(num, den ? den : 1); }
  // To a millionth of a packet per second; negative or NaN is 0.
  static Rate pps(double pps) {
    if (!(pps > 0)) return {0, 1};
    double micro = std::min(pps * 1e6, 9e18);
    return reduced(static_cast<uint64_t>(std::llround(micro)), 1000000);
  }
  // `percent` of a link of `link_mbps` Mbit/s filled with frames of `frame_bytes`
  // (FCS included, the 20 bytes of preamble and gap added here). For a mix,
  // frame_bytes is the total of `frames` frames: 4342 bytes for the 12 frames
  // of simple IMIX. pps = bits/s x frames / ((frame_bytes + 20 x frames) x 8).
  static Rate line(uint64_t link_mbps, uint64_t frame_bytes, double percent = 100,
                   uint64_t frames = 1) {
    if (!(percent > 0) || link_mbps == 0 || frames == 0) return {0, 1};
    auto ppm = static_cast<uint64_t>(std::llround(std::min(percent, 1e6) * 1e4));  // 100% = 1e6
    Uint128 n = Uint128{link_mbps} * 1000000u * ppm * frames;
    Uint128 d = (Uint128{frame_bytes} + Uint128{20} * frames) * 8u * 1000000u;
    return reduced128(n, d);
  }

  bool is_max() const { return den == 0; }
  bool is_zero() const { return den != 0 && num == 0; }
  double per_second() const {
    return den ? static_cast<double>(num) / static_cast<double>(den) : INFINITY;
  }
  bool operator==(const Rate&) const = default;

 private:
  static Rate reduced(uint64_t n, uint64_t d) {
    uint64_t g = std::gcd(n, d);
    return g ? Rate{n / g, d / g} : Rate{0, 1};
  }
  static Uint128 gcd128(Uint128 a, Uint128 b) {
    while (b) {
      Uint128 t = a % b;
      a = b;
      b = t;
    }
    return a;
  }
  // Reduced; scaled down (inexact, by less than 2^-40) if still wider than 64 bits.
  static Rate reduced128(Uint128 n, Uint128 d) {
    if (n == 0) return {0, 1};
    Uint128 g = gcd128(n, d);
    n /= g;
    d /= g;
    while ((n >> 64) || (d >> 64)) {
      n >>= 1;
      d >>= 1;
    }
    return reduced(static_cast<uint64_t>(n), std::max<uint64_t>(static_cast<uint64_t>(d), 1));
  }
};

class Pacer {
 public:
  static constexpr uint32_t kDefaultBurst = 32;
  static constexpr uint32_t kDefaultBacklogBursts = 4;

  // hz: ticks per second of the clock passed to due(). backlog 0 means
  // kDefaultBacklogBursts x burst; it is never less than burst.
  Pacer(uint64_t hz, Rate rate, uint32_t burst = kDefaultBurst, uint32_t backlog = 0)
      : hz_(hz ? hz : 1), burst_(std::max<uint32_t>(burst, 1)) {
    backlog = backlog ? backlog : kDefaultBacklogBursts * burst_;
    cap_ = Uint128{std::max(backlog, burst_)} << 64;
    apply(rate);
  }

  // Anchors at `now`; the first packet is due at once.
  void start(uint64_t now) {
    last_ = now;
    credit_ = max_ || per_tick_ == 0 ? 0 : kOne;
  }

  // Packets that may be sent now: 0..burst.
  uint32_t due(uint64_t now) {
    if (max_) return burst_;
    accrue(now);
    uint64_t whole = static_cast<uint64_t>(credit_ >> 64);
    uint32_t n = whole < burst_ ? static_cast<uint32_t>(whole) : burst_;
    credit_ -= Uint128{n} << 64;
    return n;
  }

  // Packets due() granted that were not sent (TX queue full): due again later.
  void give_back(uint32_t n) {
    if (max_) return;
    credit_ = std::min(credit_ + (Uint128{n} << 64), cap_);
  }

  // From `now` on; the time before counts at the old rate.
  void set_rate(Rate rate, uint64_t now) {
    if (!max_) accrue(now);
    bool was_max = max_;
    apply(rate);
    if (was_max || max_ || per_tick_ == 0) credit_ = 0;
    last_ = now;
  }

  // Ticks from `now` until due() would grant a packet (0: now; UINT64_MAX: never).
  uint64_t ticks_to_next(uint64_t now) const {
    if (max_) return 0;
    Uint128 c = credit_after(now);
    if (c >= kOne) return 0;
    if (per_tick_ == 0) return UINT64_MAX;
    Uint128 t = (kOne - c + per_tick_ - 1) / per_tick_;
    return t >> 64 ? UINT64_MAX : static_cast<uint64_t>(t);
  }

  Rate rate() const { return rate_; }
  bool max_rate() const { return max_; }
  uint32_t burst() const { return burst_; }
  uint32_t backlog() const { return static_cast<uint32_t>(cap_ >> 64); }
  uint64_t hz() const { return hz_; }
  // Packets per tick in Q0.64 (rounded up); UINT64_MAX means about one per tick.
  uint64_t per_tick_q64() const { return per_tick_; }

 private:
  static constexpr Uint128 kOne = Uint128{1} << 64;
  static constexpr uint64_t kMaxElapsed = uint64_t{1} << 62;  // keeps the product below 2^126

  Uint128 credit_after(uint64_t now) const {
    uint64_t elapsed = now >= last_ ? now - last_ : 0;  // backwards: nothing
    elapsed = std::min(elapsed, kMaxElapsed);
    return std::min(credit_ + Uint128{elapsed} * per_tick_, cap_);
  }
  void accrue(uint64_t now) {
    credit_ = credit_after(now);
    last_ = now;
  }
  void apply(Rate r) {
    rate_ = r;
    max_ = r.is_max();
    if (max_ || r.num == 0) {
      per_tick_ = 0;
      return;
    }
    // ceil(num x 2^64 / (den x hz)), at most 2^64 - 1 (about one packet per tick).
    Uint128 d = Uint128{r.den} * hz_;
    Uint128 a = Uint128{r.num} << 64;
    Uint128 q = a / d + (a % d != 0);
    per_tick_ = q >> 64 ? UINT64_MAX : static_cast<uint64_t>(q);
  }

  uint64_t hz_;
  uint32_t burst_;
  Rate rate_;
  bool max_ = false;
  uint64_t per_tick_ = 0;
  Uint128 credit_ = 0;
  Uint128 cap_ = 0;
  uint64_t last_ = 0;
};

}  // namespace bypass::gen
