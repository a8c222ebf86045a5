// The wire basics: little-endian byte cursors (bounds, sticky failure, zero
// fill), sequence byte counts and prefix bytes, the packet nonce, and the
// address encoding (IPv4, IPv6 groups little-endian, port, unknown types).
#include <bypass/conn/netcode_address.hpp>
#include <bypass/conn/netcode_wire.hpp>

#include <gtest/gtest.h>

#include "netcode_vectors.hpp"

namespace bypass::conn {
namespace {

using test::hex;

TEST(NetcodeWire, Sizes) {
  EXPECT_EQ(kConnectionRequestBytes, 1078u);
  EXPECT_EQ(kMaxEncryptedPacketBytes, 1225u);
  EXPECT_EQ(kMaxPacketBytes, 1225u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(kVersionInfo.data())), "NETCODE 1.02");
}

TEST(NetcodeWire, WriterIsLittleEndianAndBounded) {
  std::array<uint8_t, 16> buf{};
  ByteWriter w(buf);
  w.u8(0x01);
  w.u16(0x0302);
  w.u32(0x07060504);
  w.u64(0x0F0E0D0C0B0A0908ULL);
  EXPECT_TRUE(w.ok());
  EXPECT_EQ(w.size(), 15u);
  EXPECT_EQ(hex(std::span(buf).first(15)), "0102030405060708090a0b0c0d0e0f");
  w.u16(0xFFFF);  // one byte of room left: refused, nothing written
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(buf[15], 0);
  w.u8(0xFF);  // sticky
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(buf[15], 0);
}

TEST(NetcodeWire, WriterZeroFill) {
  std::array<uint8_t, 8> buf;
  buf.fill(0xEE);
  ByteWriter w(buf);
  w.u16(0xABCD);
  w.zero_to(8);
  EXPECT_TRUE(w.ok());
  EXPECT_EQ(hex(buf), "cdab000000000000");
  ByteWriter back(buf);
  back.u32(1);
  back.zero_to(2);  // behind the cursor
  EXPECT_FALSE(back.ok());
  ByteWriter past(buf);
  past.zero_to(9);
  EXPECT_FALSE(past.ok());
}

TEST(NetcodeWire, ReaderIsLittleEndianAndBounded) {
  const std::array<uint8_t, 7> buf{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
  ByteReader r(buf);
  EXPECT_EQ(r.u8(), 0x01);
  EXPECT_EQ(r.u16(), 0x0302);
  EXPECT_EQ(r.u32(), 0x07060504u);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(r.u8(), 0);
  EXPECT_FALSE(r.ok());
  ByteReader r2(buf);
  EXPECT_EQ(r2.u64(), 0u);  // 8 from 7: refused
  EXPECT_FALSE(r2.ok());
  EXPECT_TRUE(r2.bytes(1).empty());
}

TEST(NetcodeWire, PrefixAndNonce) {
  EXPECT_EQ(prefix_byte(4, 1), 0x14);
  EXPECT_EQ(prefix_byte(6, 8), 0x86);
  EXPECT_EQ(prefix_type(0x86), 6);
  EXPECT_EQ(prefix_sequence_bytes(0x86), 8);
  for (int n = 1; n <= 8; ++n) {
    const uint64_t top = n == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * n)) - 1;
    EXPECT_EQ(sequence_bytes(top), n);
    if (n < 8) {
      EXPECT_EQ(sequence_bytes(top + 1), n + 1);
    }
  }
  EXPECT_EQ(hex(sequence_nonce(1000)), "00000000e803000000000000");
}

TEST(NetcodeWire, AddressEncoding) {
  std::array<uint8_t, 64> buf{};
  ByteWriter w(buf);
  ASSERT_TRUE(write_address(w, NetcodeAddress::v4(127, 0, 0, 1, 40000)));
  ASSERT_TRUE(write_address(
      w, NetcodeAddress::v6({0x2001, 0x0db8, 0x85a3, 0, 0, 0x8a2e, 0x0370, 0x7334}, 443)));
  EXPECT_FALSE(write_address(w, NetcodeAddress{}));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(hex(std::span(buf).first(w.size())),
            "017f000001409c"
            "020120b80da385000000002e8a70033473bb01");
  ByteReader r(std::span<const uint8_t>(buf.data(), w.size()));
  NetcodeAddress a, b;
  ASSERT_TRUE(read_address(r, a));
  ASSERT_TRUE(read_address(r, b));
  EXPECT_EQ(a, NetcodeAddress::v4(127, 0, 0, 1, 40000));
  EXPECT_EQ(b.ipv6[0], 0x2001);
  EXPECT_EQ(b.port, 443);
  EXPECT_NE(a, b);
  // Type 0 and 3 are not addresses; a truncated one fails.
  const std::array<uint8_t, 7> zero_type{0, 127, 0, 0, 1, 0x40, 0x9c};
  ByteReader r0(zero_type);
  EXPECT_FALSE(read_address(r0, a));
  const std::array<uint8_t, 5> short_v4{1, 127, 0, 0, 1};
  ByteReader rs(short_v4);
  EXPECT_FALSE(read_address(rs, a));
}

TEST(NetcodeWire, AddressEqualityIgnoresTheOtherFamily) {
  NetcodeAddress a = NetcodeAddress::v4(10, 0, 0, 1, 5);
  NetcodeAddress b = a;
  b.ipv6[3] = 9;  // not part of an IPv4 address
  EXPECT_EQ(a, b);
  b.port = 6;
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace bypass::conn
