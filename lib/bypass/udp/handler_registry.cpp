#include <bypass/udp/handler_registry.hpp>

namespace bypass {

namespace {

template <typename E, typename F>
void put(std::vector<E>& entries, std::string name, std::vector<std::string> keys, F make) {
  for (E& e : entries)
    if (e.name == name) {
      e = {std::move(name), std::move(keys), std::move(make)};
      return;
    }
  entries.push_back({std::move(name), std::move(keys), std::move(make)});
}

template <typename E>
const E* find(const std::vector<E>& entries, const std::string& name) {
  for (const E& e : entries)
    if (e.name == name) return &e;
  return nullptr;
}

template <typename E>
std::vector<std::string> names_of(const std::vector<E>& entries) {
  std::vector<std::string> n;
  for (const E& e : entries) n.push_back(e.name);
  return n;
}

}  // namespace

void HandlerRegistry::add(std::string name, std::vector<std::string> keys, Factory make) {
  put(entries_, std::move(name), std::move(keys), std::move(make));
}

const std::vector<std::string>* HandlerRegistry::keys(const std::string& name) const {
  const auto* e = find(entries_, name);
  return e ? &e->keys : nullptr;
}

Expected<std::unique_ptr<DatagramHandler>> HandlerRegistry::make(
    const std::string& name, const ConfigSection& service) const {
  if (const auto* e = find(entries_, name)) {
    auto h = e->make(service);
    if (h && !*h) return Status::error(service.path() + ": the " + name + " handler made nothing.");
    return h;
  }
  return Status::error(service.path() + " names handler '" + name +
                       "', which the program did not add.");
}

std::vector<std::string> HandlerRegistry::names() const {
  return names_of(entries_);
}

void HandlerRegistry::add_application(std::string name, std::vector<std::string> keys,
                                      AppFactory make) {
  put(apps_, std::move(name), std::move(keys), std::move(make));
}

const std::vector<std::string>* HandlerRegistry::application_keys(const std::string& name) const {
  const auto* e = find(apps_, name);
  return e ? &e->keys : nullptr;
}

Expected<std::unique_ptr<msg::MessageApplication>> HandlerRegistry::make_application(
    const std::string& name, const ConfigSection& service) const {
  if (const auto* e = find(apps_, name)) {
    auto a = e->make(service);
    if (a && !*a)
      return Status::error(service.path() + ": the " + name + " application made nothing.");
    return a;
  }
  return Status::error(service.path() + " names application '" + name +
                       "', which the program did not add.");
}

std::vector<std::string> HandlerRegistry::application_names() const {
  return names_of(apps_);
}

}  // namespace bypass
