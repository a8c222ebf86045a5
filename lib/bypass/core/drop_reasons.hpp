/// @file
/// DropReason: why a packet was dropped, as a small code counted in the tally
/// of the module that dropped it. Codes below kFirstModuleDrop are the graph's
/// own (ring_full, tx_full, no_route) and mean the same in every module; the
/// codes from there on belong to the module, which names them in a DropTable
/// declared next to it (BYPASS_DROP_TABLE, in the manner of VPP's per-node
/// error strings). Reports name the module and the reason; nothing here needs
/// to know another area's reasons, so a module written outside bypass declares
/// its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace bypass {

/// Why a packet was dropped: a code, named by the module's DropTable.
enum class DropReason : uint8_t {};

/// The graph's own reasons.
struct GraphDrop {
  static constexpr DropReason kRingFull{0};  ///< a hand-off ring had no room
  static constexpr DropReason kTxFull{1};    ///< a TX queue took fewer than offered
  static constexpr DropReason kNoRoute{2};   ///< a gate with nothing connected
  static constexpr size_t kCount = 3;        ///< how many there are
  /// Their names, by code.
  static constexpr std::string_view kNames[kCount] = {"ring_full", "tx_full", "no_route"};
};

/// The first code of a module's own reasons.
inline constexpr size_t kFirstModuleDrop = GraphDrop::kCount;
/// Codes a module may count: the graph's plus up to this many of its own.
inline constexpr size_t kMaxDropReasons = 64;

///@{
/// Not drops: a check that found nothing wrong, and a packet used up without
/// a reply (an ARP reply learned: freed, not counted).
inline constexpr DropReason kPass{255};
inline constexpr DropReason kConsumed{254};
///@}

/// The code of `r`, as an index (into ModuleTally::drops).
constexpr size_t drop_index(DropReason r) {
  return static_cast<size_t>(r);
}

/// The names of a module's own reasons, in code order from kFirstModuleDrop.
class DropTable {
 public:
  /// A table of the graph's reasons only.
  constexpr DropTable() = default;
  /// The graph's reasons and `own` (which must outlive the table), in code order.
  constexpr explicit DropTable(std::span<const std::string_view> own) : own_(own) {}

  /// Every code this table names, graph reasons included.
  constexpr size_t size() const { return kFirstModuleDrop + own_.size(); }
  /// Whether `r` is a code this table names.
  constexpr bool names(DropReason r) const { return drop_index(r) < size(); }
  /// The reason's name; a code past the table (a module bug) reads "reason_N".
  std::string name(DropReason r) const {
    const size_t i = drop_index(r);
    if (i < kFirstModuleDrop) return std::string(GraphDrop::kNames[i]);
    if (i < size()) return std::string(own_[i - kFirstModuleDrop]);
    return "reason_" + std::to_string(i);
  }

 private:
  std::span<const std::string_view> own_;
};

}  // namespace bypass

/// @def BYPASS_DROP_TABLE(Type, LIST)
/// Declares struct `Type` with a DropReason constant per entry of `LIST` (an
/// X-macro of X(kId, "name")), numbered from kFirstModuleDrop, and
/// `Type::table()` that names them:
/// @code
///   #define MY_DROPS(X) X(kTooOld, "too_old") X(kBadTag, "bad_tag")
///   BYPASS_DROP_TABLE(MyDrop, MY_DROPS)
/// @endcode
#define BYPASS_DROP_INDEX_(id, name) id##_index_,
#define BYPASS_DROP_CONST_(id, name)        \
  static constexpr ::bypass::DropReason id{ \
      static_cast<uint8_t>(::bypass::kFirstModuleDrop + id##_index_)};
#define BYPASS_DROP_NAME_(id, name) name,
#define BYPASS_DROP_TABLE(Type, LIST)                                                    \
  struct Type {                                                                          \
    enum : uint8_t { LIST(BYPASS_DROP_INDEX_) kOwnCount_ };                              \
    LIST(BYPASS_DROP_CONST_)                                                             \
    static constexpr std::string_view kNames[] = {LIST(BYPASS_DROP_NAME_)};              \
    static_assert(::bypass::kFirstModuleDrop + kOwnCount_ <= ::bypass::kMaxDropReasons,  \
                  "too many drop reasons for one module");                               \
    static constexpr ::bypass::DropTable table() { return ::bypass::DropTable(kNames); } \
    /* One past the last code: everything below is a reason this table names. */         \
    static constexpr size_t kEnd = ::bypass::kFirstModuleDrop + kOwnCount_;              \
  };
