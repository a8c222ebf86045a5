#include <bypass/udp/handler_registry.hpp>

namespace bypass {

void HandlerRegistry::add(std::string name, std::vector<std::string> keys, Factory make) {
  for (Entry& e : entries_)
    if (e.name == name) {
      e = {std::move(name), std::move(keys), std::move(make)};
      return;
    }
  entries_.push_back({std::move(name), std::move(keys), std::move(make)});
}

const std::vector<std::string>* HandlerRegistry::keys(const std::string& name) const {
  for (const Entry& e : entries_)
    if (e.name == name) return &e.keys;
  return nullptr;
}

Expected<std::unique_ptr<DatagramHandler>> HandlerRegistry::make(
    const std::string& name, const ConfigSection& service) const {
  for (const Entry& e : entries_)
    if (e.name == name) {
      auto h = e.make(service);
      if (h && !*h)
        return Status::error(service.path() + ": the " + name + " handler made nothing.");
      return h;
    }
  return Status::error(service.path() + " names handler '" + name +
                       "', which the program did not add.");
}

std::vector<std::string> HandlerRegistry::names() const {
  std::vector<std::string> n;
  for (const Entry& e : entries_) n.push_back(e.name);
  return n;
}

}  // namespace bypass
