"""Faults: a run killed with SIGKILL at any point, and two runs at once.

A killed run, rerun, must give the same marts and publication as an uninterrupted run; the BI
snapshot is never partial or missing once published; a second concurrent run refuses clearly
and never corrupts the warehouse.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
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


def rows_for_test() -> list[dict]:
    rows = []
    for i in range(1, 41):
        code = f"E2200000{1 + i % 3}"
        rows.append(row(i, code, "", ended=f"0{1 + i % 9}/05/2013 10:00", q1_iom_in_place="Yes" if i % 4 else "No",
                        q2_established="Fully established", a1_agency_police="Police", **tick("q7_tool_key_principles")))
    return rows


def env_for(data: Path) -> dict:
    return {**os.environ, "IOM_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}


def iom_run(data: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "iom_pipeline.cli", "run", "--year", "2013", *extra],
        env=env_for(data), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


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


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: its wall time, marts and publication."""
    data = tmp_path_factory.mktemp("reference")
    write_landing(data / "landing" / "2013", rows_for_test())
    started = time.monotonic()
    proc = iom_run(data)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return {
        "seconds": time.monotonic() - started,
        "marts": marts(data / "publication" / "iom_marts.duckdb"),
        "files": text_files(data / "publication" / "2013"),
    }


def test_a_run_killed_at_any_point_then_rerun_gives_the_same_result(tmp_path, reference):
    data = tmp_path / "data"
    write_landing(data / "landing" / "2013", rows_for_test())
    snapshot = data / "publication" / "iom_marts.duckdb"
    published_once = False
    for fraction in (0.15, 0.35, 0.55, 0.75, 0.9, 0.97):
        proc = iom_run(data)
        time.sleep(reference["seconds"] * fraction)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        # Never partial, never missing once it has existed.
        if published_once:
            assert snapshot.exists(), f"snapshot missing after a kill at {fraction:.0%}"
        if snapshot.exists():
            assert marts(snapshot) == reference["marts"], f"partial snapshot after a kill at {fraction:.0%}"
            assert text_files(data / "publication" / "2013") == reference["files"]
            published_once = True
        assert not list((data / "publication").glob("*.tmp")), "scratch files leaked into publication/"
    proc = iom_run(data)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert marts(snapshot) == reference["marts"]
    assert text_files(data / "publication" / "2013") == reference["files"]


def test_a_second_concurrent_run_refuses_clearly_and_the_warehouse_survives(tmp_path, reference):
    data = tmp_path / "data"
    write_landing(data / "landing" / "2013", rows_for_test())
    lock = data / "warehouse" / ".iom-run.lock"
    first = iom_run(data)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (lock.exists() and "pid" in lock.read_text()):
        time.sleep(0.1)
    second = iom_run(data)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 3
    assert "another `iom run`" in err and "Traceback" not in err
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert marts(data / "publication" / "iom_marts.duckdb") == reference["marts"]
    # and with --wait the second one queues behind the first instead
    first = iom_run(data)
    while time.monotonic() < deadline + 120 and not (lock.exists() and "pid" in lock.read_text()):
        time.sleep(0.1)
    waiting = iom_run(data, "--wait", "600")
    assert first.wait(timeout=600) == 0
    out, err = waiting.communicate(timeout=600)
    assert waiting.returncode == 0, err
    assert marts(data / "publication" / "iom_marts.duckdb") == reference["marts"]
