"""`iom`: the command line. `iom run --year 2013` launches exactly the job the UI launches.

Exit status: 0 only when every blocking check passed and the publication was updated;
1 when a run failed (each failing check or refused file is printed with its reason);
2 for a usage problem; 3 when another run holds the warehouse.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from iom_pipeline.paths import PROJECT_ROOT, data_dir, landing_dir

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3


class WarehouseBusy(Exception):
    pass


@contextmanager
def warehouse_lock(wait_seconds: float):
    """One writer at a time: DuckDB allows a single writing process per file."""
    lock_path = data_dir() / "warehouse" / ".iom-run.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+") as fh:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    raise WarehouseBusy(
                        f"another `iom run` ({holder}) is writing {data_dir() / 'warehouse'}; "
                        "wait for it to finish, or pass --wait SECONDS"
                    ) from None
                time.sleep(0.5)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME defaults to `$IOM_DATA_DIR/dagster_home`, configured by the project's dagster.yaml.

    A DAGSTER_HOME the user chose keeps its own dagster.yaml (PostgreSQL, say); the default one
    always follows the project's.
    """
    chosen = os.environ.get("DAGSTER_HOME")
    home = Path(chosen or data_dir() / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    project_config = PROJECT_ROOT / "dagster.yaml"
    if not config.exists() or (not chosen and config.read_bytes() != project_config.read_bytes()):
        shutil.copyfile(project_config, config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _root_cause(error):
    """The user-facing message of a step failure: the innermost error Dagster wrapped."""
    while error is not None and error.cause is not None and error.cls_name.startswith("Dagster"):
        error = error.cause
    return error


def _failures(result) -> list[str]:
    lines = []
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity.value == "ERROR":
            meta = evaluation.metadata
            detail = evaluation.description or ""
            lines.append(f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} failed: {detail}")
            for key in ("differences", "failed_expectations"):
                if key in meta:
                    lines.append(f"    {meta[key].value}")
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = _root_cause(event.step_failure_data.error)
            message = error.message.strip() if error else "unknown error"
            if error and error.cls_name != "InputFileError" and not message.startswith(error.cls_name):
                message = f"{error.cls_name}: {message}"
            lines.append(f"step {event.step_key} failed: {message}")
    return lines


def run_years(years: list[int], log_level: str = "CRITICAL", select: str | None = None) -> int:
    """One Dagster run per year of the survey-year job, in this process, on the instance the UI
    uses: the same assets, checks and executor as a launch from the UI or the schedule."""
    ensure_dagster_home()
    from dagster import AssetSelection, DagsterInstance

    from iom_pipeline.defs.shared import survey_years
    from iom_pipeline.definitions import defs, survey_year_job

    job = defs.resolve_job_def(survey_year_job.name)
    # A subset (Dagster's selection syntax, e.g. "group:marts+" or "key:marts/*") rebuilds those
    # assets and their checks only; without it the whole job runs, publication included.
    subset = sorted(AssetSelection.from_string(select).resolve(defs.resolve_asset_graph())) if select else None
    status = EXIT_OK
    with DagsterInstance.get() as instance:
        for year in years:
            partition = str(year)
            if not instance.has_dynamic_partition(survey_years.name, partition):
                instance.add_dynamic_partitions(survey_years.name, [partition])
            started = time.perf_counter()
            result = job.execute_in_process(
                partition_key=partition,
                instance=instance,
                raise_on_error=False,
                asset_selection=subset,
                run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            )
            elapsed = time.perf_counter() - started
            if result.success and subset is not None:
                print(f"iom run: {year}: {len(subset)} selected asset(s) materialised in {elapsed:.1f} s (publication not updated)")
            elif result.success:
                print(f"iom run: {year}: published in {elapsed:.1f} s -> {data_dir() / 'publication' / partition}")
            else:
                status = EXIT_FAILED
                print(f"iom run: {year}: FAILED after {elapsed:.1f} s; the previous publication is untouched", file=sys.stderr)
                for line in _failures(result) or ["the run failed; see the Dagster UI for run " + result.run_id]:
                    print(f"  {line}", file=sys.stderr)
    return status


def _landing_years() -> list[int]:
    base = landing_dir()
    return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit()) if base.exists() else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="iom", description="The IOM survey pipeline.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialise every asset of the given survey years through Dagster")
    run.add_argument("--year", type=int, action="append", help="survey year (repeatable); default: every year in landing/")
    run.add_argument("--select", help="only these assets, in Dagster's selection syntax (e.g. 'group:marts'); "
                     "the publication is updated only by a full run")
    run.add_argument("--wait", type=float, default=0.0, help="seconds to wait for another run to release the warehouse")
    run.add_argument("--log-level", default="CRITICAL", choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                     help="Dagster's own log output on the console (failures are always summarised)")
    sample = sub.add_parser("sample", help="write the reconstructed (synthetic) sample into landing/<year>/")
    sample.add_argument("--year", type=int, action="append", required=True)
    args = parser.parse_args(argv)

    if args.command == "sample":
        from iom_synthetic.reconstruct import write_reconstructed_year

        for year in args.year:
            counts = write_reconstructed_year(year, landing_dir(year))
            (landing_dir(year) / "SYNTHETIC.txt").write_text(
                "These files are a synthetic reconstruction made by `iom sample` (docs/reconstruction.md).\n"
                "They contain no real survey returns.\n",
                encoding="utf-8",
            )
            print(f"iom sample: {year}: synthetic reconstruction written to {landing_dir(year)} ({counts})")
        return EXIT_OK

    years = sorted(set(args.year or _landing_years()))
    if not years:
        print(f"iom run: no survey years given and none found in {landing_dir()}", file=sys.stderr)
        return EXIT_USAGE
    missing = [y for y in years if not landing_dir(y).is_dir()]
    if missing:
        print(f"iom run: no landing directory for {', '.join(map(str, missing))} under {landing_dir()}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with warehouse_lock(args.wait):
            return run_years(years, args.log_level, args.select)
    except WarehouseBusy as exc:
        print(f"iom run: {exc}", file=sys.stderr)
        return EXIT_BUSY


def console_main() -> None:
    sys.exit(main())


if __name__ == "__main__":
    console_main()
