#include <bypass/net/source_blocklist.hpp>

namespace bypass {

Expected<std::unique_ptr<SourceBlocklist>> SourceBlocklist::from(
    const std::vector<std::string>& sources, const std::string& where) {
  std::vector<std::pair<uint32_t, uint32_t>> v4;
  std::vector<Prefix6> v6;
  for (const auto& s : sources) {
    const auto slash = s.find('/');
    auto ip = IpAddr::parse(s.substr(0, slash));
    const unsigned max = ip && ip->is_v4() ? 32 : 128;
    unsigned len = max;
    bool ok = ip.has_value();
    if (ok && slash != std::string::npos) {
      const std::string pl = s.substr(slash + 1);
      ok = !pl.empty() && pl.size() <= 3 &&
           pl.find_first_not_of("0123456789") == std::string::npos && std::stoul(pl) <= max;
      if (ok) len = static_cast<unsigned>(std::stoul(pl));
    }
    if (!ok)
      return Status::error(where + " has \"" + s +
                           "\", which is not an address or prefix: write it like "
                           "\"198.18.9.0/28\" or \"2001:db8::66\".");
    if (ip->is_v4()) {
      const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
      v4.emplace_back(rte_be_to_cpu_32(ip->v4_be()) & mask, mask);
    } else {
      Prefix6 p{};
      std::memcpy(p.net.data(), ip->v6_bytes(), 16);
      p.len = static_cast<uint8_t>(len);
      v6.push_back(p);
    }
  }
  return std::make_unique<SourceBlocklist>(std::move(v4), std::move(v6));
}

void add_net_modules(ModuleRegistry& r) {
  r.add(
      "SourceBlocklist", "drops packets from the listed IPv4/IPv6 source prefixes",
      [](const ModuleParams& p) -> Expected<std::unique_ptr<Module>> {
        BYPASS_TRY(p.only({"sources"}));
        std::vector<std::string> sources;
        BYPASS_TRY(p.require("sources", "add it as a list of prefixes, like [\"198.18.9.0/28\"]"));
        BYPASS_TRY(p.strings("sources", &sources));
        auto b = SourceBlocklist::from(sources, p.where("sources"));
        if (!b) return b.status();
        return std::unique_ptr<Module>(std::move(*b));
      },
      /*needs_parse=*/true);
}

}  // namespace bypass
