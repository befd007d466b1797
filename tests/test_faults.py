"""Faults: a run killed with SIGKILL at named points, and two runs at once.

A killed run, rerun, must give the same marts and publication as an uninterrupted run; the BI
snapshot is never partial or missing once published; a second concurrent run refuses clearly
and at once, never corrupting the warehouse, and with --wait it starts only after the first ends.

`iom run` prints `iom run: <year>: run <uuid>` once it holds the warehouse, then one line per
step as the step finishes (`  staging_models   0.7 s   1,183 rows`). The tests read stdout line by
line and kill the process group right after a named step's line, or, inside
`publication/published`, as soon as a file of the publication is moved into place; each kill is
shown to have landed (the process died of SIGKILL, the named step had finished and the run had
not) before its effects are compared with an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import pytest

from exports import row, tick, write_landing

pytestmark = pytest.mark.slow

MART_QUERIES = {
    "question_summary": "select question_id, option_id, base_n, n, pct_rounded from marts.question_summary order by all",
    "submission_outcome": "select response_id, outcome, reason, csp_code from marts.submission_outcome order by all",
    "csp_return": "select csp_code, responded, iom_in_place from marts.csp_return order by all",
    "arrangement": "select csp_code, arrangement_no, agency_police from marts.arrangement order by all",
}
RUN_LINE = re.compile(r"^iom run: 2013: run ([0-9a-f-]{36})$")
STEP_LINE = re.compile(r"^  (\S+)\s+\d+\.\d s\b")  # a finished step: label, seconds, rows
LAST_STEP = "publication__published"


def rows_for_test() -> list[dict]:
    rows = []
    for i in range(1, 41):
        code = f"E2200000{1 + i % 3}"
        rows.append(row(i, code, "", ended=f"0{1 + i % 9}/05/2013 10:00", q1_iom_in_place="Yes" if i % 4 else "No",
                        q2_established="Fully established", a1_agency_police="Police", **tick("q7_tool_key_principles")))
    return rows


def env_for(data: Path) -> dict:
    return {**os.environ, "IOM_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}


class Run:
    """`iom run --year 2013` in its own process group; stdout read line by line as it comes, each
    line with the moment it arrived, and the moment the process exited."""

    def __init__(self, data: Path, *extra: str):
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "iom_pipeline.cli", "run", "--year", "2013", *extra],
            env=env_for(data), stdout=subprocess.PIPE, stderr=self._stderr, text=True, bufsize=1,
            start_new_session=True,
        )
        self.lines: list[tuple[float, str]] = []
        self.exited_at: float | None = None
        self._queue: queue.Queue = queue.Queue()
        self._exited = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        threading.Thread(target=self._watch, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            item = (time.monotonic(), line.rstrip("\n"))
            self.lines.append(item)
            self._queue.put(item)
        self._queue.put(None)

    def _watch(self) -> None:
        self.proc.wait()
        self.exited_at = time.monotonic()
        self._exited.set()

    def next_line(self, timeout: float = 600) -> str | None:
        """The next stdout line, or None once stdout has closed."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no output from `iom run` for {timeout} s:\n{self.output()}")
        return None if item is None else item[1]

    def wait_for(self, pattern: re.Pattern, timeout: float = 600) -> re.Match:
        deadline = time.monotonic() + timeout
        while (line := self.next_line(max(0.1, deadline - time.monotonic()))) is not None:
            if match := pattern.match(line):
                return match
        pytest.fail(f"`iom run` ended without a line matching {pattern.pattern!r}:\n{self.output()}")

    def wait_for_step(self, label: str, timeout: float = 600) -> None:
        self.wait_for(re.compile(r"^  " + re.escape(label) + r"\s+\d+\.\d s\b"), timeout)

    def running(self) -> bool:
        return not self._exited.is_set()

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)

    def finish(self, timeout: float = 600) -> int:
        if not self._exited.wait(timeout):
            self.kill()
            pytest.fail(f"`iom run` did not end within {timeout} s:\n{self.output()}")
        self._reader.join(timeout=60)
        return self.proc.returncode

    @property
    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()

    def output(self) -> str:
        return "\n".join(line for _, line in self.lines) + "\n--- stderr ---\n" + self.stderr

    def first_line_at(self, pattern: re.Pattern) -> float:
        return next(t for t, line in self.lines if pattern.match(line))


def marts(snapshot: Path) -> dict:
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in MART_QUERIES.items()}
    finally:
        con.close()


def text_files(directory: Path) -> dict[str, str]:
    """Digests of the publication's text outputs (spreadsheets carry their own timestamps)."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.suffix in (".csv", ".svg", ".html")
    }


def steps_of(data: Path, run_id: str) -> tuple[list[str], list[str], str]:
    """The run's started and succeeded steps and its status, from the Dagster instance's history."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None, f"run {run_id} is not in the instance"
        records = instance.get_records_for_run(
            run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}, limit=10_000
        ).records
        started = [r.event_log_entry.dagster_event.step_key for r in records
                   if r.event_log_entry.dagster_event.event_type_value == "STEP_START"]
        succeeded = [r.event_log_entry.dagster_event.step_key for r in records
                     if r.event_log_entry.dagster_event.event_type_value == "STEP_SUCCESS"]
        return started, succeeded, run.status.value


def identity(path: Path) -> tuple[int, int] | None:
    """What changes when a file or directory is replaced (a rename over it or an exchange)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: its wall time, step lines, marts and publication."""
    data = tmp_path_factory.mktemp("reference")
    write_landing(data / "landing" / "2013", rows_for_test())
    run = Run(data)
    assert run.finish() == 0, run.output()
    steps = [m.group(1) for _, line in run.lines if (m := STEP_LINE.match(line))]
    return {
        "seconds": run.exited_at - run.started_at,
        "steps": steps,
        "marts": marts(data / "publication" / "iom_marts.duckdb"),
        "files": text_files(data / "publication" / "2013"),
    }


def test_the_progress_lines_name_the_steps_the_kills_aim_at(reference):
    """The kill points below follow the run's order; a renamed or reordered step fails here first."""
    order = ["landing_files", "marts_models", "audit/expectation_result", "figures", "publication/report",
             "publication/published"]
    assert [s for s in reference["steps"] if s in order] == order, reference["steps"]
    assert reference["steps"][-1] == "publication/published"


def after_step(label: str):
    def wait(run: Run, data: Path, run_id: str) -> None:
        run.wait_for_step(label)
    return wait


def watch(run: Run, what: str, changed) -> None:
    """Inside publication/published: from `publication/report`'s line on, look (without sleeping)
    until `changed()`; the kill follows at once."""
    run.wait_for_step("publication/report")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and run.running():
        if changed():
            return
    pytest.fail(f"{what} never happened:\n{run.output()}")


def when_replaced(*parts: str):
    """As soon as the path under the data directory is replaced (renamed over or exchanged)."""
    def wait(run: Run, data: Path, run_id: str) -> None:
        path = data.joinpath(*parts)
        before = identity(path)
        watch(run, f"a new {path}", lambda: identity(path) != before)
    return wait


def while_the_snapshot_is_built(run: Run, data: Path, run_id: str) -> None:
    """As soon as this run's new snapshot appears under work/snapshot/, beside the published one."""
    scratch = data / "work" / "snapshot" / f"iom_marts-{run_id}.duckdb"
    watch(run, f"{scratch} appearing", scratch.exists)


# (where, how to wait for it, a step that must have finished, whether publication/published must
# have started: a kill inside it must find it started and unfinished)
KILL_POINTS = [
    ("after landing_files", after_step("landing_files"), "landing_files", False),
    ("after marts_models", after_step("marts_models"), "marts_models", False),
    # the figures are drawn next: the kill lands while the publication is being staged
    ("after audit/expectation_result", after_step("audit/expectation_result"), "audit__expectation_result", False),
    ("after publication/report", after_step("publication/report"), "publication__report", False),
    # the first publication: the Parquet directory is exchanged first, then the snapshot renamed
    ("inside publication/published, as publication/marts/ is swapped in",
     when_replaced("publication", "marts"), "publication__report", True),
    ("inside publication/published, as the BI snapshot is renamed into place",
     when_replaced("publication", "iom_marts.duckdb"), "publication__report", True),
    # once published: while the new snapshot is built beside the old one
    ("inside publication/published, while the new snapshot is built",
     while_the_snapshot_is_built, "publication__report", True),
]


def test_a_run_killed_at_named_points_then_rerun_gives_the_same_result(tmp_path, reference):
    data = tmp_path / "data"
    write_landing(data / "landing" / "2013", rows_for_test())
    publication = data / "publication"
    snapshot = publication / "iom_marts.duckdb"
    published_once = False
    problems = []  # what a kill left behind, gathered so that every kill point is tried
    for where, wait, finished_step, inside_last in KILL_POINTS:
        run = Run(data)
        run_id = run.wait_for(RUN_LINE, timeout=300).group(1)
        wait(run, data, run_id)
        run.kill()
        assert run.finish(timeout=60) == -signal.SIGKILL, f"not killed {where}:\n{run.output()}"
        started, succeeded, status = steps_of(data, run_id)
        # The kill landed where it was aimed: that step had finished, the run had not.
        assert finished_step in succeeded, (where, succeeded)
        assert LAST_STEP not in succeeded and status != "SUCCESS", f"the run finished before the kill {where}"
        if inside_last:
            assert LAST_STEP in started, f"publication/published had not started when killed {where}: {started}"
        # Never partial, never missing once it has existed; a published snapshot has its year's files.
        if published_once and not snapshot.exists():
            problems.append(f"the snapshot is missing after a kill {where}")
        if snapshot.exists():
            if marts(snapshot) != reference["marts"]:
                problems.append(f"a partial snapshot after a kill {where}")
            if text_files(publication / "2013") != reference["files"]:
                problems.append(f"the snapshot is published but publication/2013 is not (it holds "
                                f"{len(text_files(publication / '2013'))} of the {len(reference['files'])} "
                                f"text files) after a kill {where}")
            published_once = True
        leaked = {p.name for p in publication.iterdir()} - {"2013", "iom_marts.duckdb", "marts"} if publication.exists() else set()
        if leaked:
            problems.append(f"scratch files {sorted(leaked)} leaked into publication/ after a kill {where}")
    assert published_once, "no kill point was reached after the first publication"
    run = Run(data)
    assert run.finish() == 0, run.output()
    assert marts(snapshot) == reference["marts"]
    assert text_files(publication / "2013") == reference["files"]
    assert not problems, "\n".join(problems)


def test_a_second_concurrent_run_refuses_at_once_and_the_warehouse_survives(tmp_path, reference):
    data = tmp_path / "data"
    write_landing(data / "landing" / "2013", rows_for_test())
    first = Run(data)
    first.wait_for(RUN_LINE, timeout=300)  # printed once the first run holds the warehouse
    second = Run(data)
    assert second.finish(timeout=300) == 3, second.output()
    refused_in = second.exited_at - second.started_at
    assert "another `iom run`" in second.stderr and "Traceback" not in second.stderr
    assert not [line for _, line in second.lines if RUN_LINE.match(line) or STEP_LINE.match(line)], second.output()
    # At once: while the first is still running, in the time it takes to start (0.2 s here).
    assert first.running(), "the first run had ended before the second was refused"
    assert refused_in < 5.0, f"refused only after {refused_in:.1f} s"
    assert first.finish() == 0, first.output()
    assert marts(data / "publication" / "iom_marts.duckdb") == reference["marts"]

    # With --wait the second one queues behind the first instead, and starts only once it ended.
    first = Run(data)
    first.wait_for(RUN_LINE, timeout=300)
    waiting = Run(data, "--wait", "600")
    assert first.finish() == 0, first.output()
    assert waiting.finish() == 0, waiting.output()
    assert "another `iom run`" not in waiting.stderr
    first_published = first.first_line_at(re.compile(r"^iom run: 2013: published in "))
    assert waiting.started_at < first_published, "the waiting run was started after the first had finished"
    waiting_began = waiting.first_line_at(RUN_LINE)
    waiting_first_step = waiting.first_line_at(STEP_LINE)
    assert waiting_began > first_published, (
        f"the waiting run began {first_published - waiting_began:.2f} s before the first one published"
    )
    assert waiting_first_step > first.exited_at, (
        f"the waiting run's first step ended {first.exited_at - waiting_first_step:.2f} s before the first run exited"
    )
    assert waiting.exited_at > first.exited_at
    assert marts(data / "publication" / "iom_marts.duckdb") == reference["marts"]
