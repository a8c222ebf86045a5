"""Unit tests of bench/bypassbench (the code of scripts/bench-compare and
scripts/bench-fwd). No root, no DPDK: they run on literal sample outputs.

    python3 -m unittest discover -s tests/bench -t .
"""
