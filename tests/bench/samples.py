"""Literal outputs of the programs the benchmarks read, cut down to what the
parsers look at (formats as of the programs' sources: control/stats.cpp,
apps/gen/report.cpp, apps/client/main.cpp, apps/udpd/sockets.cpp, and DPDK
22.11's testpmd)."""
import os
import sys

# bench/ on the path, wherever the tests are started from
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))


# bypass-udpd --stats-json: three seconds and the final object.
UDPD_STATS_JSON = """\
{"schema":2,"final":false,"seconds":1.000000,"time":1795000000.001000,"tsc_hz":2400000000,"totals":{"rx_packets":0,"rx_bytes":0,"tx_packets":0,"tx_bytes":0,"dropped":0,"polls":1000,"busy_polls":0,"busy_cycles":0,"drops":{}},"workers":[{"index":0,"cpu":0,"rx_packets":0,"rx_bytes":0,"tx_packets":0,"tx_bytes":0,"dropped":0,"polls":1000,"busy_polls":0,"busy_cycles":0}],"ports":[{"name":"p0","link_up":true,"speed_mbps":10000,"ipackets":0,"opackets":0,"ibytes":0,"obytes":0,"imissed":0,"ierrors":0,"oerrors":0,"rx_nombuf":0}],"modules":[{"name":"udp_dispatch","worker":0,"calls":0,"packets":0,"dropped":0,"drops":{},"cycles_per_packet":45.20}],"counters":{"udp.datagrams":0,"udp.replies":0},"gauges":{"pool.in_use":1024}}
{"schema":2,"final":false,"seconds":2.000000,"time":1795000000.002000,"tsc_hz":2400000000,"totals":{"rx_packets":2000000,"rx_bytes":120000000,"tx_packets":1990000,"tx_bytes":119400000,"dropped":0,"polls":200000,"busy_polls":60000,"busy_cycles":300000000,"drops":{}},"workers":[{"index":0,"cpu":0,"rx_packets":2000000,"rx_bytes":120000000,"tx_packets":1990000,"tx_bytes":119400000,"dropped":0,"polls":200000,"busy_polls":60000,"busy_cycles":300000000}],"ports":[{"name":"p0","link_up":true,"speed_mbps":10000,"ipackets":2000000,"opackets":1990000,"ibytes":120000000,"obytes":119400000,"imissed":0,"ierrors":0,"oerrors":0,"rx_nombuf":0}],"modules":[{"name":"udp_dispatch","worker":0,"calls":60000,"packets":2000000,"dropped":0,"drops":{},"cycles_per_packet":45.20}],"counters":{"udp.datagrams":2000000,"udp.replies":1990000},"gauges":{"pool.in_use":1024}}
{"schema":2,"final":false,"seconds":3.500000,"time":1795000000.003500,"tsc_hz":2400000000,"totals":{"rx_packets":5000000,"rx_bytes":300000000,"tx_packets":4990000,"tx_bytes":299400000,"dropped":0,"polls":400000,"busy_polls":150000,"busy_cycles":750000000,"drops":{}},"workers":[{"index":0,"cpu":0,"rx_packets":5000000,"rx_bytes":300000000,"tx_packets":4990000,"tx_bytes":299400000,"dropped":0,"polls":400000,"busy_polls":150000,"busy_cycles":750000000}],"ports":[{"name":"p0","link_up":true,"speed_mbps":10000,"ipackets":5000000,"opackets":4990000,"ibytes":300000000,"obytes":299400000,"imissed":0,"ierrors":0,"oerrors":0,"rx_nombuf":0}],"modules":[{"name":"udp_dispatch","worker":0,"calls":150000,"packets":5000000,"dropped":0,"drops":{},"cycles_per_packet":45.20}],"counters":{"udp.datagrams":5000000,"udp.replies":4990000},"gauges":{"pool.in_use":1024}}
{"schema":2,"final":true,"seconds":3.750000,"time":1795000000.003750,"tsc_hz":2400000000,"totals":{"rx_packets":6000000,"rx_bytes":360000000,"tx_packets":5990000,"tx_bytes":359400000,"dropped":10000,"polls":500000,"busy_polls":180000,"busy_cycles":900000000,"drops":{"tx_full":10000}},"workers":[{"index":0,"cpu":0,"rx_packets":6000000,"rx_bytes":360000000,"tx_packets":5990000,"tx_bytes":359400000,"dropped":10000,"polls":500000,"busy_polls":180000,"busy_cycles":900000000}],"ports":[{"name":"p0","link_up":true,"speed_mbps":10000,"ipackets":6000000,"opackets":5990000,"ibytes":360000000,"obytes":359400000,"imissed":0,"ierrors":0,"oerrors":0,"rx_nombuf":0}],"modules":[{"name":"udp_dispatch","worker":0,"calls":180000,"packets":6000000,"dropped":0,"drops":{},"cycles_per_packet":45.20}],"counters":{"udp.datagrams":6000000,"udp.replies":5990000},"gauges":{"pool.in_use":1024}}
"""

# The same file read while the program still writes it: a line cut short.
UDPD_STATS_JSON_RUNNING = "".join(UDPD_STATS_JSON.splitlines(True)[:2]) + '{"schema":2,"final":fal'


# bypass-fwd --stats-json (5tswap, txonly generator: TX refused, counted as tx_full)
FWD_STATS_JSON = """\
{"schema":2,"final":false,"seconds":1.000000,"time":1795000001.000000,"tsc_hz":2400000000,"totals":{"rx_packets":1000000,"rx_bytes":60000000,"tx_packets":1000,"tx_bytes":60000,"dropped":999000,"polls":90000,"busy_polls":30000,"busy_cycles":200000000,"drops":{"tx_full":999000}},"workers":[{"index":0,"cpu":0,"rx_packets":1000000,"rx_bytes":60000000,"tx_packets":1000,"tx_bytes":60000,"dropped":999000,"polls":90000,"busy_polls":30000,"busy_cycles":200000000}],"ports":[{"name":"p0","link_up":true,"speed_mbps":0,"ipackets":1000000,"opackets":1000,"ibytes":60000000,"obytes":60000,"imissed":0,"ierrors":0,"oerrors":0,"rx_nombuf":0}],"modules":[],"counters":{},"gauges":{"pool.in_use":2048}}
{"schema":2,"final":false,"seconds":2.000000,"time":1795000002.000000,"tsc_hz":2400000000,"totals":{"rx_packets":6000000,"rx_bytes":360000000,"tx_packets":1000,"tx_bytes":60000,"dropped":5999000,"polls":190000,"busy_polls":130000,"busy_cycles":900000000,"drops":{"tx_full":5999000}},"workers":[{"index":0,"cpu":0,"rx_packets":6000000,"rx_bytes":360000000,"tx_packets":1000,"tx_bytes":60000,"dropped":5999000,"polls":190000,"busy_polls":130000,"busy_cycles":900000000}],"ports":[{"name":"p0","link_up":true,"speed_mbps":0,"ipackets":6000000,"opackets":1000,"ibytes":360000000,"obytes":60000,"imissed":0,"ierrors":0,"oerrors":0,"rx_nombuf":0}],"modules":[],"counters":{},"gauges":{"pool.in_use":2048}}
{"schema":2,"final":true,"seconds":2.456789,"time":1795000002.456789,"tsc_hz":2400000000,"totals":{"rx_packets":8000000,"rx_bytes":480000000,"tx_packets":1000,"tx_bytes":60000,"dropped":7999000,"polls":240000,"busy_polls":170000,"busy_cycles":1200000000,"drops":{"tx_full":7999000}},"workers":[{"index":0,"cpu":0,"rx_packets":8000000,"rx_bytes":480000000,"tx_packets":1000,"tx_bytes":60000,"dropped":7999000,"polls":240000,"busy_polls":170000,"busy_cycles":1200000000}],"ports":[{"name":"p0","link_up":true,"speed_mbps":0,"ipackets":8000000,"opackets":1000,"ibytes":480000000,"obytes":60000,"imissed":0,"ierrors":0,"oerrors":0,"rx_nombuf":0}],"modules":[],"counters":{},"gauges":{"pool.in_use":2048}}
"""

# bypass-udpd's sockets backend (it writes no --stats-json)
UDPD_SOCKETS_LOG = """\
info: serving UDP 40007/echo on 127.0.0.1 with 1 worker(s) (Linux sockets)
[   1.0s] rx   0.120 Mpps  tx   0.120 Mpps  send errors 0  truncated 0
[   2.0s] rx   0.251 Mpps  tx   0.250 Mpps  send errors 0  truncated 0
[   3.0s] rx   0.262 Mpps  tx   0.262 Mpps  send errors 0  truncated 0
info: signal 15 received: stopping
final stats
  total: rx 633000 tx 632000 in 3.20s (0.198 Mpps out)
  udp: datagrams 633000 replies 632000 further datagrams 0 send errors 0 recv errors 0 truncated 0
  worker 1: rx 633000 tx 632000
"""

# bypass-gen: per-second lines and the summary
GEN_LOG = """\
# taskset -c 1 stdbuf -oL bypass-gen -c gen.toml -t 3 --hold 60
info: 1 stream(s) on 1 port(s), 1 worker(s)
[   1.0s] p0: tx  10.000 Mpps rx   9.000 Mpps   6.72 Gbit/s  tx-rx 1000000  p99 3.4 us
[   2.0s] p0: tx  12.000 Mpps rx  11.500 Mpps   8.06 Gbit/s  tx-rx 1500000  p99 3.5 us
[   3.0s] p0: tx  12.500 Mpps rx  12.000 Mpps   8.40 Gbit/s  tx-rx 2000000  p99 3.6 us
summary (3.00 s)
  port p0: tx 34500000 (11.500 Mpps) rx 32500000 (10.833 Mpps) other rx 0 pool empty 12
  udp64: sent 34500000 received 32500000 lost 2000000 duplicates 0 reordered 3; latency us p50 0.5 p90 1.2 p99 3.4 p99.9 44.0 p99.99 848.0 max 3277.0
holding the ports for up to 60 s (SIGINT/SIGTERM ends it)
"""

# dpdk-testpmd --stats-period 1: two blocks, the second after memif cleared
# the counters; then the forward statistics and --record-core-cycles at exit.
TESTPMD_LOG = """\
Start automatic packet forwarding
5tswap packet forwarding - ports=1 - cores=1 - streams=1 - NUMA support enabled, MP allocation mode: native

  ######################## NIC statistics for port 0  ########################
  RX-packets: 20000000   RX-missed: 0          RX-bytes:  1200000000
  RX-errors: 0
  RX-nombuf:  0
  TX-packets: 19000000   TX-errors: 0          TX-bytes:  1140000000

  Throughput (since last show)
  Rx-pps:     10000000          Rx-bps:   4800000000
  Tx-pps:      9500000          Tx-bps:   4560000000
  ############################################################################

  ######################## NIC statistics for port 0  ########################
  RX-packets: 5000000    RX-missed: 0          RX-bytes:  300000000
  RX-errors: 0
  RX-nombuf:  0
  TX-packets: 0          TX-errors: 0          TX-bytes:  0

  Throughput (since last show)
  Rx-pps:      5000000          Rx-bps:   2400000000
  Tx-pps:            0          Tx-bps:            0
  ############################################################################
Telling cores to stop...
Waiting for lcores to finish...

  ---------------------- Forward statistics for port 0  ----------------------
  RX-packets: 25000000       RX-dropped: 0             RX-total: 25000000
  TX-packets: 19000000       TX-dropped: 6000000       TX-total: 25000000
  ----------------------------------------------------------------------------

  CPU cycles/packet=112.93 (busy cycles=2823250000 / total RX packets=25000000) at 2400 MHz Clock
"""

TESTPMD_IDLE = """\
  Throughput (since last show)
  Rx-pps:            0          Rx-bps:            0
  Tx-pps:            0          Tx-bps:            0
"""

# bypass-client flood, with and without its RTT line
FLOOD_LOG = """\
flood: sent 1300000 received 1290000 lost 10000 wrong 0 seconds 5.000 sent_pps 260000 received_pps 258000 threads 1 window 256 batch 32 size 18 offered_pps 0 stalls 4 errors 0
flood-rtt: samples 1290000 p50_us 30.5 p90_us 60.2 p99_us 91.1 p999_us 2458.0 max_us 9000.0
"""
FLOOD_NO_RTT = FLOOD_LOG.splitlines()[0] + "\n"
