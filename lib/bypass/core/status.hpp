/// @file
/// Status and Expected<T>: how bypass reports a user mistake or a runtime failure.
/// Every error carries one sentence meant for a person: what is wrong and what to change.
/// No exceptions cross the control-plane API; the fast path never builds a Status.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace bypass {

/// Success, or a failure with the sentence that explains it.
class Status {
 public:
  /// Success.
  Status() = default;
  /// Success.
  static Status ok() { return Status(); }
  /// A failure; `message` says what is wrong and what to change.
  static Status error(std::string message) { return Status(std::move(message), true); }

  bool is_ok() const { return !failed_; }                  ///< success
  explicit operator bool() const { return !failed_; }      ///< success
  const std::string& message() const { return message_; }  ///< the sentence; empty on success

 private:
  Status(std::string message, bool failed) : message_(std::move(message)), failed_(failed) {}
  std::string message_;
  bool failed_ = false;
};

/// A value or the Status that explains why there is none.
template <typename T>
class Expected {
 public:
  /// A value.
  Expected(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  /// No value: `error` (a failure) says why.
  Expected(Status error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return v_.index() == 0; }      ///< whether there is a value
  explicit operator bool() const { return has_value(); }  ///< has_value()
  ///@{
  /// The value; only when there is one.
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  ///@}
  /// Why there is no value; only when there is none.
  const Status& status() const { return std::get<1>(v_); }
  /// The sentence of status().
  const std::string& error() const { return status().message(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace bypass

/// Returns the Status of `expr` from the enclosing function if it failed.
#define BYPASS_TRY(expr)                    \
  do {                                      \
    if (Status s_ = (expr); !s_) return s_; \
  } while (0)
