/// @file
/// Why the netcode wire layer refused a packet: one named code per rule of the
/// standard's read steps (sizes, packet type, version, protocol id, expiry,
/// decryption, replay, body sizes), so a server counts its drops by reason.
/// Self-contained on purpose: the list is an X-macro, so a server module can
/// feed the same entries, in the same order, to its own drop table.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

// clang-format off
/// @def BYPASS_NETCODE_WIRE_DROPS(X)
/// The wire drop reasons as X(id, name), in code order (from 1; 0 is
/// WireDrop::kOk), each with what it means. Append new reasons at the end.
#define BYPASS_NETCODE_WIRE_DROPS(X)                                                        \
  X(kTooSmall, "too_small")                      /* shorter than the type allows */         \
  X(kBadPacketType, "bad_packet_type")           /* low 4 bits of the prefix 0 or >= 7 */   \
  X(kTypeNotAllowed, "type_not_allowed")         /* not a type this side reads */           \
  X(kBadSequenceBytes, "bad_sequence_bytes")     /* high 4 bits not in [1,8] */             \
  X(kRequestBadSize, "request_bad_size")         /* connection request not 1078 bytes */    \
  X(kNoPrivateKey, "no_private_key")             /* request, but no private key */          \
  X(kBadVersionInfo, "bad_version_info")         /* not "NETCODE 1.02" */                   \
  X(kWrongProtocolId, "wrong_protocol_id")       /* request for another protocol */         \
  X(kTokenExpired, "token_expired")              /* expire timestamp <= now */              \
  X(kTokenPredatesStart, "token_predates_start") /* may have been issued before start */    \
  X(kTokenDecryptFailed, "token_decrypt_failed") /* private connect token did not open */   \
  X(kTokenMalformed, "token_malformed")          /* opened; server count or address bad */  \
  X(kNoReadKey, "no_read_key")                   /* no key for the sender's address */      \
  X(kReplayed, "replayed")                       /* sequence already received or too old */ \
  X(kDecryptFailed, "decrypt_failed")            /* AEAD open failed: key, data, header */  \
  X(kBadBodySize, "bad_body_size")               /* decrypted size wrong for the type */    \
  X(kPayloadEmpty, "payload_empty")              /* payload packet with no payload */       \
  X(kPayloadTooLarge, "payload_too_large")       /* payload over 1200 bytes */              \
  X(kChallengeDecryptFailed, "challenge_decrypt_failed") /* challenge token did not open */
// clang-format on

namespace bypass::conn {

/// A wire drop reason's code: kOk, then one per entry of
/// BYPASS_NETCODE_WIRE_DROPS in its order (that list says what each means),
/// then kCount.
enum class WireDrop : uint8_t {
  kOk = 0,  ///< not a drop: every check passed
/// @cond
#define BYPASS_NETCODE_WIRE_DROP_ID_(id, name) id,
  BYPASS_NETCODE_WIRE_DROPS(BYPASS_NETCODE_WIRE_DROP_ID_)
#undef BYPASS_NETCODE_WIRE_DROP_ID_
  /// @endcond
  kCount  ///< not a reason: how many codes there are, kOk included
};

/// Codes of WireDrop, kOk included: the size of a table indexed by code.
inline constexpr size_t kWireDropCount = static_cast<size_t>(WireDrop::kCount);

/// "ok", or the reason's name for stats and metrics; "unknown" past the table.
constexpr std::string_view wire_drop_name(WireDrop d) {
  constexpr std::array<std::string_view, kWireDropCount> kNames = {
      "ok",
  /// @cond
#define BYPASS_NETCODE_WIRE_DROP_NAME_(id, name) name,
      BYPASS_NETCODE_WIRE_DROPS(BYPASS_NETCODE_WIRE_DROP_NAME_)
#undef BYPASS_NETCODE_WIRE_DROP_NAME_
      /// @endcond
  };
  const auto i = static_cast<size_t>(d);
  return i < kWireDropCount ? kNames[i] : std::string_view("unknown");
}

}  // namespace bypass::conn
