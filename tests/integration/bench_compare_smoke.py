#!/usr/bin/env python3
"""scripts/bench-compare works from this build: one short repetition of cases
A (bypass-udpd and testpmd on memif), B (sockets on loopback) and D1 (both
generators on memif) must each finish with rates and write the JSON and the
chart. No rate is checked against anything: speed lives in the benchmark."""
import json
import os
import subprocess
import sys
import tempfile


def main():
    root = os.environ["BYPASS_SOURCE_ROOT"]
    # BYPASS_GEN is <build>/apps/gen/bypass-gen
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.environ["BYPASS_GEN"].rstrip("/"))))
    with tempfile.TemporaryDirectory(prefix="bench-compare-smoke-") as d:
        out_json, out_svg = os.path.join(d, "bc.json"), os.path.join(d, "bc.svg")
        argv = [sys.executable, os.path.join(root, "scripts", "bench-compare"), "--reps", "1",
                "--duration", "2", "--warmup", "1", "--cases", "A,B,D1",
                "--json", out_json, "--svg", out_svg]
        if os.environ.get("BYPASS_TEST_NO_HUGE") == "1":
            argv += ["--huge", "no"]
        env = dict(os.environ, BUILD=build)
        p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
        print(p.stdout[-4000:])
        print(p.stderr[-4000:], file=sys.stderr)
        failures = []
        if p.returncode != 0:
            failures.append(f"bench-compare exited with {p.returncode}")
        if "ratio" not in p.stdout:
            failures.append("no table in the output")
        doc = {}
        try:
            with open(out_json) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            failures.append(f"no JSON: {e}")
        rows = {(r["case"], r["kind"]): r for r in doc.get("throughput", [])}
        for key in (("A", "bypass"), ("A", "testpmd"), ("B", "sockets"), ("D1", "bypass-gen"),
                    ("D1", "testpmd-flowgen")):
            r = rows.get(key)
            if not r or r.get("failed") or not r.get("mpps") or r["mpps"]["median"] <= 0:
                failures.append(f"case {key[0]} {key[1]}: no rate ({r and r.get('errors')})")
        a = rows.get(("A", "bypass"), {})
        if not (a.get("server_cycles_per_pkt") or {}).get("median"):
            failures.append("case A: bypass-udpd reported no cycles per packet")
        if not os.path.exists(out_svg) or os.path.getsize(out_svg) < 200:
            failures.append("no SVG chart")
        for f in failures:
            print("FAIL:", f, file=sys.stderr)
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
