"""The SQL checks of sql/checks/ on a small real warehouse (2011 and 2013 in one file).

Every check passes on the clean marts; each corruption (made in a transaction that is rolled
back) fails the check meant to catch it, naming the offending rows; through Dagster, a failing
blocking check is an ERROR, a warning a WARN, with their counts in the metadata.
"""

from __future__ import annotations

from dataclasses import replace

import dagster as dg
import pytest

from test_expectations import SharedConnection, build_warehouse, corrupted
from iom_pipeline.defs.shared import survey_years
from iom_pipeline.defs.survey.checks import CHECKS, asset_checks, check_key, mart_checks
from iom_pipeline.quality.sql_checks import CHECKS_DIR, evaluate, read_check

YEARS = (2013, 2011)
BY_NAME = {c.name: c for c in CHECKS}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    con = build_warehouse(tmp_path_factory.mktemp("sql_checks"))
    yield con
    con.close()


def offending(con, name: str, *statements: str, year: int = 2013):
    """The offending rows of one check, on the warehouse changed by `statements`."""
    with corrupted(con, *statements):
        return evaluate(con, replace(BY_NAME[name], max_examples=1000), year).examples


def test_every_file_is_a_check_with_its_header():
    assert len(CHECKS) == len(list(CHECKS_DIR.glob("*.sql"))) >= 20
    assert asset_checks == [mart_checks]
    for check in CHECKS:
        assert check.asset.split(".")[0] == "marts" and check.description
        # all but the two that read the warehouse's columns are about one year's rows
        assert ("{{ year }}" in check.sql) != (check.name == "no_personal_data_outside_raw")
    blocking = {c.name for c in CHECKS if c.blocking}
    assert {"percentages_agree_with_counts", "reconciles_with_published_figures", "outcomes_valid",
            "csp_return_values", "arrangement_values", "has_analysable_returns"} <= blocking
    assert {c.name for c in CHECKS if not c.blocking} == {
        "quality_warnings", "quarantined_rows", "csp_return_geography_missing", "frame_names_match_ons"}


def test_a_header_without_blocking_is_refused(tmp_path):
    path = tmp_path / "bad.sql"
    path.write_text("-- asset: marts.csp_return\n-- description: x\nselect 1\n")
    with pytest.raises(ValueError, match="blocking"):
        read_check(path)


@pytest.mark.parametrize("year", YEARS)
def test_clean_marts_pass(con, year):
    for check in CHECKS:
        outcome = evaluate(con, check, year)
        if check.name == "quarantined_rows" and year == 2013:
            assert outcome.offending_rows == 1 and list(outcome.examples.response_id) == [5]  # Atlantis, an unknown CSP
        elif check.name == "frame_names_match_ons":
            # the hand-made frame borrows ONS codes for other places' names
            assert outcome.offending_rows == 4 and outcome.examples.ons_csp_name.tolist()[0] == "Bath and North East Somerset"
        elif not check.blocking:
            assert outcome.offending_rows == 0, f"{check.name}:\n{outcome.examples}"
        else:
            assert outcome.passed, f"{check.name}:\n{outcome.examples}"
    assert evaluate(con, BY_NAME["csp_return_values"], year).rows_examined == 4  # the frame's CSPs


CSP = "update marts.csp_return set {} where survey_year = {} and csp_code = '{}'"
OUTCOME = "update marts.submission_outcome set {} where survey_year = 2013 and response_id = {}"
QS = "update marts.question_summary set {} where survey_year = 2013 and question_id = '{}' and option_id = '{}'"


def test_duplicated_keys(con):
    rows = offending(con, "csp_return_key_unique",
                     "insert into marts.csp_return select * from marts.csp_return where survey_year = 2013 and csp_code = 'E22000002'")
    assert rows.to_dict("records") == [{"survey_year": 2013, "csp_code": "E22000002", "copies": 2}]
    assert len(offending(con, "year_comparison_key_unique",
                         "insert into marts.year_comparison select * from marts.year_comparison where year_to = 2013 limit 1")) == 1


def test_csp_return_values(con):
    rows = offending(
        con, "csp_return_values",
        CSP.format("established = 'mostly'", 2013, "E22000001"),  # not an option of the question
        CSP.format("iom_in_place = null", 2013, "E22000002"),  # a counted return, screening unanswered
        CSP.format("arrangements_returned = 9", 2013, "E22000003"),  # more than the questionnaire's 6 blocks
        "alter table marts.csp_return add column q99_extra varchar",
    )
    assert sorted(zip(rows.csp_code.fillna(""), rows.column_name, rows.problem)) == [
        ("", "q99_extra", "a column neither the mart nor any questionnaire defines"),
        ("E22000001", "established", "not an option id of the question"),
        ("E22000002", "iom_in_place", "a counted return without an answer to the screening question"),
        ("E22000003", "csp_code", "arrangements_returned outside 0 to the questionnaire's blocks"),
    ]
    # 2011's questionnaire has no q5: its column stays empty in 2011's rows
    other_year = offending(con, "csp_return_values", CSP.format("prioritises = 'yes'", 2011, "E22000001"), year=2011)
    assert other_year[["csp_code", "column_name", "answer"]].to_dict("records") == [
        {"csp_code": "E22000001", "column_name": "prioritises", "answer": "yes"}]


def test_csp_return_against_the_frame_and_the_outcomes(con):
    missing = offending(con, "responded_matches_outcomes",
                        "delete from marts.csp_return where survey_year = 2013 and csp_code = 'W14000001'")
    assert missing[["csp_code", "in_frame", "in_csp_return"]].to_dict("records") == [
        {"csp_code": "W14000001", "in_frame": True, "in_csp_return": False}]
    flipped = offending(con, "responded_matches_outcomes", CSP.format("responded = true", 2013, "W14000001"))
    assert list(flipped.csp_code) == ["W14000001"]
    swapped = offending(con, "responded_matches_outcomes", CSP.format("response_id = 2", 2013, "E22000001"))
    assert list(swapped.csp_code) == ["E22000001"]


def test_arrangement_values(con):
    arrangement = "update marts.arrangement set {} where survey_year = 2013 and csp_code = 'E22000001' and arrangement_no = {}"
    rows = offending(con, "arrangement_values",
                     arrangement.format("offenders = 'lots'", 2), arrangement.format("response_id = 4", 1))
    assert sorted(rows.problem) == ["not an option id of the question", "response_id is not the counted return of the CSP"]


def test_outcomes(con):
    lost = offending(con, "outcomes_add_up", "delete from marts.submission_outcome where survey_year = 2013 and response_id = 6")
    assert lost[["export_rows", "outcome_rows"]].to_dict("records") == [{"export_rows": 6, "outcome_rows": 5}]
    rows = offending(con, "outcomes_valid",
                     OUTCOME.format("outcome = 'lost'", 5),
                     OUTCOME.format("reason = 'later_return_counted'", 6),  # not_analysable's reason is another
                     OUTCOME.format("status = 'done'", 2))
    assert dict(zip(rows.response_id, rows.problem)) == {
        2: "status neither completed nor partial", 5: "unknown outcome", 6: "reason does not belong to the outcome"}
    twice = offending(con, "one_counted_return_per_csp", OUTCOME.format("outcome = 'counted', reason = null", 3))
    assert twice.to_dict("records") == [{"csp_code": "E22000002", "counted": 2, "in_frame": True}]
    layout = offending(con, "outcomes_valid", "alter table marts.submission_outcome add column respondent_name varchar")
    assert list(layout.problem) == ["respondent_name: a column the data dictionary does not have"]


def test_question_summary(con):
    assert list(offending(con, "percentages_agree_with_counts", QS.format("n = n + 1", "agency", "police")).option_id) == ["police"]
    assert list(offending(con, "counts_within_bases", QS.format("n = base_n + 1", "agency", "police")).option_id) == ["police"]
    gone = offending(con, "every_option_present",
                     "delete from marts.question_summary where survey_year = 2013 and question_id = 'colocated' "
                     "and option_id = 'all_four'")
    assert gone.to_dict("records") == [{"question_id": "colocated", "option_id": "all_four"}]
    published = offending(con, "reconciles_with_published_figures",
                          "insert into raw.published_2013 values ('2013', 'agency', 'police', '81', '', 'Table 3')")
    assert published[["option_id", "published_pct", "pct_rounded"]].to_dict("records") == [
        {"option_id": "police", "published_pct": 81, "pct_rounded": 67}]


def test_year_comparison(con):
    change = "update marts.year_comparison set {} where year_to = 2013 and question_id = 'iom_in_place' and option_id = 'yes'"
    assert list(offending(con, "year_comparison_agrees_with_summaries", change.format("significant = not significant")).problem) \
        == ["significant disagrees with the interval"]
    assert list(offending(con, "year_comparison_agrees_with_summaries", change.format("n_to = n_to + 1")).problem) \
        == ["differs from question_summary"]


def test_personal_data_outside_raw(con):
    rows = offending(con, "no_personal_data_outside_raw", "alter table staging.stg_frame add column respondent_email varchar")
    assert rows.to_dict("records") == [
        {"table_schema": "staging", "table_name": "stg_frame", "column_name": "respondent_email"}]


def test_warnings_list_what_they_warn_about_and_count_it_by_kind(con):
    warning = ("insert into marts.quality_warning (survey_year, response_id, csp_code, warning, item, detail) "
               "values (2013, 1, 'E22000001', '{}', 'q1a', 'answered but not asked')")
    kinds = ("routing", "routing", "exclusive_option_with_other", "arrangement_count_mismatch")
    with corrupted(con, *(warning.format(kind) for kind in kinds)):
        outcome = evaluate(con, BY_NAME["quality_warnings"], 2013)
    assert outcome.offending_rows == 4 and not outcome.passed
    assert outcome.counts == {"arrangement_count_mismatch": 1, "exclusive_option_with_other": 1, "routing": 2}
    assert len(offending(con, "csp_return_geography_missing", CSP.format("pfa_code = null", 2013, "E22000001"))) == 1


# -- through Dagster -------------------------------------------------------------------------

def run_checks(con, year: int = 2013) -> dict[str, dg.AssetCheckEvaluation]:
    """The checks step of a run for `year`, after the marts (already built) are "materialised"."""
    keys = sorted({k.asset_key for k in mart_checks.check_keys}, key=lambda k: k.to_user_string())

    @dg.multi_asset(specs=[dg.AssetSpec(k) for k in keys], partitions_def=survey_years)
    def marts():
        for key in keys:
            yield dg.MaterializeResult(asset_key=key)

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("survey_year", [str(year)])
    result = dg.materialize([marts, *asset_checks], partition_key=str(year), instance=instance,
                            resources={"duckdb": SharedConnection(con)}, raise_on_error=False)
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_through_dagster_blocking_checks_fail_and_warnings_warn(con):
    con.execute("delete from audit.check_finding")  # what earlier tests' evaluations remembered
    clean = run_checks(con)
    assert set(clean) == set(BY_NAME)
    for name, evaluation in clean.items():
        meta = evaluation.metadata
        assert meta["survey_year"].value == "2013" and isinstance(meta["offending_rows"].value, int)
        if BY_NAME[name].blocking:
            assert evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR, name
            assert isinstance(meta["rows_examined"].value, int)
    assert not clean["quarantined_rows"].passed and clean["quarantined_rows"].severity == dg.AssetCheckSeverity.WARN
    assert clean["quarantined_rows"].metadata["offending_rows"].value == 1
    assert clean["quarantined_rows"].metadata["new_findings"].value == 1
    # The next run of the year finds the same row: nothing new to warn about, the count still shown.
    again = run_checks(con)["quarantined_rows"]
    assert again.passed and again.metadata["offending_rows"].value == 1 and again.metadata["new_findings"].value == 0
    assert clean["quality_warnings"].passed and clean["quality_warnings"].metadata["offending_rows"].value == 0
    assert clean["percentages_agree_with_counts"].metadata["rows_examined"].value == 59

    con.execute(QS.format("n = n + 1", "agency", "police"))
    try:
        broken = run_checks(con)
    finally:
        con.execute(QS.format("n = n - 1", "agency", "police"))
    failed = broken["percentages_agree_with_counts"]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    assert failed.metadata["offending_rows"].value == 1 and "police" in failed.metadata["differences"].value
    assert check_key(BY_NAME["percentages_agree_with_counts"]) == dg.AssetCheckKey(
        dg.AssetKey(["marts", "question_summary"]), "percentages_agree_with_counts")


# -- a gate that looked at nothing has shown nothing -----------------------------------------
def test_a_blocking_check_that_examined_no_rows_fails(con):
    """The reconciliation of a published.csv whose rows are all for another year compares
    nothing: it fails, where before it passed having compared zero figures."""
    check = BY_NAME["reconciles_with_published_figures"]
    insert = ("insert into raw.published_2013 (survey_year, question_id, option_id, published_pct, published_n, source) "
              "values ('2011', 'iom_in_place', 'yes', '74', '', 'another year')")
    with corrupted(con, "delete from raw.published_2013", insert):
        outcome = evaluate(con, check, 2013)
    assert outcome.applies and outcome.rows_examined == 0 and outcome.examined_nothing and not outcome.passed
    with corrupted(con, "delete from raw.published_2013"):  # no published.csv supplied
        outcome = evaluate(con, check, 2013)
    assert not outcome.applies and outcome.passed


def test_a_year_with_no_analysable_return_is_not_published(con):
    with corrupted(con, "update marts.submission_outcome set outcome = 'not_analysable', reason = 'screening_question_unanswered' "
                        "where survey_year = 2013 and outcome = 'counted'"):
        rows = evaluate(con, BY_NAME["has_analysable_returns"], 2013).examples
    assert len(rows) == 1 and "no return can be counted" in rows.why[0]


def test_frame_names_that_disagree_with_ons_are_listed(con):
    """Two CSPs' names swapped in the frame (real ONS codes) are named, with the ONS names."""
    swap = ("update staging.stg_frame set csp_name = case csp_code when 'E22000001' then 'North Somerset' "
            "when 'E22000003' then 'Bath & North East Somerset' else csp_name end where survey_year = 2013")
    right = ("update staging.stg_frame set csp_name = case csp_code when 'E22000001' then 'BATH and North-East Somerset' "
             "when 'E22000003' then 'North Somerset' when 'E22000002' then 'Bristol City of' "
             "when 'W14000001' then 'Isle of Anglesey' else csp_name end where survey_year = 2013")
    # staging's normalised name follows the name, as stg_frame derives it
    normalised = "update staging.stg_frame set csp_name_normalised = normalise_csp_name(csp_name) where survey_year = 2013"
    with corrupted(con, right, normalised):
        assert evaluate(con, BY_NAME["frame_names_match_ons"], 2013).offending_rows == 0  # normalised names agree
    with corrupted(con, right, swap, normalised):
        rows = evaluate(con, BY_NAME["frame_names_match_ons"], 2013).examples
    assert rows.to_dict("records") == [
        {"csp_code": "E22000001", "frame_name": "North Somerset", "ons_csp_name": "Bath and North East Somerset"},
        {"csp_code": "E22000003", "frame_name": "Bath & North East Somerset", "ons_csp_name": "North Somerset"},
    ]
