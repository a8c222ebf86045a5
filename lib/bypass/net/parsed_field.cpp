#include <bypass/net/parsed_field.hpp>

#include <type_traits>

namespace bypass {

static_assert(std::is_trivially_copyable_v<Parsed> && sizeof(Parsed) <= 16,
              "Parsed must stay a small plain struct: it lives in every mbuf");

bool register_parsed_field() {
  if (parsed_field_offset >= 0) return true;
  static const rte_mbuf_dynfield kField = {"bypass_parsed", sizeof(Parsed), alignof(Parsed), 0};
  parsed_field_offset = rte_mbuf_dynfield_register(&kField);
  return parsed_field_offset >= 0;
}

}  // namespace bypass
