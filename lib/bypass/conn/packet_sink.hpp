/// @file
/// Where a transport-independent netcode state machine puts its outgoing
/// packets: the caller implements send() over DPDK, a Linux socket or an
/// in-memory test network. The bytes are valid only during the call, and
/// send() must not call back into the state machine that is sending (queue
/// the datagram instead): the sender is in the middle of a receive or update.
#pragma once

#include <cstdint>
#include <span>

#include <bypass/conn/netcode_address.hpp>

namespace bypass::conn {

/// The outgoing side of a netcode state machine (see the file comment).
class PacketSink {
 public:
  virtual ~PacketSink() = default;
  /// One datagram to `to`. Copy `packet` if it must outlive the call.
  virtual void send(const NetcodeAddress& to, std::span<const uint8_t> packet) = 0;
};

}  // namespace bypass::conn
