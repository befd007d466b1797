"""The pandera validation of the staged submissions, on small hand-made exports staged by the real
SQL models: which cells quarantine their row, which failures refuse the file, which are only
warnings, and which mean the staged table itself is wrong."""

from __future__ import annotations

import duckdb
import pytest

from exports import row, write_landing
from iom_pipeline.ingest import InputFileError
from iom_pipeline.pipeline import build_models, land, load_config
from iom_pipeline.questionnaire import questionnaire_for_year
from iom_pipeline.schemas import MAX_TEXT_LENGTH
from iom_pipeline.sql_models import models_in_order
from iom_pipeline.validation import StagingError, validate_submissions

FMT_2013 = "%d/%m/%Y %H:%M"


@pytest.fixture
def staged(tmp_path, monkeypatch):
    """Land and stage the given rows for a year; return the open warehouse connection."""
    monkeypatch.setenv("IOM_DATA_DIR", str(tmp_path / "data"))
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))

    def _stage(rows, year: int = 2013, version: str = "iom_2013", columns=None):
        write_landing(tmp_path / "data" / "landing" / str(year), rows, version=version, columns=columns)
        land(con, year)
        load_config(con, year)
        build_models(con, year, models_in_order("staging"))
        return con

    yield _stage
    con.close()


def validate(con, year: int = 2013):
    return validate_submissions(con, questionnaire_for_year(year), year)


def audit(con, year: int = 2013) -> set[tuple]:
    return set(con.execute(
        "select source_row, response_id, column_name, value, check_name, reason "
        "from audit.validation_failure where survey_year = ?", [year]).fetchall())


def test_a_valid_export_has_no_failures_and_no_warnings(staged):
    con = staged([row(1, "E22000001", q1_iom_in_place="Yes", q2_established="Fully established",
                      q4_coloc_probation="Probation", a1_name="North"),
                  row(2, "E22000002", status="Partial", q1_iom_in_place="No")])
    result, file_level = validate(con)
    assert (result.rows_checked, result.failures, result.warnings, file_level) == (2, 0, {}, [])
    assert audit(con) == set()


def test_each_failing_cell_is_one_audit_row_with_its_check_and_reason(staged):
    long_text = "x" * (MAX_TEXT_LENGTH + 1)
    con = staged([
        row(1, "E22000001", q1_iom_in_place="Yes", q2_established="Mostly established"),
        row(2, "E22000001", q1_iom_in_place="Yes", q4_coloc_probation="Housing services"),
        row(3, "E22000001", status="Submitted", q1_iom_in_place="Yes"),
        row(4, "E22000001", started="05/13/2013 10:00", ended="", q1_iom_in_place="Yes"),
        row(5, "E22000001", started="", q1_iom_in_place="Yes", a1_name=long_text),
        row(6, "E22000001", q1_iom_in_place="Yes"),  # valid: no audit row
    ])
    result, file_level = validate(con)
    labels = "['fully established', 'partially established']"
    assert audit(con) == {
        (1, 1, "q2_established", "mostly established", f"one of {labels}", "invalid_value"),
        (2, 2, "q4_coloc_probation", "housing services", "one of ['probation']", "invalid_value"),
        (3, 3, "status", "submitted", "isin(['completed', 'partial'])", "invalid_value"),
        (4, 4, "started", "05/13/2013 10:00", f"timestamp like {FMT_2013}", "invalid_timestamp"),
        (4, 4, "ended", None, "ended given for a completed submission", "invalid_timestamp"),
        (5, 5, "started", None, "not_nullable", "invalid_timestamp"),
        (5, 5, "a1_name", "x" * 200, f"less_than_or_equal_to({MAX_TEXT_LENGTH})", "invalid_value"),
    }
    assert (result.rows_checked, result.failures, file_level) == (6, 7, [])


def test_a_partial_submission_needs_no_end_but_a_given_end_must_be_a_real_time(staged):
    con = staged([row(1, "E22000001", status="Partial", q1_iom_in_place="Yes"),
                  row(2, "E22000001", ended="31/02/2013 10:00", q1_iom_in_place="Yes")])
    validate(con)
    assert audit(con) == {(2, 2, "ended", "31/02/2013 10:00", f"timestamp like {FMT_2013}", "invalid_timestamp")}


def test_labels_come_from_the_years_questionnaire(staged):
    # "Don't know" is a 2011 option of q2, not a 2013 one.
    con = staged([row(1, "E22000001", started="2011-05-01 09:00:00", ended="2011-05-01 09:30:00",
                      q1_iom_in_place="Yes", q2_established="Don't know")], year=2011, version="iom_2011")
    staged([row(1, "E22000001", q1_iom_in_place="Yes", q2_established="Don't know")])
    assert validate(con, 2011)[0].failures == 0
    assert validate(con, 2013)[0].failures == 1
    assert [(r[2], r[5]) for r in audit(con)] == [("q2_established", "invalid_value")]


@pytest.mark.parametrize("response_id, problem, line", [
    ("7", "response_id 7 appears more than once (2 rows share an id)", 2),
    (" 07", "response_id 7 appears more than once (2 rows share an id)", 2),
    ("R7", "response_id is missing or not a whole number", 4),
])
def test_a_bad_or_duplicate_response_id_refuses_the_file_at_landing(staged, response_id, problem, line):
    rows = [row(i, "E22000001", q1_iom_in_place="Yes") for i in (7, 8, 9)]
    rows[2]["response_id"] = response_id
    with pytest.raises(InputFileError) as refused:
        staged(rows)
    assert (refused.value.problem, refused.value.line, refused.value.column) == (problem, line, "response_id")


def test_a_missing_response_id_is_reported_before_duplicates(staged):
    rows = [row(i, "E22000001", q1_iom_in_place="Yes") for i in (1, 2, 3, 4)]
    rows[1]["response_id"] = "1"
    rows[3]["response_id"] = ""
    with pytest.raises(InputFileError) as refused:
        staged(rows)
    assert (refused.value.problem, refused.value.line) == ("response_id is missing or not a whole number", 5)


@pytest.mark.parametrize("change, check, failing_rows", [
    ("set response_id = 7 where source_row = 3", "uniqueness", [1, 3]),
    ("set response_id = null where source_row = 3", "not_nullable", [3]),
])
def test_a_staged_table_with_a_bad_or_duplicate_response_id_fails_at_file_level(staged, change, check, failing_rows):
    """Landing refuses such a file; the schema still says so of a staged table that has one."""
    con = staged([row(i, "E22000001", q1_iom_in_place="Yes") for i in (7, 8, 9)])
    con.execute(f"update staging.stg_submissions {change}")
    result, file_level = validate(con)
    assert [f["row"] for f in file_level] == failing_rows
    assert all(check in f["check"] and f["column"] == "response_id" for f in file_level)
    assert result.failures == 0 and audit(con) == set()  # the file is refused, not its rows quarantined


def test_a_submission_ending_before_it_starts_is_a_warning_only(staged):
    con = staged([row(1, "E22000001", started="01/05/2013 10:00", ended="01/05/2013 09:00", q1_iom_in_place="Yes"),
                  row(2, "E22000002", q1_iom_in_place="Yes")])
    result, file_level = validate(con)
    assert result.warnings == {"ended not before started": 1}
    assert (result.failures, file_level, audit(con)) == (0, [], set())


def test_a_rerun_replaces_the_years_failures_and_keeps_other_years(staged):
    con = staged([row(1, "E22000001", q1_iom_in_place="Maybe")])
    validate(con)
    con.execute("insert into audit.validation_failure values (2011, 5, 5, 'q1_iom_in_place', 'x', 'c', 'invalid_value')")
    validate(con)
    assert len(audit(con)) == 1
    con.execute("update staging.stg_submissions set q1_iom_in_place = 'yes'")
    validate(con)
    assert audit(con) == set() and len(audit(con, 2011)) == 1


@pytest.mark.parametrize("fault, expected", [
    ("update staging.stg_submissions set source_row = 1", "source_row unique"),
    ("update staging.stg_submissions set source_row = source_row + 10", "source_row between 1 and 2"),
    ("delete from staging.stg_submissions where source_row = 2", "2 rows, one per export row"),
    ("alter table staging.stg_submissions add column respondent_name varchar", "unexpected column respondent_name"),
    ("alter table staging.stg_submissions drop column q2_established", "missing column q2_established"),
    ("alter table staging.stg_submissions alter response_id type varchar", "response_id is string, not int64"),
])
def test_a_staged_table_that_is_not_the_exports_rows_stops_validation(staged, fault, expected):
    con = staged([row(1, "E22000001", q1_iom_in_place="Yes"), row(2, "E22000002", q1_iom_in_place="No")])
    validate(con)
    con.execute(fault)
    with pytest.raises(StagingError, match=expected):
        validate(con)


def test_an_answer_in_a_column_only_another_questionnaire_has_stops_validation(staged):
    con = staged([row(1, "E22000001", q1_iom_in_place="Yes", q3_arrangements="One arrangement covering the whole area")])
    staged([row(1, "E22000001", started="2011-05-01 09:00:00", ended="2011-05-01 09:30:00", q1_iom_in_place="Yes")],
           year=2011, version="iom_2011")
    validate(con, 2011)  # the 2013-only columns are there, empty in 2011's rows
    con.execute("update staging.stg_submissions set q3_arrangements = 'one arrangement covering the whole area' "
                "where survey_year = 2011")
    with pytest.raises(StagingError, match="another questionnaire version"):
        validate(con, 2011)


def test_a_year_with_no_staged_rows_has_nothing_to_report(staged):
    con = staged([row(1, "E22000001", q1_iom_in_place="Yes")])
    result, file_level = validate(con, 2011)
    assert (result.rows_checked, result.failures, result.warnings, file_level) == (0, 0, {}, [])


def test_the_callers_connection_keeps_its_settings(staged):
    con = staged([row(1, "E22000001", q1_iom_in_place="Yes")])
    before = con.execute("select current_setting('python_enable_replacements'), current_setting('TimeZone')").fetchall()
    validate(con)
    assert con.execute(
        "select current_setting('python_enable_replacements'), current_setting('TimeZone')").fetchall() == before


def test_an_export_with_its_own_source_row_column_is_refused(staged):
    """`source_row` is the record number landing adds to the raw export: a column of that name would clash."""
    from iom_pipeline.questionnaire import load_questionnaire

    columns = [*load_questionnaire("iom_2013").expected_columns, "source_row"]
    rows = [row(1, "E22000001", q1_iom_in_place="Yes", source_row="7")]
    with pytest.raises(InputFileError) as refused:
        staged(rows, columns=columns)
    assert "source_row" in refused.value.problem and refused.value.line == 1
