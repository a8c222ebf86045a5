"""What the cases take from a finished trial's outputs: bench-compare's
bypass-udpd results (stats file or sockets log) and bench-fwd's measurement."""
import os
import tempfile
import types
import unittest

try:  # samples also puts bench/ on sys.path, for bypassbench
    from . import samples
except ImportError:  # run from inside tests/bench
    import samples

from bypassbench import cases


class FakeProc:
    """A stopped process: a name, a log text and maybe a --stats-json file."""

    def __init__(self, name, text, stats_json=None):
        self.name, self._text, self.stats_json = name, text, stats_json

    def text(self):
        return self._text


def fwd_case(options):
    """A FwdCase that only measures: no work directory, no processes."""
    workspace = types.SimpleNamespace(path=lambda name: name)
    return cases.FwdCase(options, workspace, None, "bypass-fwd", "dpdk-testpmd", False)


class CaseOutputTest(unittest.TestCase):
    def stats_file(self, text):
        fd, path = tempfile.mkstemp(suffix=".stats.json")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.addCleanup(os.unlink, path)
        return path

    def test_udpd_dpdk_reads_its_stats_file(self):
        server = FakeProc("A1-bypass-server", "log text is not read",
                          self.stats_file(samples.UDPD_STATS_JSON))
        rates, final, cycles = cases.udpd_results(server)
        self.assertEqual(len(rates), 3)
        self.assertAlmostEqual(rates[1][0], 2.0)
        self.assertEqual(final, {"datagrams": 6000000, "replies": 5990000})
        self.assertEqual(cycles, 150.0)

    def test_udpd_sockets_reads_its_log(self):
        rates, final, cycles = cases.udpd_results(FakeProc("B1-sockets-server",
                                                           samples.UDPD_SOCKETS_LOG))
        self.assertEqual(rates[2], (0.262, 0.262))
        self.assertEqual(final, {"datagrams": 633000, "replies": 632000})
        self.assertIsNone(cycles)

    def test_fwd_measure_bypass(self):
        o = types.SimpleNamespace(gen="txonly", warmup=0, duration=1)
        case = fwd_case(o)
        fwd = FakeProc("bypass-1", "", self.stats_file(samples.FWD_STATS_JSON))
        gen = FakeProc("gen-bypass-1", samples.TESTPMD_LOG)
        s0 = {"bypass-1": {"10": (0, 0)}, "gen-bypass-1": {"11": (0, 0)}}
        s1 = {"bypass-1": {"10": (900, 100)}, "gen-bypass-1": {"11": (500, 500)}}
        t = case.measure("bypass", fwd, gen, s0, s1)
        self.assertEqual(t["forwarder"], "bypass")
        self.assertEqual((t["mpps"], t["rx_mpps"], t["tx_mpps"], t["measured_s"]), (5.0, 5.0, 0.0, 1.0))
        self.assertEqual(t["samples_mpps"], [5.0])
        self.assertEqual((t["forwarder_cpu_share"], t["generator_cpu_share"]), (0.9, 0.5))
        self.assertEqual(t["final"], {"rx": 8000000, "tx": 1000, "dropped": 7999000, "seconds": 2.46})
        self.assertEqual(t["busy_polls_pct"], 70.8)
        self.assertIsNone(t["mpps_per_full_cpu"])

    def test_fwd_measure_testpmd_alone(self):
        o = types.SimpleNamespace(gen="null", warmup=0, duration=2)
        case = fwd_case(o)
        fwd = FakeProc("testpmd-1", samples.TESTPMD_LOG)
        s0, s1 = {"testpmd-1": {"10": (0, 0)}}, {"testpmd-1": {"10": (500, 500)}}
        t = case.measure("testpmd", fwd, None, s0, s1)
        # timed by TX (null: what is forwarded counts); the first block is partial
        self.assertEqual((t["mpps"], t["measured_s"]), (0.0, 1.0))
        self.assertIsNone(t["generator_mpps"])
        self.assertIsNone(t["generator_cpu_share"])
        self.assertEqual(t["final"], {"tx_dropped": 6000000})


if __name__ == "__main__":
    unittest.main()
