// bypass on DPDK's telemetry socket: /bypass/... commands that DPDK's own
// dpdk-telemetry.py reads. DPDK calls them on its telemetry thread, so they
// answer from the snapshot the control thread last published
// (ControlPlane::latest(), at most a second old) and never touch a worker.
// DPDK 22.11 caps a reply at 256 dict and 512 array entries: long lists take
// an offset as their parameter ("/bypass/drops,256").
#pragma once

namespace bypass {

class ControlPlane;

// Registers the commands (once per process) and answers from `plane` until
// telemetry_detach(); between the two they answer null.
void telemetry_attach(const ControlPlane* plane);
void telemetry_detach();

}  // namespace bypass
