"""End to end on the reconstructed samples: every asset materialised as Dagster launches it (the
UI's and the schedule's path), one run per survey year."""

from __future__ import annotations

import csv

import duckdb
import pytest

from dagster_launch import dagster_materialize
from iom_pipeline.paths import PUBLISHED_FIGURES_CSV

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def published_run(tmp_path_factory):
    """`iom sample`, then `dagster asset materialize --select '*'` for 2011 and then 2013 (the
    comparison needs the earlier year); yields the data directory."""
    data = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IOM_DATA_DIR", str(data))
        from iom_pipeline.cli import main

        assert main(["sample", "--year", "2011", "--year", "2013"]) == 0
    for year in (2011, 2013):
        launched = dagster_materialize(data, year)
        assert launched.returncode == 0, launched.stderr[-4000:]
    yield data


def published_figures(year: int) -> list[dict]:
    with PUBLISHED_FIGURES_CSV.open(encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if int(r["survey_year"]) == year]


@pytest.mark.parametrize("year", [2011, 2013])
def test_question_summary_reproduces_every_published_figure(published_run, year):
    con = duckdb.connect(str(published_run / "publication" / "iom_marts.duckdb"), read_only=True)
    summary = {
        (q, o): (pct_rounded, n)
        for q, o, pct_rounded, n in con.execute(
            "select question_id, option_id, pct_rounded, n from marts.question_summary where survey_year = ?", [year]
        ).fetchall()
    }
    figures = published_figures(year)
    assert figures, "no published figures for the year"
    for figure in figures:
        key = (figure["question_id"], figure["option_id"])
        assert key in summary, f"{key} missing from question_summary"
        pct_rounded, n = summary[key]
        if figure["published_pct"]:
            assert pct_rounded == int(figure["published_pct"]), (key, figure["source"])
        if figure["published_n"]:
            assert n == int(figure["published_n"]), (key, figure["source"])


def test_the_2013_response_is_184_of_292(published_run):
    con = duckdb.connect(str(published_run / "publication" / "iom_marts.duckdb"), read_only=True)
    assert con.execute(
        "select n, base_n from marts.question_summary where survey_year = 2013 and question_id = 'response'"
    ).fetchall() == [(184, 292)]
    assert con.execute("select count(*) from marts.csp_return where survey_year = 2013").fetchall() == [(292,)]
    (rows,) = con.execute("select count(*) from marts.submission_outcome where survey_year = 2013").fetchall()[0]
    with (published_run / "landing" / "2013" / "survey_export.csv").open(encoding="utf-8-sig", newline="") as fh:
        assert rows == sum(1 for _ in csv.DictReader(fh))


def test_year_comparison_shows_the_changes_the_report_quotes(published_run):
    con = duckdb.connect(str(published_run / "publication" / "iom_marts.duckdb"), read_only=True)
    rows = {
        option: (pct_from, pct_to, change, significant)
        for option, pct_from, pct_to, change, significant in con.execute(
            """select option_id, pct_rounded_from, pct_rounded_to, change_pp_rounded, significant
               from marts.year_comparison where year_from = 2011 and year_to = 2013 and question_id = 'agency'"""
        ).fetchall()
    }
    assert rows["housing"][:3] == (64, 80, 16) and rows["housing"][3] is True
    assert rows["prison"][:3] == (51, 66, 15)
    assert rows["youth_offending"][:3] == (71, 77, 6)
    for core in ("police", "probation", "local_authority", "drug_alcohol"):
        assert abs(rows[core][2]) <= 3


def test_the_publication_is_complete_and_free_of_personal_data(published_run):
    from iom_pipeline.personal_data import find_in_files

    year_dir = published_run / "publication" / "2013"
    names = {p.name for p in year_dir.iterdir()}
    assert {"report.html", "iom_2013_tables.xlsx", "iom_2013_tables.ods"} <= names
    for figure in ("figure_1", "figure_3", "figure_6"):
        assert {f"{figure}.svg", f"{figure}.png", f"{figure}.csv"} <= names
    with (published_run / "landing" / "2013" / "survey_export.csv").open(encoding="utf-8-sig", newline="") as fh:
        personal = {
            r[c] for r in csv.DictReader(fh) for c in ("respondent_name", "respondent_email", "respondent_phone") if r[c]
        }
    assert personal
    assert find_in_files(published_run / "publication", personal) == []
    # nor in Dagster's run history, event logs and metadata, nor in any scratch file
    assert find_in_files(published_run / "dagster_home", personal) == []
    assert find_in_files(published_run / "work", personal) == []
    report = (year_dir / "report.html").read_text(encoding="utf-8")
    assert "synthetic" in report.lower()
    assert "98 per cent (181 CSPs)" in report
