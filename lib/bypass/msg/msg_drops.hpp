/// @file
/// Why the message layer refused a packet or a frame: one name per rule of
/// docs/protocol.md. Those marked malformed are the peer's fault and count
/// toward closing its connection (code 1002); the rest are the ordinary
/// leftovers of a lossy path (a retransmission that arrived twice, a stale
/// unreliable message) or of a full buffer.
#pragma once

#include <bypass/core/drop_reasons.hpp>

/// clang-format off
#define BYPASS_MSG_DROPS(X)                                                                     \
  X(kBadHeader, "msg_bad_header")           /* malformed: shorter than the header */            \
  X(kUnknownFrame, "msg_unknown_frame")     /* malformed: a frame type v1 does not have */      \
  X(kFrameTruncated, "msg_frame_truncated") /* malformed: a length past the packet's end */     \
  X(kBadHello, "msg_bad_hello")             /* malformed: channel count or kind */              \
  X(kBadClose, "msg_bad_close")             /* malformed: reason too long or not UTF-8 */       \
  X(kBadFragment, "msg_bad_fragment")       /* malformed: index, count or size */               \
  X(kBadChannel, "msg_bad_channel")         /* malformed: no such channel */                    \
  X(kTooBig, "msg_too_big")                 /* malformed: over the receiver's max_message */    \
  X(kBadUtf8, "msg_bad_utf8")               /* malformed: a text message not UTF-8 */           \
  X(kOutOfWindow, "msg_out_of_window")      /* malformed: a sequence too far ahead */           \
  X(kNoHello, "msg_no_hello")               /* data before the hello */                         \
  X(kBadVersion, "msg_bad_version")         /* a version this side does not speak */            \
  X(kDuplicate, "msg_duplicate")            /* already delivered (a retransmission) */          \
  X(kStale, "msg_stale")                    /* unreliable, older than delivered or 32 behind */ \
  X(kNoBuffer, "msg_no_buffer")             /* no room to hold a fragment: resent later */      \
  X(kClosed, "msg_closed")                  /* after the connection closed */                   \
  X(kAppBusy, "msg_app_busy")               /* the application could not take it yet */
/// clang-format on

namespace bypass::msg {

BYPASS_DROP_TABLE(MsgDrop, BYPASS_MSG_DROPS)

/// Malformed: counts toward closing the connection with 1002.
constexpr bool is_malformed(DropReason r) {
  return drop_index(r) >= drop_index(MsgDrop::kBadHeader) &&
         drop_index(r) <= drop_index(MsgDrop::kOutOfWindow);
}

}  // namespace bypass::msg
