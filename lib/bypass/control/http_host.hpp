/// @file
/// Which Host an HTTP request to the control endpoint may name. A web page
/// in a browser on the operator's machine can be made to send requests to
/// 127.0.0.1 under a name its attacker controls (DNS rebinding) and read the
/// answers; its Host header still carries that name. So the endpoint answers
/// a request whose Host is an IP address, `localhost` (or a name under
/// `.localhost`), or a name the operator lists in `[control] metrics_hosts`,
/// and refuses any other name.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bypass {

/// What to do with a request's Host header.
enum class HostVerdict {
  kAllowed,  ///< an address, localhost, a listed name, or no Host at all
  kRefused,  ///< a name that is not listed
  kBad,      ///< not a host[:port] (or given twice)
};

/// The Host header of `request` (its head, up to the blank line) judged
/// against `names` (lower case; "*" allows any). `host` gets the header's
/// value (empty when there is none).
HostVerdict judge_host(std::string_view request, const std::vector<std::string>& names,
                       std::string* host);

}  // namespace bypass
