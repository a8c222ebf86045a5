// Why the netcode server refused a packet or did not answer it: every wire
// layer reason (WireDrop, same codes, same names) followed by the server's own
// steps (address list, already connected, token history, full, mappings,
// sending). One uint64 counter per code in NetcodeServer::drops().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <bypass/conn/wire_drops.hpp>

// clang-format off
// X(id, name), after the wire reasons. Append new reasons at the end.
#define BYPASS_NETCODE_SERVER_DROPS(X)                                                           \
  X(kNotOurAddress, "not_our_address")                  /* token lists none of our addresses */  \
  X(kAddressAlreadyConnected, "address_already_connected") /* request/response from a client */  \
  X(kClientIdAlreadyConnected, "client_id_already_connected") /* that client id has a slot */    \
  X(kTokenAlreadyUsed, "token_already_used")   /* history: other address, or consumed */         \
  X(kTokenHistoryFull, "token_history_full")   /* history: every entry unexpired */              \
  X(kServerFull, "server_full")                /* no free slot: a denied packet was sent */      \
  X(kMappingsFull, "mappings_full")            /* no encryption mapping free */                  \
  X(kNotConnected, "not_connected")            /* keep-alive/payload/disconnect, no slot yet */  \
  X(kSendFailed, "send_failed")                /* sealing failed or a sequence range ran out */ \
  X(kTokenHistoryBusy, "token_history_busy")   /* another worker admits the same token now */  \
  X(kChallengeMismatch, "challenge_mismatch")   /* a genuine challenge of another handshake */
// clang-format on

namespace bypass::conn {

enum class ServerDrop : uint8_t {
  kOk = 0,
#define BYPASS_NETCODE_SERVER_DROP_ID_(id, name) id,
  BYPASS_NETCODE_WIRE_DROPS(BYPASS_NETCODE_SERVER_DROP_ID_)
      BYPASS_NETCODE_SERVER_DROPS(BYPASS_NETCODE_SERVER_DROP_ID_)
#undef BYPASS_NETCODE_SERVER_DROP_ID_
          kCount
};

inline constexpr size_t kServerDropCount = static_cast<size_t>(ServerDrop::kCount);
static_assert(static_cast<size_t>(ServerDrop::kNotOurAddress) == kWireDropCount,
              "the wire reasons keep their codes in the server's table");

constexpr ServerDrop server_drop(WireDrop d) {
  return static_cast<ServerDrop>(d);
}

// "ok", or the reason's name for stats and metrics.
constexpr std::string_view server_drop_name(ServerDrop d) {
  constexpr std::array<std::string_view, kServerDropCount> kNames = {
      "ok",
#define BYPASS_NETCODE_SERVER_DROP_NAME_(id, name) name,
      BYPASS_NETCODE_WIRE_DROPS(BYPASS_NETCODE_SERVER_DROP_NAME_)
          BYPASS_NETCODE_SERVER_DROPS(BYPASS_NETCODE_SERVER_DROP_NAME_)
#undef BYPASS_NETCODE_SERVER_DROP_NAME_
  };
  const auto i = static_cast<size_t>(d);
  return i < kServerDropCount ? kNames[i] : std::string_view("unknown");
}

}  // namespace bypass::conn
