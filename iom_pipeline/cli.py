"""`iom`: the command line. `iom run --year 2013` launches exactly the job the UI launches.

Exit status: 0 only when every blocking check passed and the publication was updated;
1 when a run failed (each failing check or refused file is printed with its reason);
2 for a usage problem; 3 when another run holds the warehouse; 130 or 143 when stopped by
SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import select
import shutil
import signal
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from iom_pipeline.landing import landing_years_and_strays, survey_year_problem
from iom_pipeline.paths import PROJECT_ROOT, data_dir, landing_dir, publication_dir
from iom_pipeline.stops import STOP_SIGNALS
from iom_pipeline.terminal import RunProgress, say

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3

HELP_EPILOG = """\
exit status:
  0    every blocking check passed and the publication was updated
       (with --select: the selected assets were materialised)
  1    a run failed: each failing check or refused file is printed with its reason,
       and the previous publication and BI snapshot are untouched
  2    a usage problem (no such year, a year outside the questionnaires' range)
  3    another run holds the warehouse (see --wait)
  130  stopped by SIGINT (Ctrl-C); 143: stopped by SIGTERM

environment:
  IOM_DATA_DIR    where landing/, warehouse/ and publication/ live (default: data/ in the project)
  DAGSTER_HOME    the Dagster instance (default: $IOM_DATA_DIR/dagster_home, configured by the
                  project's dagster.yaml; a DAGSTER_HOME you set keeps its own dagster.yaml)
  IOM_SOURCE_URL  where the survey tool's export is, with {year} in its path (file://, sftp://,
                  s3://); default: landing/ itself, from which pulling copies nothing
  IOM_SOURCE_OPTIONS  the source's storage options as JSON (key_file, known_hosts, endpoint_url)
"""

PULL_EPILOG = """\
exit status:
  0    every year's files are in landing/<year>/ (copied, or already the same as the source's)
  1    a pull failed (the source unreachable, the login refused, a file missing, vanishing or cut
       short): one line names the source and the file; landing/<year>/ and the publication are
       untouched
  2    a usage problem (no such year, a source URL without {year}, storage not installed)
  3    another run holds the warehouse (see --wait)
  130  stopped by SIGINT (Ctrl-C); 143: stopped by SIGTERM

environment:
  IOM_SOURCE_URL      the source, when --source is not given: an fsspec URL with {year} in its
                      path (default: landing/ itself); a password in it is shown as ***
  IOM_SOURCE_OPTIONS  storage options as JSON, e.g. {"key_file": "~/.ssh/iom_ed25519",
                      "known_hosts": "~/.ssh/known_hosts"} for SFTP, {"endpoint_url": "..."} for S3
  IOM_DATA_DIR, DAGSTER_HOME  as for `iom run`
"""


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


def _error_text(error) -> str:
    """An error as a person reads it: the message without Python's module path, and the class
    name only where the message does not explain itself (a refused input file does)."""
    message = error.message.strip()
    prefix = re.match(r"^[\w.]*\b" + re.escape(error.cls_name) + r": ", message)
    if prefix:
        message = message[prefix.end():]
    return message if error.cls_name == "InputFileError" else f"{error.cls_name}: {message}"


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
            message = _error_text(error) if error else "unknown error"
            lines.append(f"step {event.step_key} failed: {message}")
    return lines


def _raise_if_stopped(signals: "SignalRecorder | None") -> None:
    stop = signals.stop_signal() if signals else None
    if stop:
        raise Stopped(stop)


def _run_year(job, instance, year: int, signals: "SignalRecorder | None", *, asset_selection, log_level: str,
              quiet: bool = True):
    """One Dagster run of `job` for the year's partition, in this process (the partition added
    if new), ended by a stop as `stops_end_the_run` says. A stop noticed before or after the run
    (its exception lost on the way) leaves as `Stopped`."""
    from iom_pipeline.defs.shared import survey_years

    _raise_if_stopped(signals)
    partition = str(year)
    if not instance.has_dynamic_partition(survey_years.name, partition):
        instance.add_dynamic_partitions(survey_years.name, [partition])
    run_id = str(uuid.uuid4())
    if not quiet:
        say(f"iom run: {year}: run {run_id}")
    with RunProgress(instance, run_id, enabled=not quiet), stops_end_the_run(signals, instance, run_id):
        result = job.execute_in_process(
            partition_key=partition,
            instance=instance,
            raise_on_error=False,
            asset_selection=asset_selection,
            run_id=run_id,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
    _raise_if_stopped(signals)
    return result


def run_years(
    years: list[int], log_level: str = "CRITICAL", select: str | None = None, quiet: bool = False,
    signals: "SignalRecorder | None" = None, pull: bool = False,
) -> int:
    """One Dagster run per year of the survey-year job, in this process, on the instance the UI
    uses: the same assets, checks and executor as a launch from the UI or the schedule."""
    ensure_dagster_home()
    from dagster import AssetSelection, DagsterInstance

    from iom_pipeline.definitions import defs, survey_year_job

    job = defs.resolve_job_def(survey_year_job.name)
    # A subset (Dagster's selection syntax, e.g. "group:marts+" or "key:marts/*") rebuilds those
    # assets and their checks only; without it the whole job runs, publication included.
    subset = sorted(AssetSelection.from_string(select).resolve(defs.resolve_asset_graph())) if select else None
    if subset is not None and pull:
        from iom_pipeline.defs.survey.pull import PULLED

        subset = sorted({*subset, PULLED})  # the whole job pulls anyway; a subset only when asked
    status = EXIT_OK
    with DagsterInstance.get() as instance:
        for year in years:
            started = time.perf_counter()
            result = _run_year(job, instance, year, signals, asset_selection=subset, log_level=log_level, quiet=quiet)
            elapsed = time.perf_counter() - started
            if result.success and subset is not None:
                say(f"iom run: {year}: {len(subset)} selected asset(s) materialised in {elapsed:.1f} s (publication not updated)")
            elif result.success:
                say(f"iom run: {year}: published in {elapsed:.1f} s -> {publication_dir(year)}")
            else:
                status = EXIT_FAILED
                say(f"iom run: {year}: FAILED after {elapsed:.1f} s; the previous publication is untouched", sys.stderr)
                for line in _failures(result) or ["the run failed; see the Dagster UI for run " + result.run_id]:
                    say(f"  {line}", sys.stderr)
    return status


@contextmanager
def source_url(url: str | None):
    """`--source URL` for this process's runs. The `survey_source` resource reads IOM_SOURCE_URL
    when a run starts, so the URL (and a password in it) never enters a run's stored configuration."""
    from iom_pipeline.source import ENV_URL

    if url is None:
        yield
        return
    previous = os.environ.get(ENV_URL)
    os.environ[ENV_URL] = url
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ENV_URL, None)
        else:
            os.environ[ENV_URL] = previous


def _step_error_messages(result) -> list[str]:
    """The failing steps' own messages, without the error's class (a source error names its
    source and file itself)."""
    messages = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = _root_cause(event.step_failure_data.error)
            if error is None:
                messages.append("unknown error")
                continue
            message = error.message.strip()
            prefix = re.match(r"^[\w.]*\b" + re.escape(error.cls_name) + r": ", message)
            messages.append(" ".join((message[prefix.end():] if prefix else message).split()))
    return messages


def _pull_outcome(metadata: dict) -> str:
    def text(key: str) -> str:
        value = metadata.get(key)
        return str(value.value) if value is not None else ""

    source, action, names = text("source"), text("action"), text("file_names")
    if action == "in place":
        return f"the source is the landing folder itself ({source}): nothing to copy; provenance recorded"
    if action == "unchanged":
        return f"{names} unchanged at {source}: {text('landing_folder')} left as it is"
    return f"copied {names} ({int(text('total_bytes') or 0):,} bytes) from {source} into {text('landing_folder')}"


def pull_years(years: list[int], signals: "SignalRecorder | None" = None) -> int:
    """`iom pull`: the pull asset alone, one Dagster run per year, recorded in the instance like
    any run (its provenance is the asset's metadata in the UI)."""
    ensure_dagster_home()
    from dagster import DagsterInstance

    from iom_pipeline.defs.survey.pull import PULLED
    from iom_pipeline.definitions import defs, survey_year_job

    job = defs.resolve_job_def(survey_year_job.name)
    status = EXIT_OK
    with DagsterInstance.get() as instance:
        for year in years:
            result = _run_year(job, instance, year, signals, asset_selection=[PULLED], log_level="CRITICAL")
            if result.success:
                (materialization,) = result.asset_materializations_for_node(PULLED.to_python_identifier())
                say(f"iom pull: {year}: {_pull_outcome(materialization.metadata)}")
                continue
            status = EXIT_FAILED
            reason = "; ".join(_step_error_messages(result)) or f"the run failed; see the Dagster UI for run {result.run_id}"
            say(f"iom pull: {year}: FAILED: {reason} (landing/{year} and the publication are untouched)", sys.stderr)
    return status


def identity_of(path: Path) -> tuple | None:
    """A file's or directory's identity: what it is swapped in by (a rename) changes it."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_mtime_ns


@contextmanager
def stops_end_the_run(signals: "SignalRecorder | None", instance, run_id: str):
    """While a run executes, a stop signal also marks it canceling in the instance, as the UI's
    Terminate does: the publication step refuses to publish then, even when the interrupt that
    Dagster raises for the signal was lost (see `SignalRecorder`)."""
    if signals is None:
        yield
        return
    from dagster import DagsterRunStatus

    def cancel() -> None:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status in (DagsterRunStatus.STARTING, DagsterRunStatus.STARTED):
            instance.report_run_canceling(run, message="iom received a stop signal")

    sigterm_handler = signal.getsignal(signal.SIGTERM)
    try:
        with signals.on_stop(cancel):
            yield
    finally:
        # Dagster puts back the SIGINT handler it found when a run ends, and gives SIGTERM that
        # one too: SIGTERM must go on stopping `iom` as SIGTERM.
        if sigterm_handler is not None and signal.getsignal(signal.SIGTERM) is not sigterm_handler:
            signal.signal(signal.SIGTERM, sigterm_handler)
        if signals.stop_signal():
            _end_canceling(instance, run_id)


def _end_canceling(instance, run_id: str) -> None:
    """A stop that came as the run was ending can leave it canceling for good: mark it canceled."""
    from dagster import DagsterRunStatus

    try:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status == DagsterRunStatus.CANCELING:
            instance.report_run_canceled(run, message="iom received a stop signal")
    except Exception as exc:  # noqa: BLE001 - the stop's own message matters more than this record
        say(f"iom: could not record run {run_id} as canceled: {exc}", sys.stderr)


class Stopped(BaseException):
    """SIGINT or SIGTERM, raised where the run happens to be, so that every clean-up on the way
    out runs (the run's steps, the warehouse connection, the lock)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop_on_sigterm(signum, frame):
    raise Stopped(signum)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def stop_message(prog: str, signum: int, replaced: list[int], pull: bool) -> str:
    """The last line of a stopped `iom run` or `iom pull`: what is in place after the stop.
    `replaced`: the years whose publication (or landing folder) the command had replaced."""
    name = signal.Signals(signum).name
    if not replaced:
        untouched = "landing/ and the publication are" if pull else "the previous publication is"
        return f"{prog}: stopped by {name}; {untouched} untouched"
    one = len(replaced) == 1
    if pull:
        folders = _and([f"landing/{year}" for year in replaced])
        return f"{prog}: stopped by {name} after {folders} {'was' if one else 'were'} updated; nothing after it ran"
    return (f"{prog}: stopped by {name} after {_and([str(y) for y in replaced])} {'was' if one else 'were'} published: "
            f"{'its new publication is' if one else 'their new publications are'} in place, whole; nothing after it ran")


class SignalRecorder:
    """Which stop signals arrived, whoever handled them, and a stop that Python dropped.

    While a run executes, Dagster handles SIGINT and SIGTERM itself: it raises an interrupt in
    the running step. So the signal's number is read from Python's wakeup file descriptor,
    written for every signal, by a thread that acts on a stop at once (`on_stop`). And when a
    handler raises inside a garbage-collection callback, Python drops the exception ("Exception
    ignored in ..."), Dagster's interrupt or `Stopped` alike, and the code goes on: such a stop is
    delivered again, from another thread, a moment later."""

    REDELIVERY_SECONDS = 0.1

    def __enter__(self) -> "SignalRecorder":
        self._read, self._write = os.pipe()
        self._closing_read, self._closing_write = os.pipe()
        for fd in (self._read, self._write):
            os.set_blocking(fd, False)
        # Reentrant: the main thread may need it again from a hook while it holds it.
        self._lock = threading.RLock()
        self._stops: list[int] = []
        self._callback = None
        self._active = True
        self._timers: list[threading.Timer] = []
        self._previous = signal.set_wakeup_fd(self._write)
        self._previous_hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        self._thread = threading.Thread(target=self._watch, name="iom-signals", daemon=True)
        self._thread.start()
        return self

    def _drain(self) -> list[int]:
        """Stop signals read since the last call (under the lock)."""
        try:
            received = os.read(self._read, 1024)
        except BlockingIOError:
            return []
        stops = [s for s in received if s in STOP_SIGNALS]
        self._stops.extend(stops)
        return stops

    def _watch(self) -> None:
        while True:
            ready, _, _ = select.select([self._read, self._closing_read], [], [])
            if self._closing_read in ready:
                return
            # The callback runs under the lock, so that `on_stop` ends only after it has.
            with self._lock:
                if self._drain() and self._callback is not None:
                    try:
                        self._callback()
                    except Exception as exc:  # noqa: BLE001 - the interrupt still stops the run
                        say(f"iom: on a stop signal: {exc}", sys.stderr)

    def _unraisable(self, unraisable) -> None:
        from dagster import DagsterExecutionInterruptedError

        if not isinstance(unraisable.exc_value, (KeyboardInterrupt, Stopped, DagsterExecutionInterruptedError)):
            self._previous_hook(unraisable)
            return
        # Not from here: a handler run now would run inside this hook, and be dropped again.
        signum = getattr(unraisable.exc_value, "signum", None) or self.stop_signal() or signal.SIGINT
        timer = threading.Timer(self.REDELIVERY_SECONDS, self._redeliver, args=(signum,))
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
        timer.start()

    def _redeliver(self, signum: int) -> None:
        with self._lock:
            if self._active:
                os.kill(os.getpid(), signum)

    @contextmanager
    def on_stop(self, callback):
        """Call `callback` (from the watching thread) when a stop signal arrives in the block."""
        with self._lock:
            self._callback = callback
        try:
            yield
        finally:
            with self._lock:
                self._callback = None

    def stop_signal(self) -> int | None:
        with self._lock:
            self._drain()
            return self._stops[0] if self._stops else None

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._active = False
            for timer in self._timers:
                timer.cancel()
        sys.unraisablehook = self._previous_hook
        signal.set_wakeup_fd(self._previous)
        os.write(self._closing_write, b"x")
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            return  # its descriptors stay open: closing them under it could hand it another's
        for fd in (self._read, self._write, self._closing_read, self._closing_write):
            os.close(fd)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("iom-pipeline")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iom",
        description="The IOM survey pipeline: from the survey tool's export to the published report, through Dagster.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="materialise every asset of the given survey years through Dagster",
        description="Materialise every asset of the given survey years, from landing/<year>/ to publication/<year>/, "
        "as the Dagster UI and the schedule launch them: one run per year, in this process, recorded in the "
        "Dagster instance. A line per step is printed as it finishes.",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--year", type=int, action="append", help="survey year (repeatable); default: every year in landing/")
    run.add_argument("--select", help="only these assets, in Dagster's selection syntax (e.g. 'group:marts'); "
                     "the publication is updated only by a full run")
    run.add_argument("--wait", type=float, default=0.0, help="seconds to wait for another run to release the warehouse")
    run.add_argument("--quiet", action="store_true", help="no progress lines; only the outcome and any failure")
    run.add_argument("--log-level", default="CRITICAL", choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                     help="Dagster's own log lines on the console at this level and above: INFO adds what each step "
                     "built, DEBUG every event (default: none; failures are always summarised)")
    run.add_argument("--pull", action="store_true",
                     help="pull the years' files from the survey source first, in the same run (a full run always "
                     "does; with --select this adds the pull)")
    run.add_argument("--source", metavar="URL",
                     help="the survey source for this run, an fsspec URL with {year} in its path (e.g. "
                     "sftp://iom@host/exports/{year}); implies --pull; default: $IOM_SOURCE_URL, else landing/ itself")
    sample = sub.add_parser("sample", help="write the reconstructed (synthetic) sample into landing/<year>/")
    sample.add_argument("--year", type=int, action="append", required=True)
    pull = sub.add_parser(
        "pull",
        help="copy the survey tool's files of the given years from the survey source into landing/<year>/",
        description="Copy survey_export.csv (or .xlsx), frame.csv and published.csv of each year from the survey "
        "source into landing/<year>/ through Dagster (the pipeline's own pull step, alone): a staging folder renamed "
        "into place, sizes and checksums checked, provenance recorded. An unchanged source leaves landing/ as it is; "
        "from the default source, landing/ itself, nothing is copied.",
        epilog=PULL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pull.add_argument("--year", type=int, action="append", help="survey year (repeatable); default: every year at the source")
    pull.add_argument("--source", metavar="URL", help="an fsspec URL with {year} in its path; default: $IOM_SOURCE_URL, "
                      "else landing/ itself")
    pull.add_argument("--wait", type=float, default=0.0, help="seconds to wait for another run to release the warehouse")
    pull.set_defaults(select=None, pull=True, quiet=False, log_level="CRITICAL")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    if args.command == "sample":
        from iom_synthetic.reconstruct import write_reconstructed_year

        for year in args.year:
            problem = survey_year_problem(year)
            if problem:
                say(f"iom sample: {problem}", sys.stderr)
                return EXIT_USAGE
            counts = write_reconstructed_year(year, landing_dir(year))
            (landing_dir(year) / "SYNTHETIC.txt").write_text(
                "These files are a synthetic reconstruction made by `iom sample` (docs/reconstruction.md).\n"
                "They contain no real survey returns.\n",
                encoding="utf-8",
            )
            say(f"iom sample: {year}: synthetic reconstruction written to {landing_dir(year)} ({counts})")
        return EXIT_OK

    with source_url(args.source):
        return _run_or_pull(args)


def _run_or_pull(args) -> int:
    """`iom run` and `iom pull`: the years, the checks on them, then the runs under the lock."""
    prog = f"iom {args.command}"
    pull_only = args.command == "pull"
    # A full run pulls (from landing/ itself by default, a no-op); a subset only with --pull.
    pulling = pull_only or args.pull or args.source is not None or args.select is None
    source = None
    if pulling:
        from iom_pipeline.source import SourceError, open_source

        try:
            source = open_source()
        except SourceError as exc:
            say(f"{prog}: {exc}", sys.stderr)
            return EXIT_USAGE
    remote = source is not None and not source.is_landing_folder()  # the pull makes landing/<year>/

    if args.year:
        years = sorted(set(args.year))
    elif remote:
        try:
            with source:
                years = source.list_years()
        except SourceError as exc:
            say(f"{prog}: {exc}", sys.stderr)
            return EXIT_FAILED
        if not years:
            say(f"{prog}: no survey years given and none found at {source.url}", sys.stderr)
            return EXIT_USAGE
    else:
        years, strays = landing_years_and_strays()
        for stray in strays:
            say(f"{prog}: warning: skipping {stray}: not a survey year (a folder of landing/ is named by its year, "
                "e.g. 2013)", sys.stderr)
    if not years:
        say(f"{prog}: no survey years given and none found in {landing_dir()}", sys.stderr)
        return EXIT_USAGE
    for year in years:
        problem = survey_year_problem(year)
        if problem:
            say(f"{prog}: {problem}", sys.stderr)
            return EXIT_USAGE
    missing = [] if remote else [y for y in years if not landing_dir(y).is_dir()]
    if missing:
        say(f"{prog}: no landing directory for {', '.join(map(str, missing))} under {landing_dir()}", sys.stderr)
        return EXIT_USAGE
    # What is in place before the runs, to say after a stop, wherever it lands, what the
    # command had replaced: a year's folder is swapped in by a rename, so a new one is another.
    folder_of = landing_dir if pull_only else publication_dir
    before = {year: identity_of(folder_of(year)) for year in years}

    def stopped(signum: int) -> int:
        replaced = [year for year in years if identity_of(folder_of(year)) != before[year]]
        say(stop_message(prog, signum, replaced, pull_only), sys.stderr)
        return 128 + signum

    previous_sigterm = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        with SignalRecorder() as signals:
            try:
                with warehouse_lock(args.wait):
                    if pull_only:
                        return pull_years(years, signals)
                    return run_years(years, args.log_level, args.select, args.quiet, signals,
                                     pull=args.pull or args.source is not None)
            except (KeyboardInterrupt, Stopped) as exc:
                # the signal that came, even when Dagster's handler raised it as another
                return stopped(signals.stop_signal() or getattr(exc, "signum", signal.SIGINT))
    except WarehouseBusy as exc:
        say(f"{prog}: {exc}", sys.stderr)
        return EXIT_BUSY
    except (KeyboardInterrupt, Stopped) as exc:
        return stopped(getattr(exc, "signum", signal.SIGINT))
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)


def console_main() -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # from the start, not only around the runs
    try:
        status = main()
    except (KeyboardInterrupt, Stopped) as exc:  # before the runs' own handling, or after it
        signum = getattr(exc, "signum", signal.SIGINT)
        say(f"iom: stopped by {signal.Signals(signum).name}", sys.stderr)
        status = 128 + signum
    # The work is done: a stop from here on ends the process as a signal does, with no message.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.exit(status)


if __name__ == "__main__":
    console_main()
