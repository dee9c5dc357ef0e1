"""Benchmark: generate 10k / 100k / 1M deals with `sample`, then time loading and each report.

Not a test. Run: python benchmarks/bench.py [--sizes 10000 100000 1000000] [--workdir bench-data]
Prints load time, compute time per report and peak memory (ru_maxrss of a fresh process per size).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from salesreport.config import find_config, load_config
from salesreport.engine.funnel import build_facts
from salesreport.sources.canonical import load_dataset
from salesreport.periods import parse_day, parse_month, parse_week
from salesreport.report.build import build_report

folder = sys.argv[1]
out = {}
t = time.perf_counter()
config = load_config(find_config(None, data=folder))
ds = load_dataset(folder, config)
out["read_s"] = time.perf_counter() - t
t = time.perf_counter()
facts = build_facts(ds, config)
out["facts_s"] = time.perf_counter() - t
for name, parse, text in (("monthly", parse_month, "2026-10"), ("weekly", parse_week, "2026-W46"),
                          ("daily", parse_day, "2026-11-18")):
    t = time.perf_counter()
    build_report(name, facts, config, parse(text, config))
    out[name + "_s"] = time.perf_counter() - t
out["rows"] = {"deals": len(ds.deals), "stage_history": len(ds.history), "activities": len(ds.activities)}
out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=Path("bench-data"))
    args = parser.parse_args()
    print(f"{'deals':>9} {'gen s':>7} {'read s':>7} {'facts s':>8} {'monthly s':>10} {'weekly s':>9} "
          f"{'daily s':>8} {'peak MiB':>9}  rows (history, activities)")
    for size in args.sizes:
        folder = args.workdir / f"deals-{size}"
        t = time.perf_counter()
        if not (folder / "deals.csv").exists():
            subprocess.run([sys.executable, "-m", "salesreport", "sample", "--out", str(folder), "--deals", str(size),
                            "--seed", "1", "--end", date(2026, 11, 22).isoformat()], check=True)
        gen = time.perf_counter() - t
        proc = subprocess.run([sys.executable, "-c", CHILD, str(folder)], check=True, capture_output=True, text=True)
        r = json.loads(proc.stdout)
        print(f"{size:>9,} {gen:>7.1f} {r['read_s']:>7.1f} {r['facts_s']:>8.2f} {r['monthly_s']:>10.2f} "
              f"{r['weekly_s']:>9.2f} {r['daily_s']:>8.2f} {r['peak_mib']:>9.0f}  "
              f"{r['rows']['stage_history']:,}, {r['rows']['activities']:,}", flush=True)


if __name__ == "__main__":
    main()
