// bypass-client's batched UDP sending (apps/client/batch_io.hpp) over
// loopback: whatever the sink groups into UDP_SEGMENT runs (--gso), the
// receiver gets the same datagrams, whole and in order, as if each had gone
// alone.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "client/batch_io.hpp"

namespace {

using bypass::client::BatchSocketSink;
using bypass::conn::NetcodeAddress;

struct Udp {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  uint16_t port = 0;
  Udp() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    timeval tv{2, 0};  // a datagram that never comes fails the test, not hangs it
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Udp() { close(fd); }
  NetcodeAddress address() const { return NetcodeAddress::v4(127, 0, 0, 1, port); }
  std::vector<uint8_t> receive() const {
    std::vector<uint8_t> b(2048);
    const ssize_t n = recv(fd, b.data(), b.size(), 0);
    b.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return b;
  }
};

std::vector<uint8_t> datagram(size_t len, uint8_t tag) {
  std::vector<uint8_t> d(len);
  for (size_t i = 0; i < len; ++i) d[i] = static_cast<uint8_t>(tag + i);
  return d;
}

// Sends datagrams of `sizes` through a sink and checks what arrives;
// `no_check`: the sending socket leaves UDP checksums out (SO_NO_CHECK), which
// makes the kernel refuse a UDP_SEGMENT send (EINVAL).
void round_trip(const std::vector<size_t>& sizes, bool connect, bool gso, uint64_t* segmented,
                bool no_check = false) {
  Udp rx, tx;
  if (no_check) {
    const int one = 1;
    ASSERT_EQ(setsockopt(tx.fd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof one), 0);
  }
  BatchSocketSink sink(tx.fd);
  ASSERT_TRUE(sink.segment_runs(gso)) << "this kernel has UDP_SEGMENT (Linux 4.18 and later)";
  if (connect) {
    ASSERT_TRUE(sink.connect_to(rx.address()));
  }
  std::vector<std::vector<uint8_t>> sent;
  for (size_t i = 0; i < sizes.size(); ++i) {
    sent.push_back(datagram(sizes[i], static_cast<uint8_t>(i * 17)));
    sink.send(rx.address(), sent.back());
  }
  sink.flush();
  EXPECT_EQ(sink.errors, 0u);
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(rx.receive(), sent[i]) << "datagram " << i;
  *segmented = sink.segmented;
}

TEST(BatchSocketSink, ARunOfOneSizeGoesSegmentedAndArrivesAsItsDatagrams) {
  uint64_t segmented = 0;
  round_trip({1000, 1000, 1000, 1000, 1000, 300}, true, true, &segmented);
  EXPECT_EQ(segmented, 6u);  // loopback takes UDP_SEGMENT
}

TEST(BatchSocketSink, MixedSizesKeepTheirOrderAndBoundaries) {
  uint64_t segmented = 0;
  round_trip({100, 1000, 1000, 50, 1000, 1000, 1000, 1200, 7}, true, true, &segmented);
  EXPECT_EQ(segmented, 8u);  // (1000, 1000, 50), (1000, 1000, 1000), (1200, 7); 100 alone
}

TEST(BatchSocketSink, MoreThanItHoldsGoesInSeveralFlushes) {
  uint64_t segmented = 0;
  round_trip(std::vector<size_t>(40, 600), true, true, &segmented);
  EXPECT_EQ(segmented, 40u);
}

TEST(BatchSocketSink, AnUnconnectedSocketSendsEachDatagramWithItsAddress) {
  uint64_t segmented = 0;
  round_trip({800, 800, 800}, false, true, &segmented);
  EXPECT_EQ(segmented, 0u);
}

// A run the kernel refuses goes again one datagram at a time, and segmenting
// stays off for the socket: nothing is lost or counted as refused.
TEST(BatchSocketSink, ARunTheKernelRefusesGoesOneDatagramAtATime) {
  uint64_t segmented = 0;
  round_trip({900, 900, 900, 900, 200, 700, 700}, true, true, &segmented, true);
  EXPECT_EQ(segmented, 0u);
}

// Off unless asked for: a net_af_packet server on a veth would get each run
// as one oversized frame (docs/running.md).
TEST(BatchSocketSink, SendsEachDatagramAloneUnlessAskedToSegment) {
  uint64_t segmented = 0;
  round_trip({1000, 1000, 1000, 1000}, true, false, &segmented);
  EXPECT_EQ(segmented, 0u);
}

}  // namespace
