"""bypassbench: the code of scripts/bench-compare and scripts/bench-fwd, which
run bypass next to dpdk-testpmd and Linux sockets and report the difference.

  processes  start, watch and stop processes; namespaces, memif socket, cleanup
  parsers    the programs' outputs as numbers (--stats-json, testpmd, bypass-gen,
             bypass-client flood)
  configs    the TOML configs and command lines the programs are started with
  cases      one trial of each case: bench-compare's A, B, C, D, D0, D1, L and
             bench-fwd's forwarder trial
  report     medians, min-max, ratios, tables and JSON
  chart      bench-compare's SVG chart
  compare    scripts/bench-compare's command line and run
  fwd        scripts/bench-fwd's command line and run
"""
