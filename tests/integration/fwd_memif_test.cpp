// bypass-fwd as a separate process, reflecting over net_memif: this test
// process is the memif client, bypass-fwd the server. Every packet sent must
// come back exactly once, changed exactly as the forwarding mode says, and
// bypass-fwd must stop cleanly on SIGTERM with counts that match and every
// mbuf back in its pool.
#include <gtest/gtest.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include <bypass/io/eth_port.hpp>

#include "eal_env.hpp"
#include "frames.hpp"
#include "harness.hpp"
#include "packets.hpp"

namespace bypass::it {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kPackets = 10000;
// Packets in flight at most: well below the 1024 slots of a memif ring and
// of the forwarder's hand-off ring, so nothing can overflow on the way.
constexpr uint32_t kWindow = 256;
constexpr std::array<uint16_t, 4> kFrameLens = {64, 128, 512, 1514};
// Offsets in an Ethernet/IPv4 (no options)/UDP frame.
constexpr size_t kIpSrc = 26, kIpDst = 30, kUdpSport = 34, kUdpDport = 36;
constexpr uint16_t kSport = 1000, kDport = 2000;

enum class Mode { kIo, kMacSwap, kFiveTupleSwap };

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

uint16_t frame_len(uint32_t seq) {
  return kFrameLens[seq % kFrameLens.size()];
}

std::vector<uint8_t> bytes_of(const rte_mbuf* m) {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  return std::vector<uint8_t>(p, p + rte_pktmbuf_data_len(m));
}

void swap_ranges(std::vector<uint8_t>& f, size_t a, size_t b, size_t n) {
  for (size_t i = 0; i < n; ++i) std::swap(f[a + i], f[b + i]);
}

// The frame the forwarder must send back for sequence number `seq`: the one
// we sent, with the fields the mode swaps swapped (worked out here by offset,
// not with the product's code).
std::vector<uint8_t> expected_frame(uint32_t seq, Mode mode) {
  rte_mbuf* m = test::make_udp4(test::test_pool(), seq, frame_len(seq), kSport, kDport);
  if (m == nullptr) return {};
  std::vector<uint8_t> f = bytes_of(m);
  rte_pktmbuf_free(m);
  if (mode == Mode::kMacSwap || mode == Mode::kFiveTupleSwap) swap_ranges(f, 0, 6, 6);
  if (mode == Mode::kFiveTupleSwap) {
    swap_ranges(f, kIpSrc, kIpDst, 4);
    swap_ranges(f, kUdpSport, kUdpDport, 2);
  }
  return f;
}

// The IPv4 header checksum and the UDP checksum of a frame verify.
bool checksums_valid(const rte_mbuf* m) {
  if (rte_pktmbuf_data_len(m) < 42) return false;
  auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, sizeof(rte_ether_hdr));
  auto* udp = reinterpret_cast<const rte_udp_hdr*>(ip + 1);
  return rte_ipv4_cksum(ip) == 0 && rte_ipv4_udptcp_cksum_verify(ip, udp) == 0;
}

struct ExchangeResult {
  uint32_t sent = 0;
  uint64_t received = 0;
  uint64_t unknown_seq = 0;   // a sequence number we never sent
  uint64_t wrong_bytes = 0;   // not the expected frame
  uint64_t bad_checksum = 0;  // 5tswap: a checksum no longer verifies
  std::string first_wrong;
  std::vector<uint32_t> seen;  // times each sequence number came back
};

// Sends `n` frames on queue 0 of `port` (at most kWindow unanswered), and
// receives on every RX queue until all came back or nothing moved for
// `stall`; then listens a little longer for duplicates.
ExchangeResult exchange(EthPort& port, uint32_t n, Mode mode,
                        std::chrono::milliseconds stall = 10000ms) {
  ExchangeResult r;
  r.seen.assign(n, 0);
  std::vector<rte_mbuf*> pending;
  uint32_t built = 0;
  uint64_t in_window = 0;  // sent and not yet answered (answers to known seqs)
  uint32_t answered = 0;   // distinct sequence numbers that came back
  auto last_progress = Clock::now();
  auto receive = [&]() {
    bool any = false;
    for (uint16_t q = 0; q < port.rx_queues(); ++q) {
      std::array<rte_mbuf*, 32> rx;
      uint16_t got = port.rx_burst(q, rx.data(), rx.size());
      for (uint16_t i = 0; i < got; ++i) {
        rte_mbuf* m = rx[i];
        ++r.received;
        any = true;
        uint32_t seq = rte_pktmbuf_data_len(m) >= 46 ? test::seq_of(m) : UINT32_MAX;
        if (seq >= n) {
          ++r.unknown_seq;
        } else {
          if (r.seen[seq]++ == 0) {
            ++answered;
            if (in_window > 0) --in_window;
          }
          if (bytes_of(m) != expected_frame(seq, mode)) {
            if (r.wrong_bytes++ == 0)
              r.first_wrong = "seq " + std::to_string(seq) + " (length " +
                              std::to_string(rte_pktmbuf_data_len(m)) + ")";
          }
          if (mode == Mode::kFiveTupleSwap && !checksums_valid(m)) ++r.bad_checksum;
        }
        rte_pktmbuf_free(m);
      }
    }
    return any;
  };
  while (true) {
    while (built < n && pending.size() < 32 && in_window + pending.size() < kWindow) {
      rte_mbuf* m = test::make_udp4(test::test_pool(), built, frame_len(built), kSport, kDport);
      if (m == nullptr) break;
      pending.push_back(m);
      ++built;
    }
    bool moved = false;
    if (!pending.empty()) {
      uint16_t k = port.tx_burst(0, pending.data(), static_cast<uint16_t>(pending.size()));
      if (k > 0) {
        pending.erase(pending.begin(), pending.begin() + k);
        r.sent += k;
        in_window += k;
        moved = true;
      }
    }
    moved |= receive();
    if (answered == n) break;
    if (moved) {
      last_progress = Clock::now();
    } else {
      if (Clock::now() - last_progress > stall) break;
      std::this_thread::sleep_for(20us);
    }
  }
  test::free_all(pending);
  // Anything more that arrives now is a duplicate or a stranger.
  auto quiet_until = Clock::now() + 300ms;
  while (Clock::now() < quiet_until)
    if (!receive()) std::this_thread::sleep_for(100us);
  return r;
}

std::unique_ptr<EthPort> open_client(const std::string& socket, uint16_t rx_queues,
                                     std::string* error) {
  static std::atomic<unsigned> next{1};
  PortConfig pc;
  pc.name = "memif-client";
  pc.device = "net_memif" + std::to_string(next.fetch_add(1)) + ",role=client,socket=" + socket;
  pc.rx_queues = rx_queues;
  auto p = EthPort::open(pc, 1, test::test_pool());
  if (!p) {
    *error = p.error();
    return nullptr;
  }
  return std::move(p.value());
}

bool wait_link_up(const Port& p, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (p.link().up) return true;
    std::this_thread::sleep_for(10ms);
  }
  return p.link().up;
}

// Runs bypass-fwd as the memif server in `mode` (with a pipeline of two
// workers if asked), reflects kPackets through it and checks everything.
void run_reflector(Mode mode, bool pipeline) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty()) << "no temp dir";
  ASSERT_FALSE(fwd_path().empty()) << "BYPASS_FWD is not set";
  const std::string socket = dir.file("memif.sock");
  CpuPlan cpus = plan_cpus();

  FwdConfig cfg;
  cfg.file_prefix = fwd_file_prefix();
  cfg.huge_pages = !no_huge();
  cfg.control_cpu = cpus.control;
  cfg.ports = {{"p0", "net_memif0,role=server,socket=" + socket}};
  cfg.mode = mode_name(mode);
  cfg.topology = "loop";
  cfg.pipeline = pipeline;
  if (pipeline) {
    // Worker 1 polls the port and hands off; worker 2 swaps and sends on its
    // own TX queue (1), which the client reads as its RX queue 1.
    cfg.workers = {{cpus.worker, {"p0:0"}, ""}, {cpus.other, {}, ""}};
  } else {
    cfg.workers = {{cpus.worker, {"p0:0"}, ""}};
  }

  std::string error;
  auto fwd = FwdProcess::start(cfg, dir, &error);
  ASSERT_TRUE(fwd) << error;
  ASSERT_TRUE(fwd->wait_ready()) << "bypass-fwd did not start forwarding\n" << fwd->transcript();

  const unsigned pool_in_use_before = rte_mempool_in_use_count(test::test_pool());
  auto client = open_client(socket, pipeline ? 2 : 1, &error);
  ASSERT_TRUE(client) << error << "\n" << fwd->transcript();
  ASSERT_TRUE(wait_link_up(*client, 10000ms)) << "the memif client never connected\n"
                                              << fwd->transcript();

  ExchangeResult r = exchange(*client, kPackets, mode);
  EXPECT_EQ(r.sent, kPackets);
  EXPECT_EQ(r.received, kPackets);
  EXPECT_EQ(r.unknown_seq, 0u);
  EXPECT_EQ(r.wrong_bytes, 0u) << "first wrong frame: " << r.first_wrong;
  EXPECT_EQ(r.bad_checksum, 0u);
  ASSERT_EQ(r.seen.size(), kPackets);
  expect_each_once(r.seen);

  // SIGTERM while the client is still connected.
  fwd->expect_clean_exit(kPackets, kPackets);

  // Our side returned every mbuf too.
  client.reset();
  EXPECT_EQ(rte_mempool_in_use_count(test::test_pool()), pool_in_use_before);
}

// In a paired topology p0's traffic leaves by p1, but what the host stage
// answers leaves by the port it came in on. bypass-fwd serves two memif
// ports; the test is the client of both. An ARP request for the ports'
// address and 10 datagrams arrive on p0: exactly one ARP reply comes back on
// p0, and the datagrams leave p1, swapped; nothing else comes back on either.
// With a pipeline the answer is made after the ring, on the second worker.
void run_paired_answers(bool pipeline) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty()) << "no temp dir";
  ASSERT_FALSE(fwd_path().empty()) << "BYPASS_FWD is not set";
  const std::string sa = dir.file("p0.sock"), sb = dir.file("p1.sock");
  CpuPlan cpus = plan_cpus();
  FwdConfig cfg;
  cfg.file_prefix = fwd_file_prefix();
  cfg.huge_pages = !no_huge();
  cfg.control_cpu = cpus.control;
  cfg.ports = {{"p0", "net_memif0,role=server,socket=" + sa},
               {"p1", "net_memif1,role=server,socket=" + sb}};
  cfg.addresses = {"198.18.0.2/24"};
  cfg.mode = "5tswap";
  cfg.topology = "paired";
  cfg.pipeline = pipeline;
  cfg.workers = {{cpus.worker, {"p0:0", "p1:0"}, ""}};
  if (pipeline) {
    cfg.workers.push_back({cpus.other, {}, ""});
    cfg.pool_size = 16383;  // two rings, one a port
  }
  std::string error;
  auto fwd = FwdProcess::start(cfg, dir, &error);
  ASSERT_TRUE(fwd) << error;
  ASSERT_TRUE(fwd->wait_ready()) << "bypass-fwd did not start forwarding\n" << fwd->transcript();
  const uint16_t queues = pipeline ? 2 : 1;  // the handler's TX queue is the worker's index
  auto a = open_client(sa, queues, &error);
  ASSERT_TRUE(a) << error;
  auto b = open_client(sb, queues, &error);
  ASSERT_TRUE(b) << error;
  ASSERT_TRUE(wait_link_up(*a, 10000ms) && wait_link_up(*b, 10000ms)) << fwd->transcript();

  constexpr uint32_t kDatagrams = 10;
  std::vector<rte_mbuf*> out = {test::to_mbuf(test::test_pool(), test::arp_request().build())};
  for (uint32_t i = 0; i < kDatagrams; ++i)
    out.push_back(test::make_udp4(test::test_pool(), i, frame_len(i), kSport, kDport));
  ASSERT_EQ(a->tx_burst(0, out.data(), static_cast<uint16_t>(out.size())), out.size());
  std::vector<std::vector<uint8_t>> on_a, on_b;
  auto take = [&](EthPort& p, std::vector<std::vector<uint8_t>>& into) {
    for (uint16_t q = 0; q < p.rx_queues(); ++q) {
      std::array<rte_mbuf*, 32> rx;
      const uint16_t got = p.rx_burst(q, rx.data(), rx.size());
      for (uint16_t i = 0; i < got; ++i) {
        into.push_back(bytes_of(rx[i]));
        rte_pktmbuf_free(rx[i]);
      }
    }
  };
  const auto deadline = Clock::now() + 10s;
  while ((on_a.empty() || on_b.size() < kDatagrams) && Clock::now() < deadline) {
    take(*a, on_a);
    take(*b, on_b);
    std::this_thread::sleep_for(100us);
  }
  const auto quiet = Clock::now() + 300ms;  // anything more is one too many
  while (Clock::now() < quiet) {
    take(*a, on_a);
    take(*b, on_b);
    std::this_thread::sleep_for(100us);
  }
  // p0 answered the ARP request by p0: a reply from 198.18.0.2 to the asker.
  ASSERT_EQ(on_a.size(), 1u) << "p0 sends the ARP reply and nothing else";
  const std::vector<uint8_t>& r = on_a[0];
  ASSERT_GE(r.size(), 42u);
  EXPECT_EQ(r[12], 0x08);
  EXPECT_EQ(r[13], 0x06) << "an ARP frame";
  EXPECT_EQ(r[21], 2) << "a reply";
  EXPECT_TRUE(std::equal(r.begin(), r.begin() + 6, test::kPeerMac.b.begin()))
      << "to the asker's MAC";
  EXPECT_TRUE(std::equal(r.begin() + 6, r.begin() + 12, r.begin() + 22)) << "from the sender MAC";
  const uint8_t spa[] = {198, 18, 0, 2}, tpa[] = {198, 18, 0, 1};
  EXPECT_TRUE(std::equal(spa, spa + 4, r.begin() + 28));
  EXPECT_TRUE(std::equal(tpa, tpa + 4, r.begin() + 38));
  // The datagrams went on by p1, swapped.
  ASSERT_EQ(on_b.size(), kDatagrams) << "p1 sends the datagrams and nothing else";
  std::vector<uint32_t> seen(kDatagrams, 0);
  for (const auto& f : on_b) {
    ASSERT_GE(f.size(), 50u);
    uint32_t seq = 0;
    std::memcpy(&seq, f.data() + 42, sizeof seq);
    ASSERT_LT(seq, kDatagrams);
    ++seen[seq];
    EXPECT_EQ(f, expected_frame(seq, Mode::kFiveTupleSwap));
  }
  expect_each_once(seen);
  a.reset();
  b.reset();
  fwd->expect_clean_exit(kDatagrams + 1, kDatagrams + 1);  // the request became the reply
}

TEST(FwdMemif, PairedPortsAnswerByThePortAskedAndForwardByThePeer) {
  run_paired_answers(false);
}

TEST(FwdMemif, PairedPortsAnswerAfterThePipelinesRing) {
  run_paired_answers(true);
}

TEST(FwdMemif, FiveTupleSwapReflectsEveryPacketOnce) {
  run_reflector(Mode::kFiveTupleSwap, false);
}

TEST(FwdMemif, FiveTupleSwapPipelineOfTwoWorkers) {
  run_reflector(Mode::kFiveTupleSwap, true);
}

TEST(FwdMemif, IoReturnsFramesUnchanged) {
  run_reflector(Mode::kIo, false);
}

TEST(FwdMemif, MacSwapChangesOnlyTheMacs) {
  run_reflector(Mode::kMacSwap, false);
}

}  // namespace
}  // namespace bypass::it
