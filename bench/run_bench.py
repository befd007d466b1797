"""`make bench`: what users run, timed in one session, written to docs/performance.md.

1. The reconstructed sample (`iom sample --year 2011 --year 2013` into a fresh data directory),
   launched alternately as `iom run --year 2013` and as Dagster launches it
   (`dagster asset materialize -m iom_pipeline.definitions --select '*' --partition 2013`),
   several runs each: median wall time and peak memory.
2. Generated exports of 10k, 100k and 1M rows whose responding CSPs grow with the rows
   (about 900,000 at 1M), each through `iom run --year 2013` on a fresh warehouse, against the
   plain pandas script (bench/pandas_baseline.py), DuckDB's bare read of the CSV, and the floor
   of the tables the layers and the contract require (bench/layer_floor.py); the pipeline's
   question_summary is compared with the script's.
3. Per-step times (STEP_START to STEP_SUCCESS) and each SQL model's `build_seconds`, read after
   each run from the Dagster instance's event log with Dagster's public API.

Every command runs in its own process. Peak memory is the whole process tree's: the resident
memory of the command and every process it starts, summed, sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = ROOT / ".venv" / "bin"
YEAR = 2013
SAMPLE_RUNS = 4  # per launcher, alternating
SIZES = (10_000, 100_000, 1_000_000)
# Nearly every row a different CSP, so the per-return models work on about 900k returns at 1M
# rows (the 2013 shape, 3.5 rows per CSP and 63 % responding, gives under 200k).
RESPONSE_RATE = 0.92


# -- measuring a process tree -------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, IndexError, ValueError):
        return 0


def _tree_rss_kb(root: int) -> int:
    tree, total, pending = _children(), 0, [root]
    while pending:
        pid = pending.pop()
        total += _rss_kb(pid)
        pending.extend(tree.get(pid, ()))
    return total


def measure(cmd: list[str], env: dict | None = None, cwd: Path = ROOT, check: bool = True) -> dict:
    """Wall seconds and peak memory (MB) of the whole process tree of one command.

    With `check=False` a non-zero exit is recorded (`exit`, `output`) instead of raised: `iom run`
    exits 1 when a blocking check fails, after doing all the work being timed.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = proc.communicate()[0]
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0 and check:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{output[-4000:]}")
    return {"wall": wall, "peak_mb": peak / 1024, "exit": proc.returncode, "output": output[-2000:]}


# -- what the Dagster instance recorded ------------------------------------------------------------


def run_timings(dagster_home: Path) -> dict:
    """Per-step and per-model seconds of the instance's latest run, from its event log."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        started: dict[str, float] = {}
        steps: dict[str, float] = {}
        models: dict[str, float] = {}
        first = last = None
        for entry in instance.all_logs(run.run_id):
            first = entry.timestamp if first is None else first
            last = entry.timestamp
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                started[entry.step_key] = entry.timestamp
            elif event.event_type == dg.DagsterEventType.STEP_SUCCESS and entry.step_key in started:
                steps[entry.step_key] = entry.timestamp - started[entry.step_key]
            elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                materialization = entry.asset_materialization
                seconds = materialization.metadata.get("build_seconds")
                if seconds is not None:
                    models[materialization.asset_key.path[-1]] = float(seconds.value)
    return {"run_id": run.run_id, "status": run.status.value, "run_seconds": (last or 0) - (first or 0),
            "steps": steps, "models": models}


# -- the reconstructed sample -------------------------------------------------------------------


def run_sample(work: Path) -> dict:
    base = work / "sample"
    shutil.rmtree(base, ignore_errors=True)
    home = base / "dagster_home"
    env = {"IOM_DATA_DIR": str(base), "DAGSTER_HOME": str(home)}
    subprocess.run([str(BIN / "iom"), "sample", "--year", "2011", "--year", str(YEAR)], env={**os.environ, **env},
                   check=True, capture_output=True)
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    # The first run creates the warehouse and Dagster's storage and registers the partition.
    first = measure([str(BIN / "iom"), "run", "--year", str(YEAR)], env, check=False)
    launchers = {
        "iom run": [str(BIN / "iom"), "run", "--year", str(YEAR)],
        "dagster asset materialize": [str(BIN / "dagster"), "asset", "materialize", "-m", "iom_pipeline.definitions",
                                      "--select", "*", "--partition", str(YEAR)],
    }
    runs: dict[str, list[dict]] = {name: [] for name in launchers}
    for _ in range(SAMPLE_RUNS):
        for name, cmd in launchers.items():
            runs[name].append(measure(cmd, env, check=False))
    timings = run_timings(home)
    return {
        "first": first,
        "launchers": {
            name: {
                "median": statistics.median(r["wall"] for r in rs),
                "range": (min(r["wall"] for r in rs), max(r["wall"] for r in rs)),
                "peak_mb": max(r["peak_mb"] for r in rs),
                "failed": sum(r["exit"] != 0 for r in rs),
            }
            for name, rs in runs.items()
        },
        "timings": timings,
        "dagster_import": measure([PYTHON, "-c", "import dagster"])["wall"],
    }


# -- generated exports ----------------------------------------------------------------------------


def generate(size: int, landing: Path) -> dict:
    marker = landing / "generated.txt"
    spec = f"rows={size} csps={size} response_rate={RESPONSE_RATE} seed={YEAR}"
    if marker.exists() and marker.read_text() == spec and (landing / "SYNTHETIC.txt").exists():
        return {}
    shutil.rmtree(landing, ignore_errors=True)
    out = subprocess.run([PYTHON, "-m", "iom_synthetic.scale", "--rows", str(size), "--csps", str(size),
                          "--response-rate", str(RESPONSE_RATE), "--out", str(landing), "--seed", str(YEAR)],
                         check=True, cwd=ROOT, capture_output=True, text=True)
    marker.write_text(spec)
    return {"log": out.stdout}


def compare(pipeline_db: Path, baseline_csv: Path) -> str:
    import duckdb
    import pandas as pd

    con = duckdb.connect(str(pipeline_db), read_only=True)
    got = con.execute(f"select question_id, option_id, base_n, n from marts.question_summary where survey_year = {YEAR}").df()
    con.close()
    expected = pd.read_csv(baseline_csv, dtype={"option_id": str})[["question_id", "option_id", "base_n", "n"]]
    merged = got.merge(expected, on=["question_id", "option_id"], how="outer", suffixes=("", "_pandas"))
    same = len(merged) == len(got) == len(expected) and (merged["n"] == merged["n_pandas"]).all() and (
        merged["base_n"] == merged["base_n_pandas"]).all()
    return "equal" if same else f"DIFFERENT ({len(merged)} rows)"


def counted_returns(pipeline_db: Path) -> int:
    import duckdb

    con = duckdb.connect(str(pipeline_db), read_only=True)
    n = con.execute(f"select n from marts.question_summary where survey_year = {YEAR} and question_id = 'response'").fetchall()
    con.close()
    return int(n[0][0]) if n else 0


def run_size(size: int, work: Path) -> dict:
    base = work / f"{size}"
    landing = base / "landing" / str(YEAR)
    generate(size, landing)
    export = landing / "survey_export.csv"
    for leftover in ("warehouse", "publication", "work", "dagster_home", "pandas_out"):
        shutil.rmtree(base / leftover, ignore_errors=True)
    home = base / "dagster_home"
    env = {"IOM_DATA_DIR": str(base), "DAGSTER_HOME": str(home)}
    pipeline = measure([str(BIN / "iom"), "run", "--year", str(YEAR)], env, check=False)
    if pipeline["exit"] != 0:
        print(pipeline["output"], file=sys.stderr)
    timings = run_timings(home)
    out = base / "pandas_out"
    pandas = measure([PYTHON, str(ROOT / "bench" / "pandas_baseline.py"), "--landing", str(landing.parent),
                      "--year", str(YEAR), "--out", str(out)])
    bare_read = measure([PYTHON, "-c", "import duckdb, sys; duckdb.connect().execute("
                         "\"create table t as select * from read_csv(?, all_varchar = true)\", [sys.argv[1]]).fetchall()",
                         str(export)])
    layers = measure([PYTHON, str(ROOT / "bench" / "layer_floor.py"), "--landing", str(landing),
                      "--year", str(YEAR), "--out", str(base / "layer_floor")])
    # The warehouse, not the BI snapshot: a run stopped by a publication check still built the marts.
    warehouse = base / "warehouse" / "iom.duckdb"
    failures = [line.strip() for line in pipeline["output"].splitlines() if line.strip().startswith("check ")]
    return {
        "exit": pipeline["exit"],
        "failures": failures,
        "rows": size,
        "csv_mb": export.stat().st_size / 1e6,
        "responding": counted_returns(warehouse),
        "pipeline": pipeline,
        "pandas": pandas,
        "duckdb": bare_read,
        "layers": json.loads(layers["output"].strip().splitlines()[-1]),
        "timings": timings,
        "equal": compare(warehouse, out / "question_summary.csv"),
    }


# -- the report -----------------------------------------------------------------------------------


def _step_rows(results: list[dict]) -> list[str]:
    steps: list[str] = []
    for r in results:
        for name in r["timings"]["steps"]:
            if name not in steps:
                steps.append(name)
    steps.sort(key=lambda s: -results[-1]["timings"]["steps"].get(s, 0.0))
    lines = ["| step | " + " | ".join(f"{r['rows']:,} rows" for r in results) + " |",
             "|---|" + "---:|" * len(results)]
    for s in steps:
        lines.append(f"| {s} | " + " | ".join(f"{r['timings']['steps'].get(s, 0.0):.2f}" for r in results) + " |")
    return lines


def _model_rows(results: list[dict]) -> list[str]:
    models: list[str] = []
    for r in results:
        for name in r["timings"]["models"]:
            if name not in models:
                models.append(name)
    lines = ["| model | " + " | ".join(f"{r['rows']:,} rows" for r in results) + " |",
             "|---|" + "---:|" * len(results)]
    for m in models:
        lines.append(f"| {m} | " + " | ".join(f"{r['timings']['models'].get(m, 0.0):.2f}" for r in results) + " |")
    lines.append("| **all models** | " + " | ".join(f"{sum(r['timings']['models'].values()):.2f}" for r in results) + " |")
    return lines


def _floor_lines(results: list[dict]) -> list[str]:
    """The layers' floor, write by write, and, at the largest size, what half the pandas
    script's time leaves for the rules and checks once the floor and every run's own cost are paid."""
    by_size = sorted(results, key=lambda r: r["rows"])
    writes = list(dict.fromkeys(w for r in reversed(by_size) for w in r["layers"]["seconds"]))
    lines = ["", "### The layers' floor (seconds, bench/layer_floor.py)", "",
             "| write | " + " | ".join(f"{r['rows']:,} rows" for r in by_size) + " |", "|---|" + "---:|" * len(by_size)]
    for w in writes:
        cells = (f"{r['layers']['seconds'][w]:.2f}" if w in r["layers"]["seconds"] else "–" for r in by_size)
        lines.append(f"| {w} | " + " | ".join(cells) + " |")
    lines.append("| **all** | " + " | ".join(f"{r['layers']['total']:.2f}" for r in by_size) + " |")
    if len(by_size) > 1:
        small, large = by_size[0], by_size[-1]
        # What a run costs that does not grow with the data: the smallest run less its own floor
        # (an upper bound: the rules and checks of the smallest run are in it too).
        fixed = small["pipeline"]["wall"] - small["layers"]["total"]
        half = large["pandas"]["wall"] / 2
        floor = large["layers"]["total"]
        pipeline = large["pipeline"]["wall"]
        lines += ["", f"| at {large['rows']:,} rows | s |", "|---|---:|",
                  f"| half the pandas script's time (the target) | {half:.1f} |",
                  f"| the layers' floor | {floor:.1f} |",
                  f"| what every run costs whatever its size, at most: the {small['rows']:,}-row run less its floor "
                  f"| {fixed:.1f} |",
                  f"| the two together | {floor + fixed:.1f} |",
                  f"| left within the target for the rules, checks, figures and report as they grow, at least "
                  f"| {half - floor - fixed:.1f} |",
                  f"| the pipeline | {pipeline:.1f} |",
                  f"| what the pipeline spends on them as they grow, at least | {pipeline - floor - fixed:.1f} |"]
    return lines


def report(results: list[dict], sample: dict | None) -> str:
    lines = [
        "# Performance",
        "",
        f"Written by `make bench` (bench/run_bench.py) on this machine: {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d %H:%M')}. Each command runs in its own process; **peak MB** is the whole "
        "process tree's resident memory (the command and every process it starts, summed, sampled every 50 ms). "
        "`iom run` and `dagster asset materialize` execute the same job with the same in-process executor.",
        "",
    ]
    if sample:
        lines += [
            "## The reconstructed sample",
            "",
            f"`iom sample --year 2011 --year {YEAR}` into a fresh data directory; the first `iom run --year {YEAR}` "
            f"(which also creates the warehouse, Dagster's storage and the partition) took {sample['first']['wall']:.1f} s. "
            f"Then {SAMPLE_RUNS} runs of each launcher, alternating:",
            "",
            "| launcher | median s | range s | peak MB | runs that exited non-zero |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, s in sample["launchers"].items():
            lines.append(f"| `{name}` | {s['median']:.1f} | {s['range'][0]:.1f}-{s['range'][1]:.1f} | {s['peak_mb']:.0f} "
                         f"| {s['failed']} of {SAMPLE_RUNS} |")
        lines += ["", f"`import dagster` alone: {sample['dagster_import']:.1f} s.", ""]
    if results:
        lines += [
            "## Generated exports: the pipeline against the pandas script",
            "",
            f"`python -m iom_synthetic.scale --rows N --csps N --response-rate {RESPONSE_RATE} --seed {YEAR}`: nearly "
            "every row a different CSP, so the per-return models see the most returns a file of that size can hold. "
            f"**pipeline**: `iom run --year {YEAR}` end to end through Dagster (landing, validation, models, checks, "
            "figures, report, spreadsheets, BI snapshot), fresh warehouse. **pandas**: bench/pandas_baseline.py, the "
            "script an analyst would write (same rules, charts drawn). **DuckDB floor**: DuckDB's bare `read_csv` of "
            "the export into an in-memory table. **layers floor**: bench/layer_floor.py, the tables the warehouse's "
            "layers and the outputs contract require (raw, staged, marts, BI snapshot, Parquet), each written by the "
            "plainest DuckDB SQL into a fresh file, with no rule, redaction, check or library around them.",
            "",
            "| rows | responding CSPs | CSV MB | pipeline s | pipeline peak MB | pandas s | pandas peak MB | DuckDB floor s "
            "| layers floor s | pipeline / pandas | question_summary | iom run exit |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        ]
        for r in results:
            lines.append(
                f"| {r['rows']:,} | {r['responding']:,} | {r['csv_mb']:.0f} | {r['pipeline']['wall']:.1f} | "
                f"{r['pipeline']['peak_mb']:.0f} | {r['pandas']['wall']:.1f} | {r['pandas']['peak_mb']:.0f} | "
                f"{r['duckdb']['wall']:.1f} | {r['layers']['total']:.1f} | {r['pipeline']['wall'] / r['pandas']['wall']:.2f} "
                f"| {r['equal']} | {r['exit']} |"
            )
        failed = [r for r in results if r["exit"] != 0]
        if failed:
            lines += ["", "`iom run` exits 1 when a blocking check fails, after building everything timed here; "
                          "the failing checks were:"]
            for r in failed:
                lines += [f"- {r['rows']:,} rows: " + ("; ".join(r["failures"]) or "see the run's log")]
        by_rows = {r["rows"]: r for r in results}
        if 100_000 in by_rows and 1_000_000 in by_rows:
            small, large = by_rows[100_000], by_rows[1_000_000]
            models_ratio = sum(large["timings"]["models"].values()) / max(sum(small["timings"]["models"].values()), 1e-9)
            lines += ["", f"From 100k to 1M rows (10x) the pipeline's wall time grows {large['pipeline']['wall'] / small['pipeline']['wall']:.1f}x "
                          f"and the SQL models' time {models_ratio:.1f}x."]
        lines += _floor_lines(results)
        lines += ["", "### Steps (seconds, STEP_START to STEP_SUCCESS in the run's event log)", ""]
        lines += _step_rows(results)
        lines += ["", "### SQL models (seconds, each materialisation's `build_seconds`)", ""]
        lines += _model_rows(results)
    lines += [
        "",
        "## Reproduce",
        "",
        "`make bench` (about 10 minutes; `.venv/bin/python bench/run_bench.py --sizes 10000,100000` for a quick "
        "look, `--no-sample` to skip the sample, `--no-write` to leave this file alone). Generated exports are "
        "kept under `$IOM_DATA_DIR/bench/` and reused. See docs/scaling.md for why the SQL is shaped as it is and "
        "what changes beyond one machine.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--work", default=str(Path(os.environ.get("IOM_DATA_DIR", ROOT / "data")) / "bench"))
    parser.add_argument("--no-sample", action="store_true", help="skip the reconstructed sample")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    args = parser.parse_args()
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    sample = None
    if not args.no_sample:
        print("bench: the reconstructed sample ...", flush=True)
        sample = run_sample(work)
    results = []
    for size in (int(s) for s in args.sizes.split(",") if s):
        print(f"bench: {size:,} rows ...", flush=True)
        results.append(run_size(size, work))
    text = report(results, sample)
    if not args.no_write:
        (ROOT / "docs" / "performance.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
