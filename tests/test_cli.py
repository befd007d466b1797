"""`iom` at a terminal: what it prints, which years it accepts, and how it stops.

The runs here are real `iom run` processes on a small hand-made export, so what is asserted is
what a data engineer sees.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exports import row, tick, write_landing
from iom_pipeline.cli import main
from iom_pipeline.terminal import printable

IOM = [sys.executable, "-m", "iom_pipeline.cli"]


def env_for(data: Path) -> dict:
    return {**os.environ, "IOM_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}


def small_landing(data: Path, year: int = 2013) -> Path:
    rows = [
        row(i, f"E2200000{1 + i % 3}", "", q1_iom_in_place="Yes", q2_established="Fully established",
            a1_agency_police="Police", **tick("q7_tool_key_principles"))
        for i in range(1, 13)
    ]
    return write_landing(data / "landing" / str(year), rows)


def digest(directory: Path) -> dict[str, str]:
    if not directory.exists():
        return {}
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


# -- control characters never reach the terminal --------------------------------------------
@pytest.mark.parametrize("raw, shown", [
    ("\x1b[2J\x1b[32mALL CHECKS PASSED", "\\x1b[2J\\x1b[32mALL CHECKS PASSED"),
    ("bell\x07 and back\x08space", "bell\\x07 and back\\x08space"),
    ("c1 \x9b31m csi", "c1 \\x9b31m csi"),
    ("carriage\rreturn\ttab\x7f", "carriage\\x0dreturn\\x09tab\\x7f"),
    ("two\nlines stay two lines", "two\nlines stay two lines"),
    ("Ynys Môn, O'Brien & Co", "Ynys Môn, O'Brien & Co"),
])
def test_printable_escapes_every_control_character_but_newline(raw, shown):
    assert printable(raw) == shown


def test_a_refused_file_quoting_escape_sequences_prints_them_inert(tmp_path):
    data = tmp_path / "data"
    landing = small_landing(data)
    (landing / "frame.csv").write_text("csp_code,csp_name\nE22000001,\x1b[2J\x1b[32mALL CHECKS PASSED\nE22000001,Again\n",
                                       encoding="utf-8")
    proc = subprocess.run([*IOM, "run", "--year", "2013"], env=env_for(data), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    everything = proc.stdout + proc.stderr
    assert "E22000001 is listed 2 times" in everything
    assert not any(ch in everything for ch in "\x1b\x07\x9b")
    assert "iom_pipeline." not in proc.stderr and "Traceback" not in proc.stderr


# -- survey years ----------------------------------------------------------------------------
def test_a_landing_folder_not_named_by_a_year_is_skipped_with_a_warning(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    monkeypatch.setenv("IOM_DATA_DIR", str(data))
    (data / "landing" / "²").mkdir(parents=True)
    (data / "landing" / "drafts").mkdir()
    assert main(["run"]) == 2  # nothing else to run
    err = capsys.readouterr().err
    assert "skipping" in err and "²" in err and "drafts" in err
    assert "Traceback" not in err and "ValueError" not in err


@pytest.mark.parametrize("year", [1999, 2010, dt.date.today().year + 2, 99999])
def test_a_year_outside_the_questionnaires_range_is_refused_before_anything_is_written(tmp_path, monkeypatch, capsys, year):
    data = tmp_path / "data"
    monkeypatch.setenv("IOM_DATA_DIR", str(data))
    small_landing(data, year)
    assert main(["run", "--year", str(year)]) == 2
    err = capsys.readouterr().err
    assert f"{year} is not a survey year" in err and "2011" in err
    assert sorted(p.name for p in data.iterdir()) == ["landing"]  # no warehouse, no instance, no publication


def test_the_landing_sensor_never_launches_a_year_outside_the_range(tmp_path):
    from iom_pipeline.landing import landed_years

    small_landing(tmp_path, 2013)
    small_landing(tmp_path, 99999)
    (tmp_path / "landing" / "²").mkdir()
    assert [y.year for y in landed_years(tmp_path / "landing")] == [2013]


# -- help and version ------------------------------------------------------------------------
def test_run_help_documents_exit_codes_and_environment():
    proc = subprocess.run([*IOM, "run", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for text in ("exit status", "130", "143", "IOM_DATA_DIR", "DAGSTER_HOME", "--quiet", "--log-level"):
        assert text in proc.stdout, text
    for code in ("0 ", "1 ", "2 ", "3 "):
        assert f"\n  {code}" in proc.stdout


def test_version():
    proc = subprocess.run([*IOM, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("iom ") and proc.stdout.strip() != "iom unknown"


# -- progress and signals (real runs) --------------------------------------------------------
@pytest.mark.slow
def test_run_prints_a_line_per_step_as_it_goes_and_quiet_prints_none(tmp_path):
    data = tmp_path / "data"
    small_landing(data)
    proc = subprocess.Popen([*IOM, "run", "--year", "2013"], env=env_for(data), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines, seen_at = [], []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        seen_at.append(time.monotonic())
    assert proc.wait(timeout=600) == 0, proc.stderr.read()
    steps = [line.split()[0] for line in lines if line.startswith("  ") and " s" in line]
    for step in ("landing_files", "staging_models", "marts_models", "audit/expectation_result", "publication/published"):
        assert step in steps, (step, lines)
    assert steps.index("landing_files") < steps.index("marts_models") < steps.index("publication/published")
    landing = next(line for line in lines if line.lstrip().startswith("landing_files"))
    assert "rows" in landing
    # printed as the run went, not all at the end
    assert seen_at[lines.index(landing)] < seen_at[-1] - 0.5
    quiet = subprocess.run([*IOM, "run", "--year", "2013", "--quiet"], env=env_for(data), capture_output=True,
                           text=True, timeout=600)
    assert quiet.returncode == 0 and quiet.stdout.count("\n") == 1 and "published" in quiet.stdout
    # --log-level INFO adds Dagster's log lines: what each step built
    logged = subprocess.run([*IOM, "run", "--year", "2013", "--quiet", "--log-level", "INFO"], env=env_for(data),
                            capture_output=True, text=True, timeout=600)
    assert logged.returncode == 0
    assert "staging.stg_submissions: 12 rows for 2013" in logged.stdout + logged.stderr


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_at_any_moment_ends_the_run_cleanly(tmp_path, signum):
    """At start-up, during the models and during the publication step: one line naming the
    signal, 128 + its number, the lock free, nothing left running, the publication untouched.

    The progress lines trail the run by up to a poll, so a signal sent on seeing the report's
    line may land after the swap: the run must then say that its publication is in place, and
    that publication must be whole (or, landing as the process exits, end it as a signal does)."""
    data = tmp_path / "data"
    small_landing(data)
    assert subprocess.run([*IOM, "run", "--year", "2013", "--quiet"], env=env_for(data), timeout=600).returncode == 0
    before = digest(data / "publication")
    name = signal.Signals(signum).name
    moments = {"start-up": "iom run", "models": "staging_models", "publication": "publication/report"}
    for moment, marker in moments.items():
        proc = subprocess.Popen([*IOM, "run", "--year", "2013"], env=env_for(data), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        for line in proc.stdout:
            if marker in line:
                break
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=300)
        if moment == "publication" and proc.returncode == -signum and not err and "published in" in out:
            # the line came in the progress' last poll, the signal as the process was exiting
            before = digest(data / "publication")
        else:
            assert proc.returncode == 128 + signum, (moment, proc.returncode, err)
            assert "Traceback" not in err and "Exception ignored" not in err, (moment, err)
            last = err.strip().splitlines()[-1]
            if moment == "publication" and last.startswith(f"iom run: stopped by {name} after 2013 was published"):
                after = digest(data / "publication")
                assert sorted(after) == sorted(before), "the new publication is not whole"
                assert after["iom_marts.duckdb"] != before["iom_marts.duckdb"], "said published, but the snapshot is the old one"
                before = after
            else:
                assert last == f"iom run: stopped by {name}; the previous publication is untouched", (moment, err)
                assert digest(data / "publication") == before, moment
        lock = data / "warehouse" / ".iom-run.lock"
        assert lock.read_text() == "", moment  # released (the holder's note cleared)
        leftover = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True)
        assert leftover.stdout.strip() == "", (moment, leftover.stdout)


@pytest.mark.slow
def test_a_run_marked_canceling_never_publishes_even_without_its_interrupt(tmp_path):
    """Terminate in the UI (and a stop signal to `iom run`) marks the run canceling before any
    interrupt reaches it; Python can drop that interrupt. Here the run is marked canceling from
    another process and no interrupt is sent at all: the steps go on, the publication does not."""
    from dagster import DagsterInstance, DagsterRunStatus

    data = tmp_path / "data"
    small_landing(data)
    assert subprocess.run([*IOM, "run", "--year", "2013", "--quiet"], env=env_for(data), timeout=600).returncode == 0
    before = digest(data / "publication")
    proc = subprocess.Popen([*IOM, "run", "--year", "2013"], env=env_for(data), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    run_id = proc.stdout.readline().split()[-1]  # "iom run: 2013: run <id>"
    for line in proc.stdout:
        if "staging_models" in line:
            break
    with DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        instance.report_run_canceling(instance.get_run_by_id(run_id), message="Terminate, as the UI sends it")
        out, err = proc.communicate(timeout=300)
        status = instance.get_run_by_id(run_id).status
    assert proc.returncode == 1, (out, err)
    assert "step publication__published failed: Failure: the run was asked to stop (status CANCELING)" in err, err
    assert "previous publication is untouched" in err
    assert digest(data / "publication") == before
    assert status == DagsterRunStatus.CANCELED  # as the UI shows a terminated run
