"""The config files and command lines the benchmarks start programs with:
bypass-udpd, bypass-gen and bypass-fwd TOML, and dpdk-testpmd's arguments.
`huge`: huge pages (256 MB, unlinked at once so a killed process leaves no
files) or none (512 MB of ordinary memory)."""

MEMIF_DEV = "net_memif0,role={role},socket={sock},socket-abstract=no"


def memif_device(role, sock):
    return MEMIF_DEV.format(role=role, sock=sock)


def eal_toml(cpu, prefix, huge):
    mem = 256 if huge else 512
    args = '["--huge-unlink"]' if huge else "[]"
    return (f'[eal]\ncontrol_cpu = {cpu}\nfile_prefix = "{prefix}"\n'
            f'huge_pages = {"true" if huge else "false"}\nmemory_mb = {mem}\n'
            f'args = {args}\n')


def udpd_dpdk_toml(cpu, prefix, huge, device):
    """bypass-udpd on one DPDK port, 198.18.0.2/24, echo on UDP port 7."""
    return (eal_toml(cpu, prefix, huge) +
            f'\n[[port]]\nname = "p0"\ndevice = "{device}"\naddresses = ["198.18.0.2/24"]\n'
            f'\n[[worker]]\ncpu = {cpu}\n\n[[udpd.service]]\nport = 7\nhandler = "echo"\n')


def udpd_sockets_toml(cpu, addr, port):
    """bypass-udpd's sockets backend, one worker, echo on addr:port."""
    return (f'[[worker]]\ncpu = {cpu}\n\n[udpd]\nbackend = "sockets"\n'
            f'bind = ["{addr}"]\n\n[[udpd.service]]\nport = {port}\nhandler = "echo"\n')


def gen_toml(cpu, prefix, huge, device):
    """bypass-gen at max rate, 64-byte UDP to 198.18.0.2:7 from 1024 source ports
    of 198.18.0.1, an address its port answers ARP for (a kernel server asks)."""
    return (eal_toml(cpu, prefix, huge) +
            f'\n[[port]]\nname = "p0"\ndevice = "{device}"\naddresses = ["198.18.0.1/24"]\n'
            f'\n[[worker]]\ncpu = {cpu}\n'
            f'\n[gen]\nrate = "max"\nlink_mbps = 100000\n\n[[gen.stream]]\nname = "udp64"\n'
            f'dst = "198.18.0.2"\ndport = 7\nsport = "1024-2047"\nsize = 64\n')


def fwd_toml(cpu, prefix, huge, device, tx_retries=""):
    """bypass-fwd in 5tswap mode, its one port looped back to itself."""
    unlink = 'args = ["--huge-unlink"]' if huge else ""
    retries = f"tx_retries = {tx_retries}" if tx_retries else ""
    return (f'# written by scripts/bench-fwd\n[eal]\ncontrol_cpu = {cpu}\n'
            f'huge_pages = {"true" if huge else "false"}\nmemory_mb = {256 if huge else 512}\n'
            f'file_prefix = "{prefix}"\n{unlink}\n'
            f'\n[[port]]\nname = "p0"\ndevice = "{device}"\n'
            f'\n[[worker]]\ncpu = {cpu}\nrx = ["p0"]\n'
            f'\n[fwd]\nmode = "5tswap"\ntopology = "loop"\n{retries}\n')


def testpmd_memory(huge):
    return ["-m", "256", "--huge-unlink"] if huge else ["--no-huge", "-m", "512"]


def testpmd_argv(testpmd, cpu, prefix, huge, device, app_args):
    """dpdk-testpmd with its control and one forwarding lcore on one CPU and one
    virtual device; app_args go after `--`."""
    return ([testpmd, "--lcores", f"(0,1)@{cpu}", "--main-lcore", "0", "--file-prefix", prefix]
            + testpmd_memory(huge) + ["--no-pci", "--no-telemetry", "--vdev", device, "--"]
            + list(app_args))


def testpmd_forwarding(mode, mbufs, extra=()):
    """testpmd's own arguments: one core, one queue each way, bursts of 32,
    a block of stats a second."""
    return ([f"--forward-mode={mode}", "--nb-cores=1", "--rxq=1", "--txq=1", "--burst=32"]
            + list(extra) + [f"--total-num-mbufs={mbufs}", "--stats-period", "1"])
