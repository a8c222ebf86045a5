"""The benchmark cases: how each trial starts its processes, waits, measures
and stops them, and what it returns.

CompareCases: bench-compare's A, B, C, D (D0, D1) and the latency trials L.
FwdCase: bench-fwd's trial, a forwarder in 5tswap mode against a generator."""
import os
import signal
import time

from . import configs, parsers
from .processes import (ProcessGroup, TrialFailed, VethPair, Workspace, cpu_share, free_udp_port,
                        is_socket, log, print_tail, sched_snapshot, tail, udp_snmp, wait_for,
                        wait_until)

PID = os.getpid()


def udpd_results(server):
    """Of a stopped bypass-udpd: its per-second (rx, tx) Mpps, its udp counters
    and its busy cycles per packet. The DPDK backend is read from its
    --stats-json file; the sockets backend writes none, so its log is read
    (and it reports no cycles)."""
    if server.stats_json:
        objs = parsers.read_stats_json(server.stats_json)
        final = parsers.stats_final(objs)
        return (parsers.stats_rates_mpps(objs), parsers.udp_counters(final),
                parsers.busy_cycles_per_packet(final))
    text = server.text()
    return parsers.udpd_sockets_seconds(text), parsers.udpd_sockets_final(text), None


def rounded(x, digits=4):
    return None if x is None else round(x, digits)


def loss_pct(lost, sent):
    return round(100.0 * lost / sent, 4) if sent else None


class CompareCases:
    """Everything a bench-compare trial needs, and one method per case. Each
    case method takes (kind, tag, ...) and returns the trial's fields, or
    raises TrialFailed."""

    def __init__(self, a, root, huge, testpmd):
        self.a = a
        self.huge = huge
        self.testpmd = testpmd
        self.ws = Workspace("bench-compare", "bench-compare.", f"/tmp/bench-compare-{PID}.sock",
                            f"bench-compare-{{what}}-{PID}")
        self.procs = ProcessGroup("bench-compare")
        self.veth = None
        self.c_rate = None
        self.c_calibration = {}
        self.xdp_mode = None
        self.udp_port = free_udp_port(PID)
        build = os.environ.get("BUILD", "build")
        self.build = build if os.path.isabs(build) else os.path.join(root, build)
        self.bin = {k: os.path.join(self.build, "apps", d, k) for k, d in
                    (("bypass-gen", "gen"), ("bypass-udpd", "udpd"), ("bypass-client", "client"))}

    # -- starting the pieces --
    def write(self, name, text):
        path = self.ws.path(name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self, name, argv, role, cpu, **kw):
        return self.procs.start(name, argv, self.ws.path(f"{name}.log"), cpu, role,
                                nice=self.a.nice, **kw)

    def start_udpd_dpdk(self, device, what, tag, **kw):
        """bypass-udpd on a DPDK port, writing its stats to a --stats-json file."""
        cfg = self.write(f"udpd-{what}.toml", configs.udpd_dpdk_toml(
            self.a.server_cpu, self.ws.prefix(what), self.huge, device))
        stats = self.ws.path(f"{tag}-server.stats.json")
        p = self.start(f"{tag}-server", [self.bin["bypass-udpd"], "-c", cfg, "--stats-json", stats],
                       "server", self.a.server_cpu, **kw)
        p.stats_json = stats
        return p

    def start_udpd_sockets(self, addr, port, what, tag, extra=(), **kw):
        cfg = self.write(f"udpd-{what}.toml", configs.udpd_sockets_toml(self.a.server_cpu, addr, port))
        return self.start(f"{tag}-server", [self.bin["bypass-udpd"], "-c", cfg] + list(extra),
                          "server", self.a.server_cpu, **kw)

    def testpmd_argv(self, role, mode, what, extra=()):
        cpu = self.a.server_cpu if role == "server" else self.a.gen_cpu
        app = (configs.testpmd_forwarding(mode, 16383) +
               (["--record-core-cycles"] if role == "server" else []) + list(extra))
        return configs.testpmd_argv(self.testpmd, cpu, self.ws.prefix(what), self.huge,
                                    configs.memif_device(role, self.ws.sock), app)

    def start_memif_server(self, kind, tag):
        self.ws.remove_socket()
        if kind == "udpd":
            p = self.start_udpd_dpdk(configs.memif_device("server", self.ws.sock), "udpd", tag)
            wait_for(lambda: "serving UDP" in p.text(), 30, p, "bypass-udpd to serve")
        else:
            p = self.start(f"{tag}-server", self.testpmd_argv("server", kind, "testpmd"), "server",
                           self.a.server_cpu)
            # The listener exists from probe on, before the port is started; a
            # client that connects in between (slow pool setup without huge
            # pages) never gets a link. Forwarding has started once this is out.
            wait_for(lambda: "packet forwarding - ports=" in p.text(), 30, p,
                     "testpmd to start forwarding")
        wait_for(lambda: os.path.exists(self.ws.sock), 30, p, "the memif socket")
        return p

    def run_gen(self, device, tag, seconds, rate=None, netns=None):
        """bypass-gen for `seconds`. On memif it then holds its port open, idle,
        until finish_memif() has stopped the peer: DPDK 22.11's net_memif can
        fault in a side that is still polling when its peer leaves."""
        cfg = self.write("gen-gen.toml", configs.gen_toml(self.a.gen_cpu, self.ws.prefix("gen"),
                                                          self.huge, device))
        argv = [self.bin["bypass-gen"], "-c", cfg, "-t", str(seconds)]
        if rate:
            argv += ["-r", f"{rate:.0f}pps"]
        if "net_memif" in device:
            argv += ["--hold", "60"]
        return self.start(f"{tag}-gen", argv, "gen", self.a.gen_cpu, netns=netns,
                          bpffs=netns is not None)

    def finish_memif(self, server, gen, timeout):
        """Waits for bypass-gen's summary, stops the server while bypass-gen
        holds the link idle, then ends bypass-gen; returns the server's log."""
        wait_for(lambda: "holding the ports" in gen.text() or not gen.alive(), timeout, gen,
                 "bypass-gen to finish its run", log_of=gen)
        server.stop(signal.SIGINT)
        stext = server.text()
        gen.stop(signal.SIGINT)
        return stext

    def measure_window(self, procs, started, warm, dur, gen=None):
        """CPU shares between warm and warm+dur seconds after `started()` holds."""
        wait_for(started, 40, gen, "traffic to start", log_of=gen)
        time.sleep(warm)
        s0 = sched_snapshot(procs)
        time.sleep(dur)
        s1 = sched_snapshot(procs)
        return {p.role + "_cpu_share": cpu_share(s0, s1, p.name) for p in procs}

    def gen_rates(self, gen, warm):
        """bypass-gen's steady rates after the warm-up and its summary."""
        text = gen.text()
        st, summ = parsers.gen_steady(text, warm), parsers.gen_summary(text)
        if not st or not summ:
            raise TrialFailed(f"no rates from bypass-gen (status {gen.p.returncode}): {tail(gen)}")
        return st, summ

    # -- A: echo servers on memif --
    def case_a(self, kind, tag):
        """bypass-udpd (udpd) or testpmd 5tswap as memif server; bypass-gen at max."""
        warm, dur = self.a.warmup, self.a.duration
        server = self.start_memif_server("udpd" if kind == "bypass" else "5tswap", tag)
        gen = self.run_gen(configs.memif_device("client", self.ws.sock), tag, warm + dur)
        share = self.measure_window([server, gen], lambda: "stream(s) on" in gen.text(), warm, dur, gen)
        # The server stops while still connected (bypass-gen holds the link):
        # its final stats cover the run (testpmd's --record-core-cycles line
        # needs its port counters, which memif clears when the peer leaves).
        stext = self.finish_memif(server, gen, warm + dur + 60)
        st, summ = self.gen_rates(gen, warm)
        if kind == "bypass":
            rates, final, cycles = udpd_results(server)
        else:
            rates, final, cycles = (parsers.testpmd_seconds(stext), None,
                                    parsers.testpmd_cycles_per_packet(stext))
        srv = parsers.active_mean(rates, 0)
        out = {"mpps": round(st["rx_mpps"], 4), "gen_tx_mpps": round(st["tx_mpps"], 4),
               "server_rx_mpps": rounded(srv),
               # in the measured seconds (the run's end, after the server left, is not)
               "loss_pct": (round(100.0 * max(0.0, 1 - st["rx_mpps"] / st["tx_mpps"]), 4)
                            if st["tx_mpps"] else None),
               "latency_us": summ["latency_us"], "samples_mpps": st["samples_rx_mpps"]}
        if kind == "bypass":
            out["server_final"] = final
        out["server_cycles_per_pkt"] = cycles
        out.update(share)
        return out

    # -- B: sockets on loopback --
    def case_b(self, kind, tag):
        """bypass-udpd sockets backend on 127.0.0.1, bypass-client flood."""
        server = self.start_udpd_sockets("127.0.0.1", self.udp_port, "sockets-lo", tag)
        wait_for(lambda: "serving UDP" in server.text(), 20, server, "bypass-udpd to serve")
        dur = self.a.duration
        cli = self.start(f"{tag}-gen", [self.bin["bypass-client"], "flood", "127.0.0.1",
                                        str(self.udp_port), "-d", str(dur),
                                        "--cpus", str(self.a.gen_cpu)], "gen", self.a.gen_cpu)
        share = self.measure_window([server, cli], lambda: True, min(0.5, dur / 4), dur * 0.8, cli)
        if cli.wait(dur + 30) is None:
            raise TrialFailed("bypass-client flood did not finish")
        f = parsers.flood_result(cli.text())
        if not f or f.get("received", 0) <= 0:
            raise TrialFailed(f"no echoes: {tail(cli)}")
        time.sleep(1.2)
        server.stop()
        rates, final, _ = udpd_results(server)
        srv = parsers.active_mean(rates, 0)
        out = {"mpps": round(f["received_pps"] / 1e6, 4), "gen_tx_mpps": round(f["sent_pps"] / 1e6, 4),
               "server_rx_mpps": rounded(srv), "loss_pct": loss_pct(f["lost"], f["sent"]),
               "latency_us": f.get("latency_us"), "flood": f, "server_final": final}
        out.update(share)
        return out

    # -- C: veth between two namespaces --
    def setup_veth(self):
        self.veth = VethPair(self.ws, PID)

    def xdp_device(self, ifname):
        return f"net_af_xdp0,iface={ifname},start_queue=0,queue_count=1"

    def c_server(self, kind, tag):
        v = self.veth
        if kind == "af_xdp":
            p = self.start_udpd_dpdk(self.xdp_device(v.if_s), "udpd-xdp", tag, netns=v.ns_s,
                                     bpffs=True)
            wait_for(lambda: "serving UDP" in p.text(), 30, p, "bypass-udpd (AF_XDP) to serve")
            self.xdp_mode = v.xdp_mode()
        else:
            p = self.start_udpd_sockets("198.18.0.2", 7, "sockets-veth", tag, netns=v.ns_s)
            wait_for(lambda: "serving UDP" in p.text(), 20, p, "bypass-udpd (sockets) to serve")
        return p

    def case_c(self, kind, tag, rate):
        warm, dur = self.a.warmup, self.a.duration
        server = self.c_server(kind, tag)
        snmp0 = udp_snmp(self.veth.ns_s)
        gen = self.run_gen(self.xdp_device(self.veth.if_g), tag, warm + dur, rate=rate,
                           netns=self.veth.ns_g)
        share = self.measure_window([server, gen], lambda: "stream(s) on" in gen.text(), warm, dur, gen)
        if gen.wait(warm + dur + 60) is None:
            raise TrialFailed("bypass-gen did not finish")
        st, summ = self.gen_rates(gen, warm)
        time.sleep(1.2)
        server.stop()
        rates, final, _ = udpd_results(server)
        srv = parsers.active_mean(rates, 0)
        snmp1 = udp_snmp(self.veth.ns_s)
        drops = (snmp1.get("RcvbufErrors", 0) - snmp0.get("RcvbufErrors", 0)
                 if kind == "sockets" and snmp0 and snmp1 else None)
        out = {"mpps": round(st["rx_mpps"], 4), "gen_tx_mpps": round(st["tx_mpps"], 4),
               "offered_mpps": round(rate / 1e6, 4) if rate else None,
               "server_rx_mpps": rounded(srv), "loss_pct": loss_pct(summ["lost"], summ["sent"]),
               "latency_us": summ["latency_us"], "samples_mpps": st["samples_rx_mpps"],
               "server_final": final, "server_udp_rcvbuf_errors": drops}
        out.update(share)
        return out

    def calibrate_c(self):
        """The offered load of C: 90 % of the lower of bypass-gen's max send rates
        against either server (on veth the receiver's kernel work runs on the
        sender's CPU, so the generator's own maximum depends on the server)."""
        if self.a.c_rate != "auto":
            self.c_rate = float(self.a.c_rate)
            return
        rates = {}
        for kind in ("af_xdp", "sockets"):
            try:
                warm, dur = 1, 2
                self.c_server(kind, f"Ccal-{kind}")
                gen = self.run_gen(self.xdp_device(self.veth.if_g), f"Ccal-{kind}", warm + dur,
                                   netns=self.veth.ns_g)
                if gen.wait(warm + dur + 60) is None:
                    raise TrialFailed("bypass-gen did not finish")
                st = parsers.gen_steady(gen.text(), warm)
                if st:
                    rates[kind] = st["tx_mpps"] * 1e6
            except Exception as e:
                log(f"bench-compare: C calibration against {kind} failed: {e}")
            finally:
                self.procs.stop_all()
        self.c_calibration = {k: round(v / 1e6, 4) for k, v in rates.items()}
        if rates:
            self.c_rate = 0.9 * min(rates.values())
            log(f"bench-compare: C offered load {self.c_rate / 1e6:.3f} Mpps (90% of the lower "
                f"bypass-gen max: {self.c_calibration} Mpps)")

    # -- D, D0, D1: generators on memif --
    def case_d(self, kind, tag, peer):
        """Generator TX rate on memif: bypass-gen (max) or testpmd txonly/flowgen;
        the peer is testpmd io (reflects) or rxonly (drains) on the server CPU."""
        warm, dur = self.a.warmup, self.a.duration
        server = self.start_memif_server(peer, tag)
        if kind == "bypass-gen":
            gen = self.run_gen(configs.memif_device("client", self.ws.sock), tag, warm + dur)
            share = self.measure_window([server, gen], lambda: "stream(s) on" in gen.text(),
                                        warm, dur, gen)
            stext = self.finish_memif(server, gen, warm + dur + 60)
            st, summ = parsers.gen_steady(gen.text(), warm), parsers.gen_summary(gen.text())
            if not st or not summ:
                raise TrialFailed(f"no rates from bypass-gen: {tail(gen)}")
            tx, rx = st["tx_mpps"], st["rx_mpps"]
            lat = summ["latency_us"]
        else:
            # 60-byte frames: 64 with the FCS, as bypass-gen's size = 64
            mode = "flowgen" if kind == "testpmd-flowgen" else "txonly"
            gen = self.start(f"{tag}-gen", self.testpmd_argv("client", mode, mode, ["--txpkts=60"]),
                             "gen", self.a.gen_cpu)
            share = self.measure_window(
                [server, gen], lambda: any(s[1] > 0 for s in parsers.testpmd_seconds(gen.text())),
                warm, dur, gen)
            time.sleep(1.5)
            gen.stop(signal.SIGINT)  # the generator leaves first, cleanly
            tx = parsers.active_mean(parsers.testpmd_seconds(gen.text()), 1, skip=warm, keep=dur)
            if not tx:
                raise TrialFailed(f"no rates from testpmd txonly: {tail(gen)}")
            rx, lat = None, None
            time.sleep(1.2)
            server.stop()
            stext = server.text()
        srv = parsers.active_mean(parsers.testpmd_seconds(stext), 0)
        out = {"mpps": round(tx, 4), "gen_rx_mpps": rounded(rx), "server_rx_mpps": rounded(srv),
               "latency_us": lat, "peer": f"testpmd {peer}"}
        out.update(share)
        return out

    # -- L: latency at a share of each server's maximum --
    def latency_bypass(self, kind, tag, rate):
        server = self.start_memif_server("udpd", tag)
        dur = self.a.duration
        gen = self.run_gen(configs.memif_device("client", self.ws.sock), tag, dur, rate=rate)
        self.finish_memif(server, gen, dur + 60)
        summ = parsers.gen_summary(gen.text())
        if not summ or not summ["received"]:
            raise TrialFailed(f"no latency from bypass-gen: {tail(gen)}")
        return {"offered_mpps": round(rate / 1e6, 4), "mpps": round(summ["rx_mpps"], 4),
                "gen_tx_mpps": round(summ["tx_mpps"], 4),
                "loss_pct": loss_pct(summ["lost"], summ["sent"]), "latency_us": summ["latency_us"]}

    def latency_sockets(self, kind, tag, rate):
        server = self.start_udpd_sockets("127.0.0.1", self.udp_port, "sockets-lo", tag, ["-q"])
        wait_for(lambda: "serving UDP" in server.text(), 20, server, "bypass-udpd to serve")
        dur = self.a.duration
        cli = self.start(f"{tag}-gen", [self.bin["bypass-client"], "flood", "127.0.0.1",
                                        str(self.udp_port), "-d", str(dur), "-r", f"{rate:.0f}",
                                        "--cpus", str(self.a.gen_cpu)], "gen", self.a.gen_cpu)
        if cli.wait(dur + 30) is None:
            raise TrialFailed("bypass-client flood did not finish")
        f = parsers.flood_result(cli.text())
        if not f or not f.get("received") or not f.get("latency_us"):
            raise TrialFailed(f"no latency from bypass-client flood: {tail(cli)}")
        server.stop()
        return {"offered_mpps": round(rate / 1e6, 4), "mpps": round(f["received_pps"] / 1e6, 4),
                "gen_tx_mpps": round(f["sent_pps"] / 1e6, 4),
                "loss_pct": loss_pct(f["lost"], f["sent"]), "latency_us": f["latency_us"]}


class FwdCase:
    """bench-fwd's trial: a forwarder in 5tswap mode (bypass-fwd or testpmd) on
    one CPU as the net_memif server, a testpmd generator (options.gen: txonly
    or flowgen) as the client on another CPU; or, with gen "null", the
    forwarder alone on a net_null port. Rates come from the forwarder's own
    per-second stats: bypass-fwd's --stats-json file, testpmd's blocks."""

    def __init__(self, o, ws, procs, bypass_fwd, testpmd, huge):
        self.o, self.ws, self.procs = o, ws, procs
        self.bypass_fwd, self.testpmd, self.huge = bypass_fwd, testpmd, huge
        self.config = ws.path("bypass-fwd.toml")

    def device(self):
        if self.o.gen == "null":
            return f"net_null0,size={self.o.size}"
        return configs.memif_device("server", self.ws.sock)

    def write_config(self):
        with open(self.config, "w") as f:
            f.write(configs.fwd_toml(self.o.fwd_cpu, self.ws.prefix("bypass"), self.huge,
                                     self.device(), self.o.tx_retries))

    def start_forwarder(self, kind, idx):
        self.ws.remove_socket()
        log_path = self.ws.path(f"{kind}-{idx}.log")
        if kind == "bypass":
            stats = self.ws.path(f"{kind}-{idx}.stats.json")
            argv = [self.bypass_fwd, "-c", self.config, "--stats-json", stats]
        else:
            stats = None
            argv = configs.testpmd_argv(self.testpmd, self.o.fwd_cpu, self.ws.prefix("testpmd"),
                                        self.huge, self.device(),
                                        configs.testpmd_forwarding("5tswap", 16383))
        p = self.procs.start(f"{kind}-{idx}", argv, log_path, self.o.fwd_cpu, "server",
                             nice=self.o.nice)
        p.stats_json = stats
        return p

    def start_generator(self, kind, idx):
        argv = configs.testpmd_argv(
            self.testpmd, self.o.gen_cpu, self.ws.prefix("gen"), self.huge,
            configs.memif_device("client", self.ws.sock),
            configs.testpmd_forwarding(self.o.gen, 32767, [f"--txpkts={self.o.size}"]))
        return self.procs.start(f"gen-{kind}-{idx}", argv, self.ws.path(f"gen-{kind}-{idx}.log"),
                                self.o.gen_cpu, "gen", nice=self.o.nice)

    @staticmethod
    def has_traffic(fwd):
        """A per-second sample of the forwarder with a non-zero RX rate."""
        if fwd.stats_json:
            return parsers.stats_has_traffic(parsers.read_stats_json(fwd.stats_json))
        return parsers.testpmd_has_traffic(fwd.text())

    def run(self, kind, idx):
        """One trial; TrialFailed (after printing the logs' tails) when the
        forwarder opens no socket or no traffic arrives within 30 s."""
        o = self.o
        fwd, gen = self.start_forwarder(kind, idx), None
        if o.gen != "null":
            if not wait_until(lambda: is_socket(self.ws.sock), 30, fwd):
                print_tail(fwd.log)
                raise TrialFailed(f"{kind} did not open the memif socket {self.ws.sock} (log above)")
            gen = self.start_generator(kind, idx)
        if not wait_until(lambda: self.has_traffic(fwd), 30, fwd):
            if gen:
                print_tail(gen.log)
            print_tail(fwd.log)
            raise TrialFailed(f"no traffic reached {kind} within 30 s (logs above)")
        # The sample that showed traffic is partial; warm-up and measured seconds
        # follow, then room for the last sample to print (testpmd's come every 2 s).
        procs = [p for p in (fwd, gen) if p]
        time.sleep(o.warmup)
        s0 = sched_snapshot(procs)
        time.sleep(o.duration)
        s1 = sched_snapshot(procs)
        time.sleep(4 if kind == "testpmd" else 2)
        self.procs.stop_all()
        self.ws.remove_socket()
        load = os.getloadavg()[0]
        t = self.measure(kind, fwd, gen, s0, s1)
        t["trial"] = idx
        t["loadavg_1min_at_start"] = load
        return t

    def measure(self, kind, fwd, gen, s0, s1):
        o, warm, dur = self.o, self.o.warmup, self.o.duration
        # What counts: RX with txonly (TX is refused once the return ring is full),
        # TX with flowgen (the generator drains the return ring).
        primary = 0 if o.gen == "txonly" else 1
        gen_primary = 1 - primary  # the generator's view: what it sent / got back
        ftext = fwd.text()
        if kind == "bypass":
            objs = parsers.read_stats_json(fwd.stats_json)
            fs = parsers.stats_intervals(objs)
        else:
            fs = parsers.testpmd_samples(ftext, primary)
        w = parsers.steady_window(fs, primary, warm, dur)
        secs, rx, tx = parsers.window_rates(w)
        gs = [] if gen is None else parsers.testpmd_samples(gen.text(), gen_primary)
        gsecs, grx, gtx = parsers.window_rates(parsers.steady_window(gs, gen_primary, warm, dur))
        t = {"forwarder": kind, "mpps": round(rx if primary == 0 else tx, 4),
             "forwarder_cpu_share": cpu_share(s0, s1, fwd.name, 4),
             "generator_cpu_share": cpu_share(s0, s1, gen.name, 4) if gen else None,
             "rx_mpps": round(rx, 4), "tx_mpps": round(tx, 4), "measured_s": round(secs, 3),
             "samples_mpps": [round(x[1 + primary] / x[0] / 1e6, 3) for x in w if x[0] > 0],
             "generator_mpps": round(gtx if gen_primary == 1 else grx, 4) if gs else None,
             "generator_measured_s": round(gsecs, 3)}
        share = t["forwarder_cpu_share"]
        # Alone on its CPU-bound null port, a forwarder's rate scales with the CPU
        # time it gets: per full CPU = rate / share. (Not so with memif, where the
        # generator must run at the same time.)
        t["mpps_per_full_cpu"] = round(t["mpps"] / share, 4) if o.gen == "null" and share else None
        if kind == "bypass":
            final = parsers.stats_final(objs)
            if final:
                t["final"] = parsers.run_totals(final)
                # The share of the worker's polls that found packets (whole run): far
                # below 100%, the forwarder waited for packets and was not the limit.
                t["busy_polls_pct"] = parsers.busy_polls_pct(final)
        else:
            dropped = parsers.testpmd_tx_dropped(ftext)
            if dropped is not None:
                t["final"] = {"tx_dropped": dropped}
        return t
