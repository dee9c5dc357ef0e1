"""Benchmark: each report as a user runs it, beside the floor — DuckDB merely loading the same CSVs.

Not a test. Run: python benchmarks/bench.py [--sizes 10000 100000 1000000] [--workdir bench-data]
                                            [--reports monthly quarterly weekly daily team] [--breakdown]
                                            [--converted [--spark]] [--repeat N]

For each size it generates the data with `salesreport sample --deals N --seed 1` (once; kept in --workdir),
then, each in a fresh process so that wall time and peak memory (the child's own ru_maxrss) are its own:
- floor: DuckDB reading the four CSVs into typed tables (read_csv with type detection), nothing else;
- every report: `salesreport REPORT --data DIR --format json`, start-up and import time included.
`--repeat N` runs the floor and the reports in N interleaved rounds and prints medians (the floor alone moves
by a third between runs on a shared machine); `--breakdown` adds an in-process split of one weekly run (read,
facts, report) to see where time goes;
`--converted` converts each set once to Parquet and to a DuckDB file (`salesreport convert`) and runs every
report on those too; `--spark` adds each report on local Spark (`--engine pyspark`) over the Parquet files.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

TABLES = ("deals", "stage_history", "activities", "reps")
PERIODS = {"monthly": ("--month", "2026-10"), "quarterly": ("--quarter", "2026-Q3"), "weekly": ("--week", "2026-W46"),
           "daily": ("--date", "2026-11-18"), "team": ("--month", "2026-10")}

FLOOR = r"""
import sys, duckdb
folder = sys.argv[1]
con = duckdb.connect()
for table in ("deals", "stage_history", "activities", "reps"):
    con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv(?)", [f"{folder}/{table}.csv"])
    con.execute(f"SELECT count(*) FROM {table}").fetchone()
"""

BREAKDOWN = r"""
import json, sys, time
from salesreport.config import find_config, load_config
from salesreport.engine.funnel import build_facts
from salesreport.periods import parse_week
from salesreport.report.build import build_report
from salesreport.sources.canonical import load_dataset

folder = sys.argv[1]
out = {}
t = time.perf_counter()
config = load_config(find_config(None, data=folder))
ds = load_dataset(folder, config)
out["read_s"] = time.perf_counter() - t
t = time.perf_counter()
facts = build_facts(ds, config)
out["facts_s"] = time.perf_counter() - t
t = time.perf_counter()
build_report("weekly", facts, config, parse_week("2026-W46", config))
out["report_s"] = time.perf_counter() - t
print(json.dumps(out))
"""


def measure(argv: list[str]) -> tuple[float, float, str]:
    """Run a command in a fresh process: (wall seconds, its own peak RSS in MiB from wait4, stdout)."""
    t = time.perf_counter()
    # stderr goes to a file, stdout is read to its end before reaping: neither pipe can fill and block the child
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err)
        out = proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv[:6])} failed ({proc.returncode}):\n{err.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, out.decode()


def generate(folder: Path, size: int) -> float:
    t = time.perf_counter()
    if not (folder / "deals.csv").exists():
        subprocess.run([sys.executable, "-m", "salesreport", "sample", "--out", str(folder), "--deals", str(size),
                        "--seed", "1", "--end", date(2026, 11, 22).isoformat()], check=True)
    return time.perf_counter() - t


def _spread(values: list[float], unit: str) -> str:
    """The range of a measure over the rounds, when there are several."""
    return f"   {min(values):.2f}–{max(values):.2f} {unit}" if len(values) > 1 else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=Path("bench-data"))
    parser.add_argument("--reports", nargs="+", default=list(PERIODS), choices=list(PERIODS))
    parser.add_argument("--breakdown", action="store_true", help="also split one weekly run into read/facts/report")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of the floor and the reports (medians printed): the floor alone varies by a "
                             "third from run to run on a shared machine")
    parser.add_argument("--converted", action="store_true",
                        help="also convert each set to Parquet and to a DuckDB file, and run the reports on those")
    parser.add_argument("--spark", action="store_true",
                        help="with --converted, also run the reports on local Spark over the Parquet files")
    args = parser.parse_args()
    for size in args.sizes:
        folder = args.workdir / f"deals-{size}"
        gen = generate(folder, size)
        mib = sum((folder / f"{t}.csv").stat().st_size for t in TABLES) / 2**20
        rounds = []  # each round: the floor, then every report, so that a slow spell of the machine hits both
        for _ in range(args.repeat):
            floor = measure([sys.executable, "-c", FLOOR, str(folder)])[:2]
            reports = {}
            for report in args.reports:
                option, value = PERIODS[report]
                reports[report] = measure([sys.executable, "-m", "salesreport", report, "--data", str(folder),
                                           option, value, "--format", "json"])[:2]
            rounds.append((floor, reports))
        floor_s = statistics.median(floor[0] for floor, _ in rounds)
        print(f"\n{size:,} deals ({mib:,.0f} MiB of CSV; generated in {gen:.0f} s)", flush=True)
        if args.repeat > 1:
            print(f"  median of {args.repeat} rounds; peak: the largest; × floor: the median of each round's ratio "
                  "(its range after it)")
        print(f"  {'what':<28} {'wall s':>8} {'peak MiB':>9} {'× floor':>8}")
        floors = [floor for floor, _ in rounds]
        print(f"  {'floor: DuckDB loads the CSVs':<28} {floor_s:>8.2f} {max(m for _, m in floors):>9.0f} {1:>8.1f}"
              + _spread([w for w, _ in floors], "s"), flush=True)
        for report in args.reports:
            runs = [reports[report] for _, reports in rounds]
            ratios = [reports[report][0] / floor[0] for floor, reports in rounds]
            print(f"  {'salesreport ' + report:<28} {statistics.median(w for w, _ in runs):>8.2f} "
                  f"{max(m for _, m in runs):>9.0f} {statistics.median(ratios):>8.1f}" + _spread(ratios, "×"),
                  flush=True)
        if args.converted:  # measured once, against the median floor
            config = str(folder / "salesreport.toml")
            for kind, target in (("Parquet", args.workdir / f"deals-{size}-parquet"),
                                 ("DuckDB file", args.workdir / f"deals-{size}.duckdb")):
                wall, peak, _ = measure([sys.executable, "-m", "salesreport", "convert", "--data", str(folder),
                                         "--out", str(target)])
                print(f"  {'convert to ' + kind:<28} {wall:>8.2f} {peak:>9.0f} {wall / floor_s:>8.1f}", flush=True)
                for report in args.reports:
                    option, value = PERIODS[report]
                    wall, peak, _ = measure([sys.executable, "-m", "salesreport", report, "--data", str(target),
                                             "--config", config, option, value, "--format", "json"])
                    print(f"  {report + ' on ' + kind:<28} {wall:>8.2f} {peak:>9.0f} {wall / floor_s:>8.1f}",
                          flush=True)
                    if args.spark and kind == "Parquet":  # the JVM's memory is not the child's: wall time only
                        wall, _, _ = measure([sys.executable, "-m", "salesreport", report, "--data", str(target),
                                              "--config", config, option, value, "--format", "json",
                                              "--engine", "pyspark"])
                        print(f"  {report + ' on Spark (local)':<28} {wall:>8.2f} {'—':>9} {wall / floor_s:>8.1f}",
                              flush=True)
        if args.breakdown:
            _, _, out = measure([sys.executable, "-c", BREAKDOWN, str(folder)])
            split = json.loads(out.strip().splitlines()[-1])
            print("  weekly in process: " + ", ".join(f"{k[:-2]} {v:.2f} s" for k, v in split.items()), flush=True)


if __name__ == "__main__":
    main()
