// Opens every port a Config names, in order, as EthPorts sharing one pool.
#pragma once

#include <memory>
#include <vector>

#include <bypass/core/config.hpp>
#include <bypass/io/eth_port.hpp>

namespace bypass {

Expected<std::vector<std::unique_ptr<EthPort>>> open_ports(const Config& c, rte_mempool* pool);

}  // namespace bypass
