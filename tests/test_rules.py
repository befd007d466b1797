"""Each rule of the export spec on small hand-made exports, through the real SQL models."""

from __future__ import annotations

import duckdb
import pytest

from exports import FRAME, row, tick, write_landing
from iom_pipeline.pipeline import run_year

YES, NO = "Yes", "No"
SEVERAL = "Several arrangements covering different parts of the area"
ONE = "One arrangement covering the whole area"


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Run the pipeline for 2013 on the given rows; return an open warehouse connection."""
    monkeypatch.setenv("IOM_DATA_DIR", str(tmp_path / "data"))
    connections = []

    def _run(rows, **kwargs):
        write_landing(tmp_path / "data" / "landing" / "2013", rows, **kwargs)
        con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
        connections.append(con)
        run_year(con, 2013)
        return con

    yield _run
    for con in connections:
        con.close()


def outcomes(con) -> dict[int, tuple]:
    return {
        r[0]: (r[1], r[2], r[3])
        for r in con.execute("select response_id, outcome, reason, csp_code from marts.submission_outcome").fetchall()
    }


def summary(con, question_id: str) -> dict[str, tuple[int, int]]:
    rows = con.execute(
        "select option_id, n, base_n from marts.question_summary where question_id = ?", [question_id]
    ).fetchall()
    return {option: (n, base) for option, n, base in rows}


def warnings(con, kind: str) -> list[tuple]:
    return con.execute(
        "select response_id, item from marts.quality_warning where warning = ? order by response_id, item", [kind]
    ).fetchall()


# -- rule 1: matching --------------------------------------------------------------------
@pytest.mark.parametrize(
    "typed_name",
    [
        "brighton & hove",
        "  BRIGHTON   AND HOVE ",
        "Brighton-and-Hove",
        "Brighton and Hove.",
    ],
)
def test_name_variants_match_the_frame_when_the_code_is_empty(run, typed_name):
    con = run([row(1, "", typed_name, q1_iom_in_place=YES)])
    assert outcomes(con)[1] == ("counted", None, "E22000001")


def test_apostrophes_are_removed_not_spaced(run):
    con = run([row(1, "", "Kings Lynn & West Norfolk", q1_iom_in_place=YES),
               row(2, "", "KING’S LYNN AND WEST NORFOLK", q1_iom_in_place=YES, ended="01/05/2013 10:00")])
    assert outcomes(con)[2] == ("counted", None, "E22000002")
    assert outcomes(con)[1] == ("superseded", "later_return_counted", "E22000002")


def test_code_wins_over_name_and_unknown_code_falls_back_to_name(run):
    con = run([
        row(1, "E22000003", "Brighton and Hove", q1_iom_in_place=YES),  # code says Stockton
        row(2, "E22999999", "Brighton & Hove", q1_iom_in_place=YES),  # code not in frame: by name
        row(3, "E22999998", "Atlantis", q1_iom_in_place=YES),  # matches nothing
        row(4, "", "", q1_iom_in_place=YES),
    ])
    got = outcomes(con)
    assert got[1] == ("counted", None, "E22000003")
    assert got[2] == ("counted", None, "E22000001")
    assert got[3] == ("quarantined", "unknown_csp", None)
    assert got[4] == ("quarantined", "unknown_csp", None)


def test_non_ascii_names_match(run):
    con = run([row(1, "", "ynys môn", q1_iom_in_place=NO)])
    assert outcomes(con)[1] == ("counted", None, "W14000001")


# -- rule 2: which row counts ------------------------------------------------------------
def test_completed_beats_a_later_partial(run):
    con = run([
        row(1, "E22000001", status="Completed", started="01/05/2013 09:00", ended="01/05/2013 09:30", q1_iom_in_place=YES),
        row(2, "E22000001", status="Partial", started="02/05/2013 09:00", q1_iom_in_place=NO),
    ])
    got = outcomes(con)
    assert got[1][0] == "counted"
    assert got[2][:2] == ("superseded", "completed_return_preferred")
    assert summary(con, "iom_in_place")["yes"] == (1, 1)


def test_latest_completed_by_ended_not_by_started_or_id(run):
    con = run([
        row(7, "E22000001", started="03/05/2013 09:00", ended="03/05/2013 09:10", q1_iom_in_place=NO),
        row(3, "E22000001", started="01/05/2013 09:00", ended="04/05/2013 12:00", q1_iom_in_place=YES),
    ])
    assert outcomes(con)[3][0] == "counted"
    assert outcomes(con)[7][:2] == ("superseded", "later_return_counted")


def test_days_are_read_day_first(run):
    # 12/05 is 12 May and 05/06 is 5 June: read month-first the order would flip.
    con = run([
        row(1, "E22000001", started="12/05/2013 09:00", ended="12/05/2013 09:30", q1_iom_in_place=YES),
        row(2, "E22000001", started="05/06/2013 09:00", ended="05/06/2013 09:30", q1_iom_in_place=NO),
    ])
    assert outcomes(con)[2][0] == "counted"


def test_ties_on_ended_go_to_the_larger_response_id(run):
    con = run([
        row(5, "E22000001", ended="01/05/2013 09:30", q1_iom_in_place=YES),
        row(9, "E22000001", ended="01/05/2013 09:30", q1_iom_in_place=NO),
    ])
    assert outcomes(con)[9][0] == "counted"


def test_only_partials_latest_started_counts(run):
    con = run([
        row(1, "E22000001", status="Partial", started="02/05/2013 09:00", q1_iom_in_place=YES),
        row(2, "E22000001", status="Partial", started="01/05/2013 09:00", q1_iom_in_place=NO),
    ])
    assert outcomes(con)[1][0] == "counted"
    assert outcomes(con)[2][:2] == ("superseded", "later_return_counted")


def test_unanswered_q1_is_not_analysable_and_never_counts(run):
    con = run([
        row(1, "E22000001", ended="01/05/2013 09:30", q1_iom_in_place=YES),
        row(2, "E22000001", ended="09/05/2013 09:30"),  # latest, but no q1
        row(3, "E22000002", q2_established="Fully established"),
    ])
    got = outcomes(con)
    assert got[1][0] == "counted"
    assert got[2] == ("not_analysable", "screening_question_unanswered", "E22000001")
    assert got[3][0] == "not_analysable"
    assert summary(con, "response")["responded"] == (1, len(FRAME))


def test_every_row_has_exactly_one_outcome(run):
    rows = [row(i, "E22000001" if i % 2 else "", "Nowhere" if i % 3 == 0 else "Stockton on Tees",
                q1_iom_in_place=YES if i % 4 else "") for i in range(1, 25)]
    con = run(rows)
    (total, distinct), = con.execute(
        "select count(*), count(distinct response_id) from marts.submission_outcome").fetchall()
    assert total == distinct == 24


# -- rule 4: routing ---------------------------------------------------------------------
def test_answers_the_routing_did_not_ask_are_ignored_and_warned(run):
    con = run([
        row(1, "E22000001", q1_iom_in_place=NO, q1a_no_iom_plans="No current plans",
            q2_established="Fully established", a1_agency_police="Police", **tick("q7_tool_none")),
        row(2, "E22000002", q1_iom_in_place=YES, q2_established="Partially established", q3_arrangements=ONE,
            q3a_arrangement_count="3", a1_agency_police="Police", a3_agency_police="Police"),
    ])
    assert summary(con, "established") == {"fully": (0, 1), "partly": (1, 1)}
    assert summary(con, "arrangement_count")["3"] == (0, 0)
    assert summary(con, "agency")["police"] == (1, 1)  # only CSP 2's block a1
    assert summary(con, "no_iom_plans")["no_plans"] == (1, 1)
    assert summary(con, "support_tool")["none"] == (1, 1)  # asked always
    assert warnings(con, "routing") == [
        (1, "a1_agency_police"), (1, "q2_established"), (2, "a3_agency_police"), (2, "q3a_arrangement_count")]


def test_routing_chains_are_followed(run):
    # q3 = several is itself not asked when q1 = No, so block a2 and q3a are not asked either.
    con = run([row(1, "E22000001", q1_iom_in_place=NO, q3_arrangements=SEVERAL, q3a_arrangement_count="2",
                   a2_agency_police="Police")])
    assert summary(con, "arrangements")["several"] == (0, 0)
    assert summary(con, "agency")["police"] == (0, 0)
    assert {item for _, item in warnings(con, "routing")} == {"q3_arrangements", "q3a_arrangement_count", "a2_agency_police"}


def test_not_asked_differs_from_not_selected_in_csp_return(run):
    con = run([
        row(1, "E22000001", q1_iom_in_place=YES, **tick("q4_coloc_probation")),
        row(2, "E22000002", q1_iom_in_place=NO, **tick("q4_coloc_probation")),
    ])
    got = dict(con.execute("select csp_code, [colocated_probation, colocated_housing] from marts.csp_return").fetchall())
    assert got["E22000001"] == [True, False]
    assert got["E22000002"] == [None, None]
    assert got["E22000003"] == [None, None]


# -- rule 5: multi-select ----------------------------------------------------------------
def test_none_with_another_option_drops_none(run):
    con = run([
        row(1, "E22000001", q1_iom_in_place=YES, **tick("q6_monitor_none"), **tick("q6_monitor_idiom")),
        row(2, "E22000002", q1_iom_in_place=YES, **tick("q6_monitor_none")),
        row(3, "E22000003", q1_iom_in_place=YES),  # asked, nothing ticked: not in the base
    ])
    assert summary(con, "monitoring")["none"] == (1, 2)
    assert summary(con, "monitoring")["idiom"] == (1, 2)
    assert warnings(con, "exclusive_option_with_other") == [(1, "q6_monitor_none")]


def test_derived_options(run):
    con = run([
        row(1, "E22000001", q1_iom_in_place=YES, q5_prioritise=YES, **tick("q5_type_ppo"), **tick("q5_type_other"),
            **tick("q4_coloc_probation"), **tick("q4_coloc_drug_alcohol"), **tick("q4_coloc_local_authority")),
        row(2, "E22000002", q1_iom_in_place=YES, q5_prioritise=YES, **tick("q5_type_ppo"),
            **tick("q4_coloc_probation"), **tick("q4_coloc_local_authority")),
        row(3, "E22000003", q1_iom_in_place=YES, q5_prioritise=NO, **tick("q5_type_gang")),
    ])
    assert summary(con, "priority_type")["more_than_one"] == (1, 2)
    assert summary(con, "priority_type")["gang"] == (0, 2)
    assert summary(con, "colocated")["all_four"] == (1, 2)
    assert summary(con, "prioritises") == {"yes": (2, 3), "no": (1, 3)}


# -- rule 6: arrangements ----------------------------------------------------------------
def test_a_block_counts_when_any_cell_is_filled_and_it_was_asked(run):
    con = run([
        row(1, "E22000001", q1_iom_in_place=YES, q3_arrangements=SEVERAL, q3a_arrangement_count="3",
            a1_agency_police="Police", a1_offenders="0-100", a2_name="North", a4_offenders="More than 500"),
    ])
    arrangements = con.execute("select arrangement_no, offenders, agency_police from marts.arrangement order by 1").fetchall()
    assert arrangements == [(1, "0_100", True), (2, None, None), (4, "over_500", None)]
    assert summary(con, "agency")["police"] == (1, 1)  # base: arrangements that answered agency
    assert summary(con, "offenders") == {"0_100": (1, 2), "101_200": (0, 2), "201_500": (0, 2), "over_500": (1, 2)}
    assert warnings(con, "arrangement_count_mismatch") == []  # 3 declared, 3 returned


def test_declared_and_returned_arrangements_differ(run):
    con = run([row(1, "E22000001", q1_iom_in_place=YES, q3_arrangements=SEVERAL, q3a_arrangement_count="4 or more",
                   a1_agency_police="Police", a2_agency_police="Police")])
    assert [w[0] for w in warnings(con, "arrangement_count_mismatch")] == [1]
    assert summary(con, "agency")["police"] == (2, 2)


# -- labels, encodings, column order -----------------------------------------------------
def test_label_case_and_padding_vary(run):
    con = run([row(1, "E22000001", q1_iom_in_place="  yEs ", q2_established="FULLY ESTABLISHED",
                   q4_coloc_probation=" probation")])
    assert summary(con, "established")["fully"] == (1, 1)
    assert summary(con, "colocated")["probation"] == (1, 1)


def test_a_label_not_in_the_questionnaire_quarantines_the_row(run):
    con = run([row(1, "E22000001", q1_iom_in_place=YES, q2_established="Mostly established"),
               row(2, "E22000001", q1_iom_in_place=NO, ended="01/05/2013 08:00")])
    got = outcomes(con)
    assert got[1][:2] == ("quarantined", "invalid_value")
    assert got[2][0] == "counted"  # the CSP's valid return counts instead
    detail = con.execute("select detail from marts.submission_outcome where response_id = 1").fetchall()[0][0]
    assert "q2_established" in detail and "mostly established" in detail


def test_an_impossible_date_quarantines_the_row(run):
    con = run([row(1, "E22000001", q1_iom_in_place=YES, ended="31/02/2013 10:00")])
    assert outcomes(con)[1][:2] == ("quarantined", "invalid_timestamp")


def test_windows_1252_and_shuffled_columns(run):
    from iom_pipeline.questionnaire import load_questionnaire

    columns = list(reversed(load_questionnaire("iom_2013").expected_columns))
    con = run([row(1, "", "King’s Lynn and West Norfolk", q1_iom_in_place=YES)], encoding="cp1252", columns=columns)
    assert outcomes(con)[1] == ("counted", None, "E22000002")


# -- bases and rounding ------------------------------------------------------------------
def test_response_rate_base_is_the_frame_and_half_up_rounding(run):
    # 1 of 8 = 12.5 % -> 13; 3 of 8 = 37.5 % -> 38 (round() would give 12 and 38).
    frame = [(f"E2200{i:04d}", f"Place {i}") for i in range(1, 9)]
    rows = [row(1, "E22000001", q1_iom_in_place=YES)]
    con = run(rows, frame=frame)
    (pct, rounded, base), = con.execute(
        "select pct, pct_rounded, base_n from marts.question_summary where question_id = 'response'").fetchall()
    assert (pct, rounded, base) == (12.5, 13, 8)


def test_personal_data_never_leaves_the_raw_layer(run):
    con = run([row(i, "E22000001", q1_iom_in_place=YES) for i in range(1, 4)])
    personal = {v for (v,) in con.execute(
        "select unnest([respondent_name, respondent_email, respondent_phone]) from raw.survey_export_2013").fetchall()}
    tables = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema <> 'raw' and data_type = 'VARCHAR'").fetchall()
    for schema, table, column in tables:
        values = {v for (v,) in con.execute(f'select distinct "{column}" from {schema}.{table}').fetchall()}
        assert not values & personal, f"{schema}.{table}.{column} holds personal data"
