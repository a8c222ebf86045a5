// libFuzzer target for PortHost (net/port_host.hpp), the host stage in front
// of bypass-fwd's swap and bypass-gen's receiver: up to 4 frames from the
// input, first each alone through its classification on an mbuf whose bytes
// outside the segment data are poisoned (ASan reports a read past data_len
// where it happens), then all as one batch through the module (inside
// Worker::run, so that the worker's time is real). Checked: no frame ends
// both passed on and answered; a frame
// passed on is the frame received, but for a reflector's rewrite of a group
// destination to the port's MAC; every answer passes our own parser; what
// is not passed on, answered or dropped was consumed (an ARP reply learnt
// from), and the pool ends where it began.
//
// Input: the endpoint target's records (fuzz_endpoint.cpp): up to 4 of
// [3 frame header bytes (fuzz_env.hpp)][mode][length: 2 bytes, big-endian]
// [frame]. Bit 0 of the first record's mode: a receiver (1) or a reflector.
#include <rte_ether.h>

#include <cstring>
#include <vector>

#include <bypass/core/worker.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/net/port_host.hpp>

#include "collect.hpp"
#include "frames.hpp"
#include "fuzz_env.hpp"

namespace bypass::fuzz {
namespace {

struct World {
  Worker worker{0, WorkerConfig{}};
  OnePoll poller;
  EndpointConfig cfg;
  World() {
    worker.add(&poller);
    cfg.mac = test::kOurMac;
    for (const char* a : {"198.18.0.2/24", "2001:db8::2/64"})
      cfg.addrs.push_back(*IfAddr::parse(a));
    cfg.neighbors.capacity = 64;
  }
};

World& world() {
  static World* w = new World;
  return *w;
}

std::vector<uint8_t> bytes_of(const rte_mbuf* m) {
  std::vector<uint8_t> f(m->pkt_len + 1);  // never empty: data() is not null
  const void* src = rte_pktmbuf_read(m, 0, m->pkt_len, f.data());
  if (src != f.data()) std::memcpy(f.data(), src, m->pkt_len);
  f.pop_back();
  return f;
}

}  // namespace
}  // namespace bypass::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  bypass::fuzz::init();
  bypass::fuzz::world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bypass;
  using namespace bypass::fuzz;
  World& wd = world();
  const unsigned before = pool_in_use();
  const std::vector<FrameRecord> records = decode_records(data, size, 4);
  if (records.empty()) return 0;
  const bool receiver = records[0].mode & 1;
  std::vector<FrameInput> frames;
  for (const FrameRecord& r : records) frames.push_back(r.frame);
  const PortHost::Role role = receiver ? PortHost::Role::kReceiver : PortHost::Role::kReflector;
  Endpoint ep(wd.cfg, wd.worker.clock().hz());

  // 1. Each frame's classification alone, on poisoned mbufs.
  {
    PortHost host(ep, role);
    for (const FrameInput& f : frames) {
      rte_mbuf* m = build(f, true);
      if (!m) continue;
      (void)PortHost::plain(m);
      (void)host.to_host(m);
      unpoison(m);
      rte_pktmbuf_free(m);
    }
  }

  // 2. All of them through the module.
  std::vector<rte_mbuf*> in;
  std::vector<std::vector<uint8_t>> was;
  for (const FrameInput& f : frames) {
    rte_mbuf* m = build(f, false);
    if (!m) break;
    in.push_back(m);
    was.push_back(bytes_of(m));
  }
  PortHost host(ep, role);
  test::Collect on, answers;
  host.connect(PortHost::kOn, &on);
  host.connect(PortHost::kAnswer, &answers);
  wd.poller.f = [&](Worker& w) {
    Batch b;
    for (rte_mbuf* m : in) b.push(m);
    Module::deliver(w, host, b);
  };
  wd.poller.stop = false;
  wd.worker.run(wd.poller.stop);
  // The rest the Endpoint consumed (an ARP reply it learnt from) and freed:
  // the pool's count below says none is lost.
  const uint64_t dropped = host.tally().dropped();
  FUZZ_CHECK(on.got.size() + answers.got.size() + dropped <= in.size(),
             "%zu in, %zu on, %zu answered, %llu dropped", in.size(), on.got.size(),
             answers.got.size(), static_cast<unsigned long long>(dropped));
  for (rte_mbuf* m : on.got)
    for (rte_mbuf* a : answers.got) FUZZ_CHECK(m != a, "a frame both passed on and answered");
  const rte_ether_addr ours = to_ether(wd.cfg.mac);
  for (rte_mbuf* m : on.got) {
    size_t i = 0;
    while (i < in.size() && in[i] != m) ++i;
    FUZZ_CHECK(i < in.size(), "passed on a frame it did not receive");
    std::vector<uint8_t> now = bytes_of(m), then = was[i];
    FUZZ_CHECK(now.size() == then.size(), "length changed");
    // A reflector gives a group destination the port's MAC; nothing else changes.
    if (role == PortHost::Role::kReflector && then.size() >= 6 && (then[0] & 1) &&
        std::memcmp(now.data(), ours.addr_bytes, 6) == 0)
      std::memcpy(then.data(), ours.addr_bytes, 6);
    FUZZ_CHECK(now == then, "a frame passed on was changed");
  }
  for (rte_mbuf* m : answers.got) {
    Parsed p;
    const DropReason r = parse_frame(m, p);
    FUZZ_CHECK(r == kPass, "an answer our parser refuses: %s", reason_name(r));
  }
  for (rte_mbuf* m : on.got) rte_pktmbuf_free(m);
  for (rte_mbuf* m : answers.got) rte_pktmbuf_free(m);
  FUZZ_CHECK(pool_in_use() == before, "mbufs in use %u, were %u", pool_in_use(), before);
  return 0;
}
