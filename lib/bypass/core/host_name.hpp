/// @file
/// What bypass takes for a DNS host name, in the config (`[control]
/// metrics_hosts`) and in an HTTP request's Host header alike: 1 to 253
/// letters, digits, '-' and '.', not starting with '-' or '.' (a trailing
/// '.' is the same name, fully qualified). Case is the caller's to fold.
#pragma once

#include <algorithm>
#include <string_view>

namespace bypass {

inline bool is_host_name(std::string_view n) {
  return !n.empty() && n.size() <= 253 && n.front() != '.' && n.front() != '-' &&
         std::all_of(n.begin(), n.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.';
         });
}

}  // namespace bypass
