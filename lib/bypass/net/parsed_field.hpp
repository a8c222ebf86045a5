// What the parser found travels with the packet: an mbuf dynamic field holds
// its Parsed (offsets, lengths, protocol, flags; 16 bytes), written once by
// the Endpoint and read by every module after it, on the same worker or on
// another one behind a ring, so that no header is parsed twice.
#pragma once

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include <bypass/net/parse.hpp>

namespace bypass {

// The field's offset in the mbuf; -1 until register_parsed_field() ran.
inline int parsed_field_offset = -1;

// Registers the field (after EAL started; idempotent). False if the mbufs
// have no dynamic-field room left.
bool register_parsed_field();

inline Parsed& parsed(rte_mbuf* m) {
  return *RTE_MBUF_DYNFIELD(m, parsed_field_offset, Parsed*);
}
inline const Parsed& parsed(const rte_mbuf* m) {
  return *RTE_MBUF_DYNFIELD(m, parsed_field_offset, const Parsed*);
}

}  // namespace bypass
