"""The publication gate: a wrong number anywhere stops `iom run` and leaves publication/ alone."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterEventType, DagsterInstance

from iom_pipeline import pipeline
from iom_pipeline.cli import main
from iom_pipeline.quality import suite_names

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
    with) fails the question_summary suite, which runs in `iom run`'s helper process."""
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
    monkeypatch.setenv("IOM_WORKERS", "0")  # the figures are drawn in this process, patched
    before = digest(published / "publication")
    capsys.readouterr()
    assert main(["run", "--year", "2013"]) == 1
    err = capsys.readouterr().err
    assert "no_personal_data_in_publication" in err
    assert name not in err  # the gate names files, never the values
    assert digest(published / "publication") == before


def test_the_helper_process_changes_where_work_runs_not_what_is_published(published, tmp_path_factory, monkeypatch):
    """`iom run` draws some figures and runs the suites in its helper; without it (as from the UI)
    every published file is the same, byte for byte."""
    alone = tmp_path_factory.mktemp("no-helper")
    monkeypatch.setenv("IOM_DATA_DIR", str(alone))
    monkeypatch.setenv("DAGSTER_HOME", str(alone / "dagster_home"))
    monkeypatch.setenv("IOM_WORKERS", "0")
    assert main(["sample", "--year", "2013"]) == 0
    assert main(["run", "--year", "2013"]) == 0
    with_helper = digest(published / "publication" / "2013")
    without = digest(alone / "publication" / "2013")
    assert sorted(with_helper) == sorted(without)
    assert any(name.endswith(".png") for name in with_helper) and "report.html" in with_helper
    # The spreadsheets record when they were written (and are drawn in this process either way).
    stamped = (".xlsx", ".ods")
    assert {k: v for k, v in with_helper.items() if not k.endswith(stamped)} == {
        k: v for k, v in without.items() if not k.endswith(stamped)
    }
    # Either way, every suite's check links to the Data Docs, which hold this run's page for every
    # suite once `iom run` returns (with the helper, the pages are written while the run finishes).
    for data_dir in (published, alone):
        monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
        with DagsterInstance.get() as instance:
            run = instance.get_runs(limit=1)[0]
            evaluations = [
                e.dagster_event.event_specific_data
                for e in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
                if e.dagster_event.event_specific_data.check_name.startswith("expectations_")
            ]
        assert len(evaluations) == len(suite_names())
        docs = data_dir / "warehouse" / "gx_data_docs"
        assert {e.metadata["data_docs"].value for e in evaluations} == {f"file://{docs / 'index.html'}"}
        assert (docs / "index.html").is_file()
        for evaluation in evaluations:
            suite = evaluation.check_name.removeprefix("expectations_")
            assert list((docs / "validations" / f"{suite}_2013" / run.run_id).rglob("*.html")), suite
