"""The publication gate: a wrong number anywhere stops `iom run` and leaves publication/ alone."""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterEventType, DagsterInstance

from iom_pipeline import pipeline
from dagster_launch import dagster_materialize
from iom_pipeline.cli import main

pytestmark = pytest.mark.slow


def digest(directory) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def corrupt_after_build(monkeypatch, mart: str, assignment: str) -> None:
    """Change one row (agency/police) of `marts.<mart>` in flight, right after the model builds it."""
    build = pipeline.build_model

    def corrupting_build(con, model, year, qn):
        rows = build(con, model, year, qn)
        if model.name == mart:
            con.execute(f"update marts.{mart} {assignment} "
                        "where survey_year = ? and question_id = 'agency' and option_id = 'police'", [year])
        return rows

    monkeypatch.setattr(pipeline, "build_model", corrupting_build)


@pytest.fixture
def published(tmp_path, monkeypatch):
    """The reconstructed 2013 sample, published once."""
    monkeypatch.setenv("IOM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    assert main(["sample", "--year", "2013"]) == 0
    assert main(["run", "--year", "2013"]) == 0
    return tmp_path


def test_a_published_figure_that_differs_blocks_the_publication(published, capsys):
    before = digest(published / "publication")
    path = published / "landing" / "2013" / "published.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        if (r["question_id"], r["option_id"]) == ("agency", "housing"):
            r["published_pct"] = "81"  # the marts say 80
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    capsys.readouterr()
    assert main(["run", "--year", "2013"]) == 1
    err = capsys.readouterr().err
    assert "reconciles_with_published_figures" in err
    assert digest(published / "publication") == before


def test_a_corrupted_mart_value_blocks_the_publication(published, capsys, monkeypatch):
    before = digest(published / "publication")
    corrupt_after_build(monkeypatch, "question_summary", "set n = n + 1")
    capsys.readouterr()
    assert main(["run", "--year", "2013"]) == 1
    err = capsys.readouterr().err
    assert "percentages_agree_with_counts" in err
    assert digest(published / "publication") == before


def test_a_bi_reader_holding_the_snapshot_never_blocks_a_run(published):
    snapshot = published / "publication" / "iom_marts.duckdb"
    reader = duckdb.connect(str(snapshot), read_only=True)
    try:
        query = "select n from marts.question_summary where survey_year = 2013 and question_id = 'response'"
        assert reader.execute(query).fetchall() == [(184,)]
        # The frame grows by one CSP: the next publication's response base changes.
        frame = published / "landing" / "2013" / "frame.csv"
        with frame.open("a", encoding="utf-8", newline="") as fh:
            fh.write("E22999999,Synthetic Extra CSP\r\n")
        (published / "landing" / "2013" / "published.csv").unlink()  # its response rate no longer holds
        assert main(["run", "--year", "2013"]) == 0
        # The old reader still sees its consistent snapshot ...
        assert reader.execute(query).fetchall() == [(184,)]
        assert reader.execute(
            "select base_n from marts.question_summary where survey_year = 2013 and question_id = 'response'"
        ).fetchall() == [(292,)]
    finally:
        reader.close()
    # ... and a new reader sees the new one.
    fresh = duckdb.connect(str(snapshot), read_only=True)
    assert fresh.execute(
        "select base_n from marts.question_summary where survey_year = 2013 and question_id = 'response'"
    ).fetchall() == [(293,)]
    fresh.close()


def test_a_failed_expectation_suite_blocks_the_publication(published, capsys, monkeypatch):
    """A value only Great Expectations looks at (the questionnaire version a row was summarised
    with) fails the question_summary suite."""
    before = digest(published / "publication")
    corrupt_after_build(monkeypatch, "question_summary", "set questionnaire_version = 'iom_2099'")
    capsys.readouterr()
    assert main(["run", "--year", "2013"]) == 1
    err = capsys.readouterr().err
    assert "expectations_question_summary" in err and "iom_2099" in err
    assert "reconciles_with_published_figures" not in err  # only the suite saw it
    assert digest(published / "publication") == before
    con = duckdb.connect(str(published / "warehouse" / "iom.duckdb"), read_only=True)
    failed = con.execute(
        "select expectation, columns from audit.expectation_result "
        "where survey_year = 2013 and suite = 'question_summary' and not success"
    ).fetchall()
    con.close()
    assert failed == [("expect_column_values_to_be_in_set", "questionnaire_version")]


def test_a_name_in_a_figures_compressed_metadata_blocks_the_publication(published, capsys, monkeypatch):
    """A respondent's name reaching a published file (here a PNG's compressed text chunk, which a
    plain byte scan cannot read) stops the publication."""
    import struct
    import zlib

    from iom_pipeline.personal_data import personal_values
    from iom_pipeline.publication import figures

    con = duckdb.connect(str(published / "warehouse" / "iom.duckdb"), read_only=True)
    try:
        name = sorted(v for v in personal_values(con, 2013) if " " in v and "@" not in v)[0]
    finally:
        con.close()
    write_figure = figures.write_figure

    def leaking_write_figure(data, out_dir, settings):
        written = write_figure(data, out_dir, settings)
        png = written["png"].read_bytes()
        body = b"Author\x00\x00" + zlib.compress(name.encode("latin-1"))
        leak = struct.pack(">I", len(body)) + b"zTXt" + body + struct.pack(">I", zlib.crc32(b"zTXt" + body))
        written["png"].write_bytes(png[:33] + leak + png[33:])  # after the 33-byte signature and header
        return written

    monkeypatch.setattr(figures, "write_figure", leaking_write_figure)
    before = digest(published / "publication")
    capsys.readouterr()
    assert main(["run", "--year", "2013"]) == 1
    err = capsys.readouterr().err
    assert "no_personal_data_in_publication" in err
    assert name not in err  # the gate names files, never the values
    assert digest(published / "publication") == before


def test_iom_run_and_a_dagster_launch_publish_the_same_files(published, tmp_path_factory):
    """`iom run` is only a front door: the same year launched as the UI and the schedule launch it
    (`dagster asset materialize`) publishes the same files, byte for byte, and records the same
    checks with links to the Data Docs."""
    launched_dir = tmp_path_factory.mktemp("launched")
    env = {**os.environ, "IOM_DATA_DIR": str(launched_dir)}
    subprocess.run([sys.executable, "-m", "iom_pipeline.cli", "sample", "--year", "2013"], env=env, check=True,
                   capture_output=True)
    launched = dagster_materialize(launched_dir, 2013)
    assert launched.returncode == 0, launched.stderr[-4000:]
    by_cli = digest(published / "publication" / "2013")
    by_dagster = digest(launched_dir / "publication" / "2013")
    assert sorted(by_cli) == sorted(by_dagster)
    assert any(name.endswith(".png") for name in by_cli) and "report.html" in by_cli
    # The spreadsheets record when they were written.
    stamped = (".xlsx", ".ods")
    assert {k: v for k, v in by_cli.items() if not k.endswith(stamped)} == {
        k: v for k, v in by_dagster.items() if not k.endswith(stamped)
    }
    checks = {}
    for data_dir in (published, launched_dir):
        with DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
            run = instance.get_runs(limit=1)[0]
            evaluations = [
                e.dagster_event.event_specific_data
                for e in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
            ]
        checks[data_dir] = sorted((e.check_name, e.passed) for e in evaluations)
        expectation_checks = [e for e in evaluations if e.check_name.startswith("expectations_")]
        assert expectation_checks
        for evaluation in expectation_checks:
            docs = Path(evaluation.metadata["data_docs"].value.removeprefix("file://"))
            assert docs.is_file() and docs.is_relative_to(data_dir)
    assert checks[published] == checks[launched_dir]


def test_real_returns_without_a_release_entry_are_not_published(tmp_path, monkeypatch, capsys):
    """Data not marked synthetic is published only with its release metadata: the gate names the
    missing entry, and nothing reaches publication/."""
    from exports import row, tick, write_landing

    monkeypatch.setenv("IOM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    rows = [row(i, f"E2200000{1 + i % 3}", "", q1_iom_in_place="Yes", a1_agency_police="Police",
                **tick("q7_tool_key_principles")) for i in range(1, 7)]
    write_landing(tmp_path / "landing" / "2013", rows, synthetic=False)
    assert main(["run", "--year", "2013", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "release_ready" in err and "2013" in err
    assert not (tmp_path / "publication" / "2013").exists()


def test_published_figures_for_another_year_only_compare_nothing_and_block(published, capsys):
    """A published.csv that is read but holds no figure of the run's year compares nothing: the
    reconciliation fails rather than pass on zero comparisons."""
    before = digest(published / "publication")
    path = published / "landing" / "2013" / "published.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0], *(line.replace("2013,", "2011,", 1) for line in lines[1:])]) + "\n",
                    encoding="utf-8")
    capsys.readouterr()
    assert main(["run", "--year", "2013", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "reconciles_with_published_figures" in err and "examined no rows" in err
    assert digest(published / "publication") == before
