"""The Great Expectations suites on a small real warehouse (2013 and 2011 in one file).

Clean marts pass every suite; each corruption fails the expectation meant to catch it, with what
was observed; the Data Docs site is written. One GX run over the clean warehouse is shared.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb
import pandas as pd
import pytest

from exports import row, tick, write_landing
from iom_pipeline.paths import PROJECT_ROOT
from iom_pipeline.pipeline import run_year
from iom_pipeline.quality import expand_suite, read_table, required_facts, run_suite, suite_names, warehouse_facts
from iom_pipeline.quality.expectations import QUESTIONNAIRE_VALUES, _questionnaire_values

YES, NO = "Yes", "No"
SEVERAL = "Several arrangements covering different parts of the area"
ONE = "One arrangement covering the whole area"
YEARS = (2013, 2011)
SUITES = ("arrangement", "csp_return", "question_summary", "stg_submissions", "submission_outcome")

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


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("expectations")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IOM_DATA_DIR", str(root / "data"))
        write_landing(root / "data" / "landing" / "2013", ROWS_2013)
        write_landing(root / "data" / "landing" / "2011", ROWS_2011, version="iom_2011")
        con = duckdb.connect(str(root / "warehouse.duckdb"))
        for year in YEARS:
            run_year(con, year)
    yield root, con
    con.close()


@pytest.fixture(scope="module")
def frames(warehouse):
    _, con = warehouse
    return {(name, year): read_table(con, name, year) for name in SUITES for year in YEARS}


@pytest.fixture(scope="module")
def facts(warehouse):
    _, con = warehouse
    return {year: warehouse_facts(con, year) for year in YEARS}


@pytest.fixture(scope="module")
def clean_run(warehouse, frames, facts):
    """Every suite, both years, with Data Docs: the one shared GX run."""
    docs_dir = warehouse[0] / "warehouse" / "gx_data_docs"
    results = {(n, y): run_suite(n, frames[n, y], y, facts[y], docs_dir) for y in YEARS for n in SUITES}
    return docs_dir, results


def failed(result, expectation: str, column: str | None = None) -> dict:
    matches = result.failed(expectation, column)
    assert matches, f"expected {expectation} on {column} to fail:\n{result.summary()}"
    return matches[0]


def only_failures(result) -> set[tuple[str, tuple[str, ...]]]:
    return {(r["expectation"], tuple(r["columns"])) for r in result.failures}


# -- the suites as defined -----------------------------------------------------------------
def test_one_suite_per_table():
    assert suite_names() == sorted(SUITES)


def test_facts_measured_from_the_warehouse(facts):
    assert facts[2013] == {"export_rows": 6, "frame_size": 4, "counted_rows": 3}
    assert facts[2011] == {"export_rows": 2, "frame_size": 4, "counted_rows": 2}


def test_questionnaire_templates_expand_per_year():
    csp_2013 = expand_suite("csp_return", 2013, {"frame_size": 4, "counted_rows": 3})
    in_set = {s.kwargs["column"]: s.kwargs["value_set"] for s in csp_2013.expectations
              if s.type == "expect_column_values_to_be_in_set" and "value_set" in s.kwargs
              and s.kwargs["column"] not in ("survey_year", "responded", "other_version_answers")}
    assert in_set == {
        "iom_in_place": ["yes", "no"], "no_iom_plans": ["planning", "no_plans"], "established": ["fully", "partly"],
        "arrangements": ["one", "several"], "arrangement_count": ["2", "3", "4_or_more"], "prioritises": ["yes", "no"],
    }
    csp_2011 = expand_suite("csp_return", 2011, {"frame_size": 4, "counted_rows": 3})
    established = next(s for s in csp_2011.expectations if s.kwargs.get("column") == "established"
                       and s.type == "expect_column_values_to_be_in_set")
    assert established.kwargs["value_set"] == ["fully", "partly", "dont_know"]
    row_count = next(s for s in csp_2013.expectations if s.type == "expect_table_row_count_to_equal")
    assert row_count.kwargs == {"value": 4}
    summary = expand_suite("question_summary", 2013, {"frame_size": 4, "counted_rows": 3})
    keys = next(s for s in summary.expectations if s.type == "expect_column_distinct_values_to_contain_set")
    assert {"response/responded", "colocated/all_four", "priority_type/more_than_one", "offenders/over_500"} <= set(
        keys.kwargs["value_set"]
    )
    assert len(keys.kwargs["value_set"]) == 59


def test_documented_questionnaire_values_are_the_ones_expanded():
    assert set(QUESTIONNAIRE_VALUES) == set(_questionnaire_values("iom_2013")) == set(_questionnaire_values("iom_2011"))


def test_missing_fact_is_refused(frames):
    assert required_facts("csp_return") == ["counted_rows", "frame_size"]
    with pytest.raises(ValueError, match="frame_size"):
        run_suite("csp_return", frames["csp_return", 2013], 2013, {"counted_rows": 3})


def test_importing_the_package_does_not_import_great_expectations():
    code = "import sys, iom_pipeline.quality; assert 'great_expectations' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT)


def test_suites_and_their_data_docs_never_load_what_great_expectations_defers(frames, facts, tmp_path):
    """As in `iom run`'s helper process: Great Expectations loaded with scipy.stats and altair
    deferred, then every suite run with its Data Docs."""
    for name in SUITES:
        frames[name, 2013].to_pickle(tmp_path / f"{name}.pkl")
    code = f"""
import sys
from pathlib import Path
import pandas as pd
from iom_pipeline.lazy_imports import UNUSED_BY_GREAT_EXPECTATIONS, load_great_expectations
load_great_expectations()
from iom_pipeline.quality import run_suite
for name in {list(SUITES)!r}:
    frame = pd.read_pickle(Path({str(tmp_path)!r}) / f"{{name}}.pkl")
    result = run_suite(name, frame, 2013, {facts[2013]!r}, docs_dir=Path({str(tmp_path / "docs")!r}))
    assert result.success and result.docs_index, result.summary()
for name in UNUSED_BY_GREAT_EXPECTATIONS:
    assert type(sys.modules[name]).__name__ == "_LazyModule", name
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT)


# -- clean warehouse -----------------------------------------------------------------------
@pytest.mark.parametrize("year", YEARS)
@pytest.mark.parametrize("name", SUITES)
def test_clean_warehouse_passes(clean_run, name, year):
    result = clean_run[1][name, year]
    assert result.success and not result.failures, result.summary()
    assert result.statistics["evaluated_expectations"] == len(result.results) > 5
    assert result.statistics["successful_expectations"] == len(result.results)


def test_data_docs_written(clean_run):
    docs_dir, results = clean_run
    index = docs_dir / "index.html"
    assert index.exists()
    html = index.read_text(encoding="utf-8")
    for (name, year), result in results.items():
        assert f"{name}_{year}" in html
        assert result.docs_error is None
        page = Path(unquote(urlparse(result.docs_url).path))
        assert page.exists() and docs_dir.resolve() in page.parents
        assert f"{name}_{year}" in str(page)
    assert (docs_dir / "expectations" / "csp_return_2013.html").exists()


def test_a_rerun_replaces_the_year_page(warehouse, frames, facts):
    docs_dir = warehouse[0] / "rerun_docs"
    first = run_suite("arrangement", frames["arrangement", 2013], 2013, facts[2013], docs_dir)
    second = run_suite("arrangement", frames["arrangement", 2013], 2013, facts[2013], docs_dir)
    assert first.docs_url != second.docs_url
    pages = list((docs_dir / "validations" / "arrangement_2013").rglob("*.html"))
    assert pages == [Path(unquote(urlparse(second.docs_url).path))]


# -- corruptions -----------------------------------------------------------------------------
def corrupt_and_run(frames, facts, name: str, year: int, change):
    """The suite on a changed copy of the clean frame (no Data Docs)."""
    return run_suite(name, change(frames[name, year].copy()), year, facts[year], None)


def _set(df: pd.DataFrame, where, column: str, value):
    df.loc[where(df), column] = value
    return df


def test_pct_out_of_range(frames, facts):
    result = corrupt_and_run(frames, facts, "question_summary", 2013,
                             lambda df: _set(df, lambda d: d.question_id == "iom_in_place", "pct", 140.0))
    assert not result.success
    r = failed(result, "expect_column_values_to_be_between", "pct")
    assert r["unexpected_count"] == 2 and r["unexpected_examples"] == [140.0, 140.0]


def test_duplicated_key(frames, facts):
    result = corrupt_and_run(frames, facts, "question_summary", 2013, lambda df: pd.concat([df, df.iloc[[5]]]))
    r = failed(result, "expect_compound_columns_to_be_unique")
    assert r["unexpected_count"] == 2
    assert r["unexpected_examples"][0] == {
        "survey_year": 2013, "question_id": frames["question_summary", 2013].iloc[5].question_id,
        "option_id": frames["question_summary", 2013].iloc[5].option_id,
    }
    assert only_failures(result) == {("expect_compound_columns_to_be_unique", ("survey_year", "question_id", "option_id"))}


def test_n_above_base(frames, facts):
    def change(df):
        i = df.index[(df.question_id == "support_tool") & (df.option_id == "none")][0]
        df.loc[i, "n"] = df.loc[i, "base_n"] + 3
        return df

    result = corrupt_and_run(frames, facts, "question_summary", 2013, change)
    r = failed(result, "expect_column_pair_values_a_to_be_greater_than_b", "n")
    assert r["columns"] == ["base_n", "n"] and r["unexpected_examples"] == [[2, 5]]


def test_unknown_option_in_summary(frames, facts):
    result = corrupt_and_run(frames, facts, "question_summary", 2013,
                             lambda df: _set(df, lambda d: d.option_id == "idiom", "option_id", "telepathy"))
    r = failed(result, "expect_column_pair_values_to_be_in_set", "option_id")
    assert r["unexpected_examples"] == [["monitoring", "telepathy"]]
    missing = failed(result, "expect_column_distinct_values_to_contain_set", "question_option")
    assert missing["missing"] == ["monitoring/idiom"]


def test_missing_option_row(frames, facts):
    result = corrupt_and_run(frames, facts, "question_summary", 2013,
                             lambda df: df[~((df.question_id == "colocated") & (df.option_id == "all_four"))])
    r = failed(result, "expect_column_distinct_values_to_contain_set", "question_option")
    assert r["missing_count"] == 1 and r["missing"] == ["colocated/all_four"]
    assert not result.success


def test_unknown_option_id_in_csp_return(frames, facts):
    result = corrupt_and_run(frames, facts, "csp_return", 2013,
                             lambda df: _set(df, lambda d: d.csp_code == "E22000001", "established", "mostly"))
    r = failed(result, "expect_column_values_to_be_in_set", "established")
    assert r["unexpected_examples"] == ["mostly"]
    assert only_failures(result) == {("expect_column_values_to_be_in_set", ("established",))}


def test_csp_return_rows_against_the_frame(frames, facts):
    result = corrupt_and_run(frames, facts, "csp_return", 2013, lambda df: df[df.csp_code != "W14000001"])
    r = failed(result, "expect_table_row_count_to_equal")
    assert r["observed_value"] == 3 and "value=4" in r["kwargs"]


def test_responded_against_the_counted_returns(frames, facts):
    result = corrupt_and_run(frames, facts, "csp_return", 2013,
                             lambda df: _set(df, lambda d: d.csp_code == "W14000001", "responded", True))
    assert failed(result, "expect_column_sum_to_be_between", "responded")["observed_value"] == 4


def test_other_year_columns_stay_empty(frames, facts):
    result = corrupt_and_run(frames, facts, "csp_return", 2011,
                             lambda df: _set(df, lambda d: d.csp_code == "E22000001", "prioritises", "yes"))
    assert failed(result, "expect_column_values_to_be_in_set", "other_version_answers")["unexpected_examples"] == [1]


def test_unknown_caseload_band(frames, facts):
    result = corrupt_and_run(frames, facts, "arrangement", 2013,
                             lambda df: _set(df, lambda d: d.arrangement_no == 2, "offenders", "lots"))
    assert failed(result, "expect_column_values_to_be_in_set", "offenders")["unexpected_examples"] == ["lots"]


def test_submission_outcome_rows_and_outcomes(frames, facts):
    def change(df):
        df = df[df.response_id != 6].copy()
        df.loc[df.response_id == 5, "outcome"] = "lost"
        return df

    result = corrupt_and_run(frames, facts, "submission_outcome", 2013, change)
    assert failed(result, "expect_table_row_count_to_equal")["observed_value"] == 5
    assert failed(result, "expect_column_values_to_be_in_set", "outcome")["unexpected_examples"] == ["lost"]


def test_duplicated_response_id_and_personal_data_in_staging(frames, facts):
    def change(df):
        df = df.copy()
        df.loc[df.response_id == 2, "response_id"] = 1
        df["respondent_email"] = "someone@example.org"
        return df

    result = corrupt_and_run(frames, facts, "stg_submissions", 2013, change)
    assert failed(result, "expect_column_values_to_be_unique", "response_id")["unexpected_examples"] == [1, 1]
    columns = failed(result, "expect_table_columns_to_match_set")
    assert columns["unexpected_examples"] == ["respondent_email"]


def test_a_warning_does_not_fail_the_suite(frames, facts):
    result = corrupt_and_run(frames, facts, "stg_submissions", 2013,
                             lambda df: _set(df, lambda d: d.response_id == 2, "status", "done"))
    r = failed(result, "expect_column_values_to_be_in_set", "status")
    assert r["severity"] == "warning" and r["unexpected_examples"] == ["done"]
    assert result.success and result.statistics["failed_warning"] == 1
