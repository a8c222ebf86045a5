/// @file
/// HugeArray: a fixed-size array for a large table that is read at random,
/// in memory the kernel may back with 2 MB pages. Transparent huge pages in
/// "madvise" mode (Debian's default) need the region marked; the array maps
/// it itself, aligned to 2 MB, and asks for huge pages (a hint: without them
/// it is an ordinary array). On 4 KB pages a table of tens of MB costs a TLB
/// miss and a page walk on nearly every access; the netcode server's client
/// tables are such tables. Elements are value-initialized; allocation happens
/// once, in the constructor (std::bad_alloc if the memory is not there).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

namespace bypass {

/// A fixed-size array of T in memory that may be backed by huge pages; see the
/// file's description.
template <typename T>
class HugeArray {
 public:
  static constexpr size_t kHugePage = size_t{2} << 20;  ///< the huge page size: 2 MB

  /// An empty array.
  HugeArray() = default;
  /// `n` value-initialized elements; std::bad_alloc if the memory cannot be mapped.
  explicit HugeArray(size_t n) : n_(n) {
    if (n == 0) return;
    if (n > (SIZE_MAX - 2 * kHugePage) / sizeof(T)) throw std::bad_alloc();
    const size_t bytes = n * sizeof(T);
    // A table that spans a huge page gets whole huge pages, its tail too
    // (the kernel backs only whole 2 MB pages with one; a partial last one
    // stays on 4 KB pages), and room to align its start to one.
    const size_t whole = (bytes + kHugePage - 1) & ~(kHugePage - 1);
    len_ = bytes >= kHugePage ? whole + kHugePage : bytes;
    void* p = mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    map_ = p;
    auto at = reinterpret_cast<uintptr_t>(p);
    if (bytes >= kHugePage) {
      at = (at + kHugePage - 1) & ~(kHugePage - 1);
      madvise(reinterpret_cast<void*>(at), whole, MADV_HUGEPAGE);  // a hint: ignored if refused
    }
    data_ = reinterpret_cast<T*>(at);
    size_t built = 0;
    try {
      for (; built < n_; ++built) new (data_ + built) T();
    } catch (...) {
      n_ = built;  // what release() destroys
      release();
      throw;
    }
  }
  /// Destroys the elements and unmaps the memory.
  ~HugeArray() { release(); }
  HugeArray(const HugeArray&) = delete;
  HugeArray& operator=(const HugeArray&) = delete;
  /// Takes `o`'s elements; `o` is left empty.
  HugeArray(HugeArray&& o) noexcept { take(o); }
  /// Frees this array's elements, then takes `o`'s; `o` is left empty.
  HugeArray& operator=(HugeArray&& o) noexcept {
    if (this != &o) {
      release();
      take(o);
    }
    return *this;
  }

  T& operator[](size_t i) { return data_[i]; }              ///< element `i` (unchecked)
  const T& operator[](size_t i) const { return data_[i]; }  ///< element `i` (unchecked)
  size_t size() const { return n_; }                        ///< the number of elements
  T* data() { return data_; }                               ///< the first element
  const T* data() const { return data_; }                   ///< the first element
  T* begin() { return data_; }                              ///< the first element
  T* end() { return data_ + n_; }                           ///< one past the last element
  const T* begin() const { return data_; }                  ///< the first element
  const T* end() const { return data_ + n_; }               ///< one past the last element

 private:
  void release() {
    for (size_t i = 0; i < n_; ++i) data_[i].~T();
    if (map_ != nullptr) munmap(map_, len_);
    map_ = nullptr;
    data_ = nullptr;
    n_ = len_ = 0;
  }
  void take(HugeArray& o) {
    map_ = std::exchange(o.map_, nullptr);
    data_ = std::exchange(o.data_, nullptr);
    n_ = std::exchange(o.n_, 0);
    len_ = std::exchange(o.len_, 0);
  }

  void* map_ = nullptr;
  T* data_ = nullptr;
  size_t n_ = 0, len_ = 0;
};

}  // namespace bypass
