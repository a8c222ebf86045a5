// What bypassctl capture costs a worker per packet at its tap: the libpcap
// BPF filter run on the frame (accepting, rejecting, and a longer program),
// and the copy of an accepted frame into a capture record. The tap adds one
// clock read per batch on top (the vDSO, not counted here).
#include <benchmark/benchmark.h>
#include <pcap/pcap.h>
#include <rte_cycles.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <bypass/graph/capture_tap.hpp>

namespace {

// An Ethernet + IPv4 + UDP frame to 198.18.9.2 port 7, `len` bytes long.
std::vector<uint8_t> udp_frame(size_t len) {
  std::vector<uint8_t> f(len, 0);
  f[12] = 0x08;  // IPv4
  f[14] = 0x45;
  f[16] = static_cast<uint8_t>((len - 14) >> 8);
  f[17] = static_cast<uint8_t>(len - 14);
  f[22] = 64;
  f[23] = 17;  // UDP
  const uint8_t src[] = {198, 18, 9, 1}, dst[] = {198, 18, 9, 2};
  std::memcpy(&f[26], src, 4);
  std::memcpy(&f[30], dst, 4);
  f[34] = 0x9c;  // source port 40000
  f[35] = 0x40;
  f[37] = 7;  // destination port 7
  f[38] = static_cast<uint8_t>((len - 34) >> 8);
  f[39] = static_cast<uint8_t>(len - 34);
  return f;
}

std::vector<bpf_insn> compile(const char* expr) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 2048);
  bpf_program p{};
  std::vector<bpf_insn> out;
  if (pcap_compile(dead, &p, expr, 1, PCAP_NETMASK_UNKNOWN) == 0) {
    out.assign(p.bf_insns, p.bf_insns + p.bf_len);
    pcap_freecode(&p);
  }
  pcap_close(dead);
  return out;
}

void filter(benchmark::State& state, const char* expr) {
  const auto prog = compile(expr);
  const auto frame = udp_frame(64);
  uint64_t accepted = 0;
  const uint64_t t0 = rte_rdtsc();
  for (auto _ : state) {
    accepted += bpf_filter(prog.data(), frame.data(), static_cast<u_int>(frame.size()),
                           static_cast<u_int>(frame.size())) != 0;
    benchmark::DoNotOptimize(accepted);
  }
  const double cycles = static_cast<double>(rte_rdtsc() - t0);
  state.counters["cycles/packet"] = cycles / static_cast<double>(state.iterations());
  state.counters["accepted"] =
      static_cast<double>(accepted) / static_cast<double>(state.iterations());
  state.counters["instructions"] = static_cast<double>(prog.size());
}

void copy_record(benchmark::State& state) {
  const auto frame = udp_frame(static_cast<size_t>(state.range(0)));
  auto rec = std::make_unique<bypass::CaptureRecord>();
  const uint64_t t0 = rte_rdtsc();
  for (auto _ : state) {
    std::memcpy(rec->data, frame.data(), frame.size());
    rec->len = static_cast<uint32_t>(frame.size());
    benchmark::ClobberMemory();
  }
  state.counters["cycles/packet"] =
      static_cast<double>(rte_rdtsc() - t0) / static_cast<double>(state.iterations());
}

}  // namespace

BENCHMARK_CAPTURE(filter, udp_port_7_accepts, "udp port 7");
BENCHMARK_CAPTURE(filter, tcp_port_80_rejects, "tcp port 80");
BENCHMARK_CAPTURE(filter, host_and_port_range, "src host 198.18.9.1 and udp dst portrange 1-1024");
BENCHMARK(copy_record)->Arg(64)->Arg(1500);
BENCHMARK_MAIN();
