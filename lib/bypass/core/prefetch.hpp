/// @file
/// prefetch_lines: asks the CPU to fetch every cache line an object spans,
/// ahead of its use (for reading, or for writing with kForWrite). Tables read
/// at random miss the cache; a fetch started while other work runs hides
/// the miss. An object that is not 64-byte aligned often spans two lines.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bypass {

inline constexpr int kForRead = 0;   ///< the lines will be read
inline constexpr int kForWrite = 1;  ///< the lines will be written

/// Every 64-byte line of the `n` bytes at `p` (n > 0).
template <int rw = kForRead>
inline void prefetch_lines(const void* p, size_t n) {
  const auto first = reinterpret_cast<uintptr_t>(p) & ~uintptr_t{63};
  const uintptr_t last = reinterpret_cast<uintptr_t>(p) + n - 1;
  for (uintptr_t at = first; at <= last; at += 64)
    __builtin_prefetch(reinterpret_cast<const void*>(at), rw);
}

/// Every line of `*object`.
template <int rw = kForRead, typename T>
inline void prefetch_object(const T* object) {
  prefetch_lines<rw>(object, sizeof(T));
}

}  // namespace bypass
