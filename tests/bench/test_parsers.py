"""bypassbench.parsers on literal sample outputs (tests/bench/samples.py)."""
import os
import tempfile
import unittest

try:  # samples also puts bench/ on sys.path, for bypassbench
    from . import samples
except ImportError:  # run from inside tests/bench
    import samples

from bypassbench import parsers


def write_temp(test, text):
    """A file holding text, removed when the test ends."""
    fd, path = tempfile.mkstemp(suffix=".stats.json")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    test.addCleanup(os.unlink, path)
    return path


class StatsJsonTest(unittest.TestCase):
    """bypass-udpd's and bypass-fwd's --stats-json file."""

    def setUp(self):
        self.objs = parsers.read_stats_json(write_temp(self, samples.UDPD_STATS_JSON))

    def test_reads_every_object_in_order(self):
        self.assertEqual([o["seconds"] for o in self.objs], [1.0, 2.0, 3.5, 3.75])
        self.assertEqual([o["final"] for o in self.objs], [False, False, False, True])

    def test_skips_a_line_still_being_written(self):
        objs = parsers.read_stats_json(write_temp(self, samples.UDPD_STATS_JSON_RUNNING))
        self.assertEqual([o["seconds"] for o in objs], [1.0, 2.0])
        self.assertIsNone(parsers.stats_final(objs))

    def test_missing_file_is_empty(self):
        self.assertEqual(parsers.read_stats_json("/nonexistent/stats.json"), [])

    def test_final_object(self):
        final = parsers.stats_final(self.objs)
        self.assertTrue(final["final"])
        self.assertEqual(final["totals"]["rx_packets"], 6000000)

    def test_intervals_are_differences_without_the_final(self):
        self.assertEqual(parsers.stats_intervals(self.objs),
                         [(1.0, 0, 0), (1.0, 2000000, 1990000), (1.5, 3000000, 3000000)])

    def test_rates_per_second(self):
        rates = parsers.stats_rates_mpps(self.objs)
        self.assertEqual(len(rates), 3)
        for got, want in zip(rates, [(0.0, 0.0), (2.0, 1.99), (2.0, 2.0)]):
            self.assertAlmostEqual(got[0], want[0])
            self.assertAlmostEqual(got[1], want[1])

    def test_traffic_shows_once_a_second_has_packets(self):
        self.assertFalse(parsers.stats_has_traffic(self.objs[:1]))
        self.assertTrue(parsers.stats_has_traffic(self.objs[:2]))
        self.assertFalse(parsers.stats_has_traffic([]))

    def test_busy_cycles_per_packet_over_the_workers(self):
        final = parsers.stats_final(self.objs)
        self.assertEqual(parsers.busy_cycles_per_packet(final), 150.0)  # 900e6 / 6e6
        self.assertIsNone(parsers.busy_cycles_per_packet(None))
        idle = {"totals": {"rx_packets": 0, "busy_cycles": 5}}
        self.assertEqual(parsers.busy_cycles_per_packet(idle), 0.0)

    def test_busy_polls_share(self):
        self.assertEqual(parsers.busy_polls_pct(parsers.stats_final(self.objs)), 36.0)
        self.assertEqual(parsers.busy_polls_pct({"totals": {"polls": 0, "busy_polls": 0}}), 0.0)
        self.assertIsNone(parsers.busy_polls_pct(None))

    def test_run_totals(self):
        self.assertEqual(parsers.run_totals(parsers.stats_final(self.objs)),
                         {"rx": 6000000, "tx": 5990000, "dropped": 10000, "seconds": 3.75})
        self.assertIsNone(parsers.run_totals(None))

    def test_udp_counters(self):
        self.assertEqual(parsers.udp_counters(parsers.stats_final(self.objs)),
                         {"datagrams": 6000000, "replies": 5990000})
        self.assertIsNone(parsers.udp_counters(None))

    def test_bypass_fwd_file(self):
        objs = parsers.read_stats_json(write_temp(self, samples.FWD_STATS_JSON))
        final = parsers.stats_final(objs)
        self.assertEqual(parsers.stats_intervals(objs), [(1.0, 1000000, 1000), (1.0, 5000000, 0)])
        self.assertEqual(parsers.run_totals(final),
                         {"rx": 8000000, "tx": 1000, "dropped": 7999000, "seconds": 2.46})
        self.assertEqual(parsers.busy_polls_pct(final), 70.8)
        self.assertEqual(final["totals"]["drops"], {"tx_full": 7999000})
        self.assertIsNone(parsers.udp_counters(final))  # bypass-fwd counts no datagrams


class UdpdSocketsTextTest(unittest.TestCase):
    """bypass-udpd's sockets backend, which writes no --stats-json."""

    def test_seconds(self):
        self.assertEqual(parsers.udpd_sockets_seconds(samples.UDPD_SOCKETS_LOG),
                         [(0.12, 0.12), (0.251, 0.25), (0.262, 0.262)])

    def test_final(self):
        self.assertEqual(parsers.udpd_sockets_final(samples.UDPD_SOCKETS_LOG),
                         {"datagrams": 633000, "replies": 632000})
        self.assertIsNone(parsers.udpd_sockets_final("final stats\n"))


class GenTest(unittest.TestCase):
    """bypass-gen's per-second lines and summary."""

    def test_seconds(self):
        self.assertEqual(parsers.gen_seconds(samples.GEN_LOG),
                         [(1.0, 10.0, 9.0), (2.0, 12.0, 11.5), (3.0, 12.5, 12.0)])

    def test_summary(self):
        s = parsers.gen_summary(samples.GEN_LOG)
        self.assertEqual(s["seconds"], 3.0)
        self.assertEqual((s["tx"], s["tx_mpps"], s["rx"], s["rx_mpps"]),
                         (34500000, 11.5, 32500000, 10.833))
        self.assertEqual((s["sent"], s["received"], s["lost"]), (34500000, 32500000, 2000000))
        self.assertEqual(s["latency_us"], {"p50": 0.5, "p90": 1.2, "p99": 3.4, "p99.9": 44.0,
                                           "p99.99": 848.0, "max": 3277.0})

    def test_summary_needs_every_line(self):
        cut = samples.GEN_LOG.split("  udp64:")[0]
        self.assertIsNone(parsers.gen_summary(cut))

    def test_steady_skips_the_warm_up(self):
        st = parsers.gen_steady(samples.GEN_LOG, 1)
        self.assertAlmostEqual(st["tx_mpps"], 12.25)
        self.assertAlmostEqual(st["rx_mpps"], 11.75)
        self.assertEqual(st["samples_rx_mpps"], [11.5, 12.0])
        self.assertEqual(st["samples_tx_mpps"], [12.0, 12.5])
        self.assertEqual(st["measured_s"], 2.0)

    def test_steady_up_to(self):
        st = parsers.gen_steady(samples.GEN_LOG, 1, upto=2)
        self.assertEqual(st["samples_rx_mpps"], [11.5])
        self.assertIsNone(parsers.gen_steady(samples.GEN_LOG, 5))


class TestpmdTest(unittest.TestCase):
    """dpdk-testpmd's --stats-period blocks and exit statistics."""

    def test_seconds(self):
        self.assertEqual(parsers.testpmd_seconds(samples.TESTPMD_LOG), [(10.0, 9.5), (5.0, 0.0)])

    def test_has_traffic(self):
        self.assertTrue(parsers.testpmd_has_traffic(samples.TESTPMD_LOG))
        self.assertFalse(parsers.testpmd_has_traffic(samples.TESTPMD_IDLE))

    def test_cycles_per_packet(self):
        self.assertEqual(parsers.testpmd_cycles_per_packet(samples.TESTPMD_LOG), 112.93)
        self.assertIsNone(parsers.testpmd_cycles_per_packet(samples.TESTPMD_IDLE))

    def test_tx_dropped(self):
        self.assertEqual(parsers.testpmd_tx_dropped(samples.TESTPMD_LOG), 6000000)
        self.assertIsNone(parsers.testpmd_tx_dropped(samples.TESTPMD_IDLE))

    def test_samples_timed_by_rx(self):
        # the second block follows memif clearing the counters: taken from 0
        self.assertEqual(parsers.testpmd_samples(samples.TESTPMD_LOG, 0),
                         [(2.0, 20000000, 19000000), (1.0, 5000000, 0)])

    def test_samples_timed_by_tx_fall_back_to_rx(self):
        self.assertEqual(parsers.testpmd_samples(samples.TESTPMD_LOG, 1),
                         [(2.0, 20000000, 19000000), (1.0, 5000000, 0)])

    def test_idle_block(self):
        text = samples.TESTPMD_LOG.replace("Rx-pps:      5000000", "Rx-pps:            0")
        self.assertEqual(parsers.testpmd_samples(text, 0)[1], (0.0, 0, 0))


class FloodTest(unittest.TestCase):
    """bypass-client flood's result lines."""

    def test_result_and_rtt(self):
        f = parsers.flood_result(samples.FLOOD_LOG)
        self.assertEqual((f["sent"], f["received"], f["lost"]), (1300000, 1290000, 10000))
        self.assertEqual((f["sent_pps"], f["received_pps"]), (260000, 258000))
        self.assertEqual(f["window"], 256)
        self.assertEqual(f["latency_us"], {"p50": 30.5, "p90": 60.2, "p99": 91.1,
                                           "p99.9": 2458.0, "max": 9000.0})

    def test_without_rtt(self):
        f = parsers.flood_result(samples.FLOOD_NO_RTT)
        self.assertEqual(f["received"], 1290000)
        self.assertNotIn("latency_us", f)

    def test_nothing(self):
        self.assertIsNone(parsers.flood_result("bypass-client: connection refused\n"))


class SteadyPartTest(unittest.TestCase):
    """The measured part of a series of samples."""

    SERIES = [(0.0,), (5.0,), (10.0,), (12.0,), (11.0,), (3.0,), (0.0,)]

    def test_active_mean_drops_the_partial_ends(self):
        self.assertEqual(parsers.active_mean(self.SERIES, 0), 11.0)

    def test_active_mean_skip_and_keep(self):
        self.assertEqual(parsers.active_mean(self.SERIES, 0, skip=1), 11.5)
        self.assertEqual(parsers.active_mean(self.SERIES, 0, skip=1, keep=1), 12.0)
        self.assertEqual(parsers.active_mean(self.SERIES, 0, skip=9), 11.0)  # the last one

    def test_active_mean_without_traffic(self):
        self.assertIsNone(parsers.active_mean([], 0))
        self.assertEqual(parsers.active_mean([(0.0,), (0.0,)], 0), 0.0)

    def test_window_after_first_traffic_and_warm_up(self):
        samples_ = [(1.0, 0, 0), (0.5, 100, 0), (1.0, 1000, 0), (1.0, 2000, 0), (1.0, 3000, 0),
                    (1.0, 4000, 0)]
        w = parsers.steady_window(samples_, 0, 1, 2)
        self.assertEqual(w, [(1.0, 2000, 0), (1.0, 3000, 0)])
        self.assertEqual(parsers.window_rates(w), (2.0, 0.0025, 0.0))

    def test_window_without_traffic(self):
        self.assertEqual(parsers.steady_window([(1.0, 0, 0)], 0, 1, 5), [])
        self.assertEqual(parsers.window_rates([]), (0.0, 0.0, 0.0))


if __name__ == "__main__":
    unittest.main()
