// The fixture of the NetcodeServer tests (server_test.cpp,
// server_refusals_test.cpp, server_network_test.cpp): a simulated network
// (netcode_test_network.hpp) with two server addresses, clients connected by token, and the
// network's invariant breaches reported as failures.
#pragma once

#include <gtest/gtest.h>

#include <bypass/conn/server.hpp>

#include "netcode_test_network.hpp"

namespace bypass::conn::test {

const NetcodeAddress kServerA = addr(1, 40000);
const NetcodeAddress kServerB = addr(2, 40000);

// Servers and clients on one simulated network, time set by hand.
class ServerBase : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto_init().is_ok()); }
  void TearDown() override {
    for (const auto& v : sim.net.violations) ADD_FAILURE() << v;
  }

  Sim::ClientNode& connect_client(uint8_t host, uint64_t client_id, const NetcodeAddress& server,
                                  TokenSpec spec = {}) {
    spec.client_id = client_id;
    if (spec.servers.empty()) spec.servers = {server};
    auto& c = sim.add_client(addr(host, 50000));
    const auto token = make_token(spec, sim.clock.now);
    c.client->connect(token, sim.clock.now);
    return c;
  }
  static bool is(const Sim::ClientNode& c, ClientState s) { return c.client->state() == s; }

  uint64_t drops(const Sim::ServerNode& s, ServerDrop d) { return s.server->drop_count(d); }

  Sim sim;
};

// Every Server_ test runs twice: servers reading one packet at a time
// (receive()), and reading each delivery round as a batch, as the netcode
// service does (receive_in_batch(), which holds a request back by one
// packet). Its tests are in server_test.cpp (which instantiates them) and
// server_refusals_test.cpp.
class Server_ : public ServerBase, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    ServerBase::SetUp();
    sim.net.batched = GetParam();
  }
};

}  // namespace bypass::conn::test
