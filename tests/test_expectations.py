"""The Great Expectations suites on a small real warehouse (2013 and 2011 in one file).

The suite files are what `build_suite` makes of each questionnaire; clean marts pass; each
corrupted mart value fails the expectation meant to catch it, with what was observed, and fails
the Dagster check; the Data Docs site is written. Corruptions are made in a transaction that is
rolled back, so the module's one warehouse stays clean.
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

import dagster as dg
import duckdb
import pytest

from exports import row, tick, write_landing
from iom_pipeline.paths import PROJECT_ROOT
from iom_pipeline.pipeline import run_year
from iom_pipeline.quality import SUITE_TABLES, suite_names
from iom_pipeline.quality.expectations import (
    SUITES_DIR,
    build_suite,
    load_suite,
    run_suites,
    suite_json,
    suite_parameters,
    suite_path,
)
from iom_pipeline.questionnaire import all_questionnaires

YES, NO = "Yes", "No"
SEVERAL = "Several arrangements covering different parts of the area"
ONE = "One arrangement covering the whole area"
YEARS = (2013, 2011)

ROWS_2013 = [
    row(1, "E22000001", "", q1_iom_in_place=YES, q2_established="Fully established", q3_arrangements=SEVERAL,
        q3a_arrangement_count="2", q5_prioritise=YES, q5_type_other_text="Burglars",
        a1_name="North", a1_offenders="0-100", a2_name="South", a2_offenders="More than 500",
        **tick("q4_coloc_probation"), **tick("q4_coloc_drug_alcohol"), **tick("q4_coloc_local_authority"),
        **tick("q5_type_ppo"), **tick("q5_type_young"), **tick("q6_monitor_idiom"), **tick("q7_tool_none"),
        **tick("a1_agency_police"), **tick("a1_agency_probation"), **tick("a2_agency_police")),
    row(2, "", "stockton on tees", q1_iom_in_place=NO, q1a_no_iom_plans="No current plans",
        **tick("q7_tool_key_principles")),
    row(3, "E22000002", "", status="Partial", q1_iom_in_place=YES),
    row(4, "E22000002", "", q1_iom_in_place=YES, q3_arrangements=ONE, **tick("a1_agency_local_authority")),
    row(5, "", "Atlantis", q1_iom_in_place=YES),
    row(6, "W14000001", "", q1_iom_in_place=""),
]
ISO = {"started": "2011-05-01 09:00:00", "ended": "2011-05-01 09:30:00"}
ROWS_2011 = [
    row(1, "E22000001", "", q1_iom_in_place=YES, q2_established="Don't know",
        **tick("a1_agency_police", "iom_2011"), **ISO),
    row(2, "E22000003", "", q1_iom_in_place=NO, q1a_no_iom_plans="Planning to implement", **ISO),
]


def build_warehouse(root: Path) -> duckdb.DuckDBPyConnection:
    """2011 and 2013 from the hand-made exports above, in `root/warehouse.duckdb`."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IOM_DATA_DIR", str(root / "data"))
        write_landing(root / "data" / "landing" / "2013", ROWS_2013)
        write_landing(root / "data" / "landing" / "2011", ROWS_2011, version="iom_2011")
        con = duckdb.connect(str(root / "warehouse.duckdb"))
        for year in sorted(YEARS):  # 2013 is compared with 2011
            run_year(con, year)
    return con


@contextmanager
def corrupted(con, *statements: str):
    """The warehouse with some statements applied, rolled back afterwards."""
    con.execute("begin transaction")
    try:
        for statement in statements:
            con.execute(statement)
        yield con
    finally:
        con.execute("rollback")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("expectations")
    con = build_warehouse(root)
    yield root, con
    con.close()


@pytest.fixture(scope="module")
def clean_run(warehouse):
    """Every suite, both years, with Data Docs: the one shared clean run."""
    root, con = warehouse
    docs_dir = root / "gx_data_docs"
    return docs_dir, {year: run_suites(con, year, f"clean-{year}", docs_dir) for year in YEARS}


def failures(results) -> set[tuple[str, str]]:
    return {(r["expectation"], r["columns"]) for r in results.failures}


def failed(results, expectation: str, columns: str) -> dict:
    found = [r for r in results.failures if r["expectation"] == expectation and r["columns"] == columns]
    assert found, f"expected {expectation} on {columns} to fail:\n{results.summary()}"
    return found[0]


def run_corrupted(warehouse, tmp_path, table: str, *statements: str, year: int = 2013):
    _, con = warehouse
    with corrupted(con, *statements):
        return run_suites(con, year, "corrupted", tmp_path / "docs")[table]


# -- the suites as kept --------------------------------------------------------------------
def test_one_suite_file_per_mart_and_questionnaire_written_by_the_generator():
    versions = [qn.version for qn in all_questionnaires()]
    assert sorted(p.name for p in SUITES_DIR.iterdir()) == sorted(
        f"{table}_{v}.json" for table in SUITE_TABLES for v in versions)
    for qn in all_questionnaires():
        for table in SUITE_TABLES:
            # Regenerate with `python -m iom_pipeline.quality.expectations` when this fails.
            assert suite_path(table, qn.version).read_text(encoding="utf-8") == suite_json(build_suite(table, qn))


def test_the_suites_follow_the_questionnaire():
    suite = load_suite("question_summary", "iom_2013")
    by_type = {}
    for e in suite.expectations:
        by_type.setdefault(e.expectation_type, []).append(e)
    pairs = next(e.value_pairs_set for e in by_type["expect_column_pair_values_to_be_in_set"] if e.column_B == "option_id")
    assert {("response", "responded"), ("colocated", "all_four"), ("priority_type", "more_than_one"),
            ("offenders", "over_500")} <= {tuple(p) for p in pairs}
    assert len(pairs) == 59 and by_type["expect_table_row_count_to_equal"][0].value == 59
    assert by_type["expect_column_values_to_be_in_set"][0].value_set == ["iom_2013"]
    older = load_suite("question_summary", "iom_2011")
    assert older.name == "question_summary_iom_2011"
    assert ("established", "dont_know") in next(
        e.value_pairs_set for e in older.expectations
        if e.expectation_type == "expect_column_pair_values_to_be_in_set" and e.column_B == "option_id")


def test_year_dependent_values_are_suite_parameters(warehouse):
    _, con = warehouse
    used = {
        v["$PARAMETER"]
        for table in SUITE_TABLES for qn in all_questionnaires()
        for e in json.loads(suite_path(table, qn.version).read_text())["expectations"]
        for v in e["kwargs"].values() if isinstance(v, dict) and "$PARAMETER" in v
    }
    assert suite_parameters(con, 2013) == {"frame_size": 4, "counted_returns": 3, "previous_survey_year": [2011]}
    assert suite_parameters(con, 2011) == {"frame_size": 4, "counted_returns": 2, "previous_survey_year": []}
    assert used == set(suite_parameters(con, 2013))


def test_importing_the_quality_definitions_does_not_import_great_expectations():
    code = ("import sys, iom_pipeline.quality, iom_pipeline.defs.quality.assets; "
            "assert 'great_expectations' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT)


# -- clean warehouse -----------------------------------------------------------------------
@pytest.mark.parametrize("year", YEARS)
@pytest.mark.parametrize("table", list(SUITE_TABLES))
def test_clean_warehouse_passes(clean_run, table, year):
    result = clean_run[1][year][table]
    assert result.success and not result.failures, result.summary()
    assert result.suite == f"{table}_iom_{year}" and len(result.results) > 15
    assert [r["expectation_no"] for r in result.results] == list(range(1, len(result.results) + 1))


def test_data_docs_written(clean_run):
    docs_dir, results = clean_run
    html = (docs_dir / "index.html").read_text(encoding="utf-8")
    for year, by_table in results.items():
        for table, result in by_table.items():
            assert result.suite in html and f"{table}_{year}" in html
            page = Path(unquote(urlparse(result.docs_url).path))
            assert page.is_file() and docs_dir.resolve() in page.parents
            assert (docs_dir / "expectations" / f"{result.suite}.html").is_file()


def test_a_rerun_replaces_the_year_page(warehouse, tmp_path):
    _, con = warehouse
    docs_dir = tmp_path / "docs"
    first = run_suites(con, 2013, "first", docs_dir)["year_comparison"]
    other_year = run_suites(con, 2011, "other", docs_dir)["year_comparison"]
    second = run_suites(con, 2013, "second", docs_dir)["year_comparison"]
    pages = sorted((docs_dir / "validations" / "year_comparison_iom_2013").rglob("*.html"))
    assert first.docs_url != second.docs_url
    assert pages == [Path(unquote(urlparse(second.docs_url).path))]
    assert Path(unquote(urlparse(other_year.docs_url).path)).is_file()  # other years stay


# -- corrupted marts -------------------------------------------------------------------------
QS = "update marts.question_summary set {} where survey_year = 2013 and {}"


def test_a_value_from_another_questionnaire(warehouse, tmp_path):
    result = run_corrupted(warehouse, tmp_path, "question_summary",
                           QS.format("questionnaire_version = 'iom_2099'", "question_id = 'agency' and option_id = 'police'"))
    assert not result.success
    assert failures(result) == {("expect_column_values_to_be_in_set", "questionnaire_version")}
    r = failed(result, "expect_column_values_to_be_in_set", "questionnaire_version")
    assert r["unexpected_count"] == 1 and r["unexpected_examples"] == ["iom_2099"]
    assert "iom_2099" in result.summary()


def test_pct_out_of_range(warehouse, tmp_path):
    result = run_corrupted(warehouse, tmp_path, "question_summary", QS.format("pct = 140", "question_id = 'iom_in_place'"))
    r = failed(result, "expect_column_values_to_be_between", "pct")
    assert r["unexpected_count"] == 2 and r["unexpected_examples"] == [140.0, 140.0]
    assert not result.success


def test_n_above_base(warehouse, tmp_path):
    result = run_corrupted(warehouse, tmp_path, "question_summary",
                           QS.format("n = base_n + 3", "question_id = 'support_tool' and option_id = 'none'"))
    assert failed(result, "expect_column_pair_values_a_to_be_greater_than_b", "base_n, n")["unexpected_examples"] == [[2, 5]]


def test_unknown_and_missing_options(warehouse, tmp_path):
    unknown = run_corrupted(warehouse, tmp_path, "question_summary", QS.format("option_id = 'telepathy'", "option_id = 'idiom'"))
    r = failed(unknown, "expect_column_pair_values_to_be_in_set", "question_id, option_id")
    assert r["unexpected_examples"] == [["monitoring", "telepathy"]]
    missing = run_corrupted(warehouse, tmp_path, "question_summary",
                            "delete from marts.question_summary where survey_year = 2013 "
                            "and question_id = 'colocated' and option_id = 'all_four'")
    assert failures(missing) == {("expect_table_row_count_to_equal", "")}
    assert failed(missing, "expect_table_row_count_to_equal", "")["observed_value"] == 58


def test_response_row_against_the_frame(warehouse, tmp_path):
    result = run_corrupted(warehouse, tmp_path, "question_summary", QS.format("base_n = 5", "question_id = 'response'"))
    r = failed(result, "expect_column_values_to_be_between", "base_n")
    assert r["row_condition"] == "question_id == response" and r["unexpected_examples"] == [5]


def test_year_comparison_with_the_wrong_year(warehouse, tmp_path):
    _, con = warehouse
    assert con.execute("select count(*) from marts.year_comparison where year_to = 2013").fetchall()[0][0] == 18
    result = run_corrupted(warehouse, tmp_path, "year_comparison",
                           "update marts.year_comparison set year_from = 2009 where year_to = 2013")
    assert failures(result) == {("expect_column_values_to_be_in_set", "year_from")}
    assert not result.success


# -- through Dagster -------------------------------------------------------------------------
class SharedConnection:
    """The test's warehouse connection, as the asset's `duckdb` resource."""

    def __init__(self, con):
        self.con = con

    @contextmanager
    def get_connection(self):
        yield self.con


def materialize_expectations(con, data_dir: Path, year: int = 2013) -> dg.ExecuteInProcessResult:
    from iom_pipeline.defs.quality.assets import expectation_result

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("survey_year", [str(year)])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IOM_DATA_DIR", str(data_dir))
        return dg.materialize([expectation_result], partition_key=str(year), instance=instance,
                              resources={"duckdb": SharedConnection(con)}, raise_on_error=False)


def test_a_failing_critical_expectation_fails_the_blocking_check(warehouse, tmp_path):
    _, con = warehouse
    clean = materialize_expectations(con, tmp_path)
    assert clean.success
    assert {(e.check_name, e.passed) for e in clean.get_asset_check_evaluations()} == {
        (f"expectations_{s}", True) for s in suite_names()}
    stored = con.execute("select suite, count(*), bool_and(success) from audit.expectation_result "
                         "where survey_year = 2013 group by suite order by suite").fetchall()
    assert [(s, ok) for s, _, ok in stored] == [("question_summary", True), ("year_comparison", True)]
    assert (tmp_path / "warehouse" / "gx_data_docs" / "index.html").is_file()

    # The asset writes the warehouse in its own transaction: corrupt, then put the value back.
    police = "question_id = 'agency' and option_id = 'police'"
    con.execute(QS.format("questionnaire_version = 'iom_2099'", police))
    try:
        result = materialize_expectations(con, tmp_path)
    finally:
        con.execute(QS.format("questionnaire_version = 'iom_2013'", police))
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failed_rows = con.execute("select expectation, columns, observed_value, unexpected_examples "
                              "from audit.expectation_result where survey_year = 2013 and not success").fetchall()
    check = evaluations["expectations_question_summary"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "iom_2099" in check.description and check.metadata["survey_year"].value == "2013"
    assert evaluations["expectations_year_comparison"].passed
    assert failed_rows == [("expect_column_values_to_be_in_set", "questionnaire_version", None, '["iom_2099"]')]


def test_the_suites_checks_block_the_publication():
    from iom_pipeline.defs.quality.assets import EXPECTATION_RESULT, asset_checks, assets

    (asset,) = assets
    assert asset_checks == [] and asset.key == EXPECTATION_RESULT
    assert {(s.name, s.blocking) for s in asset.check_specs} == {(f"expectations_{s}", True) for s in suite_names()}
    assert set(asset.asset_deps[EXPECTATION_RESULT]) == {
        dg.AssetKey(["marts", "question_summary"]), dg.AssetKey(["marts", "year_comparison"])}
