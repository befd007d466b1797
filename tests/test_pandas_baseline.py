"""The independent pandas computation (bench/pandas_baseline.py) on small hand-made exports.

Each export is written here as CSV text with only the columns that matter; `landing()` adds the
other columns of the 2013 export, empty, and metadata defaults (a Completed row on 3 June 2013).
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import pandas_baseline as pb


FRAME = """\
csp_code,csp_name
E22000001,Brighton and Hove
E22000002,King's Lynn and West Norfolk
E22000003,Stockton-on-Tees
E22000004,"Bournemouth, Christchurch and Poole"
W14000001,Ynys Môn
"""

DEFAULTS = {"started": "03/06/2013 10:00", "ended": "03/06/2013 10:30", "status": "Completed"}


def landing(tmp_path: Path, export_csv: str, frame_csv: str = FRAME, encoding: str = "utf-8-sig") -> Path:
    rows = pd.read_csv(io.StringIO(textwrap.dedent(export_csv)), dtype=str, keep_default_na=False)
    if "response_id" not in rows:
        rows.insert(0, "response_id", [str(i) for i in range(1, len(rows) + 1)])
    had_ended = "ended" in rows
    for col, value in DEFAULTS.items():
        if col not in rows:
            rows[col] = value
    if not had_ended:
        rows.loc[rows["status"].eq("Partial"), "ended"] = ""
    rows = rows.reindex(columns=[*rows.columns, *(c for c in pb.expected_columns(2013) if c not in rows)], fill_value="")
    directory = tmp_path / "landing"
    directory.mkdir(exist_ok=True)
    (directory / "survey_export.csv").write_bytes(rows.to_csv(index=False).encode(encoding))
    (directory / "frame.csv").write_text(textwrap.dedent(frame_csv), encoding="utf-8")
    return directory


def run(tmp_path: Path, export_csv: str, frame_csv: str = FRAME, **kw):
    export, frame = pb.load(landing(tmp_path, export_csv, frame_csv, **kw), 2013)
    classified = pb.classify(export, frame, 2013)
    return classified[0], pb.question_summary(export, frame, 2013, classified)


def fig(summary: pd.DataFrame, question_id: str, option_id: str) -> tuple[int, int]:
    row = summary[(summary.question_id == question_id) & (summary.option_id == option_id)]
    assert len(row) == 1, (question_id, option_id)
    return int(row.base_n.iloc[0]), int(row.n.iloc[0])


def outcome_of(outcomes: pd.DataFrame, response_id: int) -> tuple[str, str | None, str | None]:
    row = outcomes[outcomes.response_id == response_id].iloc[0]
    return row.outcome, None if pd.isna(row.reason) else row.reason, None if pd.isna(row.csp_code) else row.csp_code


# --- rule 1: matching -------------------------------------------------------------------------


def test_name_normalisation():
    names = pd.Series([
        "Brighton & Hove", "  BRIGHTON   and hove ", "Kings Lynn and West Norfolk", "King’s Lynn & West Norfolk",
        "Stockton on Tees", "stockton-on-tees.", "Bournemouth Christchurch and Poole", "Bournemouth, Christchurch & Poole",
        "Brighton&Hove", "YNYS MÔN",
    ])
    assert pb.normalise_name(names).tolist() == [
        "brighton and hove", "brighton and hove", "kings lynn and west norfolk", "kings lynn and west norfolk",
        "stockton on tees", "stockton on tees", "bournemouth christchurch and poole",
        "bournemouth christchurch and poole", "brighton and hove", "ynys môn",
    ]


def test_rows_match_by_code_then_by_normalised_name(tmp_path):
    outcomes, summary = run(tmp_path, """\
        response_id,csp_code,csp_name,status,q1_iom_in_place
        1,,brighton & hove,Completed,Yes
        2,, Kings Lynn and  West Norfolk ,Completed,Yes
        3,E22999999,STOCKTON ON TEES,Completed,Yes
        4,,"Bournemouth, Christchurch & Poole.",Completed,Yes
        5,E22000001,A name nobody would recognise,Partial,Yes
        6,,Brighton,Completed,Yes
        7,W99000000,Hove,Completed,No
        8, w14000001 ,ynys môn,Completed,Yes
        """)
    assert outcome_of(outcomes, 1) == ("counted", None, "E22000001")
    assert outcome_of(outcomes, 2) == ("counted", None, "E22000002")
    assert outcome_of(outcomes, 3) == ("counted", None, "E22000003")
    assert outcome_of(outcomes, 4) == ("counted", None, "E22000004")
    # Row 5 carries Brighton's code: the code wins over the name, so it competes with row 1.
    assert outcome_of(outcomes, 5) == ("superseded", "completed_return_preferred", "E22000001")
    assert outcome_of(outcomes, 6) == ("quarantined", "unknown_csp", None)
    assert outcome_of(outcomes, 7) == ("quarantined", "unknown_csp", None)
    assert outcome_of(outcomes, 8) == ("counted", None, "W14000001")
    by = dict(zip(outcomes.response_id, outcomes.matched_by))
    assert by[1] == by[2] == by[3] == by[4] == "name" and by[5] == by[8] == "code"
    assert fig(summary, "response", "responded") == (5, 5)


def test_windows_1252_export_is_read_and_undecodable_refused(tmp_path):
    outcomes, _ = run(tmp_path, """\
        csp_code,csp_name,q1_iom_in_place
        ,Ynys Môn,Yes
        """, encoding="cp1252")
    assert outcome_of(outcomes, 1) == ("counted", None, "W14000001")
    path = landing(tmp_path, "csp_code,csp_name,q1_iom_in_place\nE22000001,x,Yes\n") / "survey_export.csv"
    path.write_bytes(path.read_bytes().replace(b",x,", b",\x81\x8d,"))
    with pytest.raises(ValueError, match="neither UTF-8 nor Windows-1252"):
        pb.load(path.parent, 2013)


# --- rules 2 and 3: which row counts, nothing lost -------------------------------------------


def test_latest_completed_by_ended_counts_then_latest_partial_by_started(tmp_path):
    outcomes, _ = run(tmp_path, """\
        response_id,csp_code,status,started,ended,q1_iom_in_place
        10,E22000001,Completed,03/06/2013 09:00,07/06/2013 17:00,Yes
        11,E22000001,Completed,05/06/2013 09:00,05/06/2013 09:20,Yes
        12,E22000001,Partial,10/06/2013 09:00,,Yes
        20,E22000002,Completed,03/06/2013 09:00,04/06/2013 12:00,Yes
        21,E22000002,Completed,04/06/2013 11:00,04/06/2013 12:00,No
        30,E22000003,Partial,03/06/2013 09:00,,Yes
        31,E22000003,Partial,11/06/2013 09:00,,No
        32,E22000003,Partial,05/06/2013 09:00,,Yes
        """)
    # Latest by `ended`, not by `started`; a later Partial does not displace a Completed row.
    assert outcome_of(outcomes, 10)[:2] == ("counted", None)
    assert outcome_of(outcomes, 11)[:2] == ("superseded", "later_return_counted")
    assert outcome_of(outcomes, 12)[:2] == ("superseded", "completed_return_preferred")
    # Same `ended`: the larger response_id counts.
    assert outcome_of(outcomes, 21)[0] == "counted" and outcome_of(outcomes, 20)[0] == "superseded"
    # Partials only: the latest by `started`.
    assert [outcome_of(outcomes, i)[0] for i in (30, 31, 32)] == ["superseded", "counted", "superseded"]
    assert dict(zip(outcomes.response_id, outcomes.superseded_by))[11] == 10


def test_unanswered_q1_is_not_analysable_and_never_counts(tmp_path):
    outcomes, summary = run(tmp_path, """\
        response_id,csp_code,csp_name,started,ended,q1_iom_in_place,q7_tool_key_principles
        1,E22000001,,03/06/2013 09:00,03/06/2013 10:00,Yes,
        2,E22000001,,04/06/2013 09:00,04/06/2013 10:00,,IOM Key Principles
        3,E22000002,,03/06/2013 09:00,03/06/2013 10:00,  ,IOM Key Principles
        4,,Nowhere,03/06/2013 09:00,03/06/2013 10:00,,
        """)
    assert outcome_of(outcomes, 1)[:2] == ("counted", None)  # the later row cannot be analysed
    assert outcome_of(outcomes, 2)[:2] == ("not_analysable", "screening_question_unanswered")
    assert outcome_of(outcomes, 3)[:2] == ("not_analysable", "screening_question_unanswered")
    assert outcome_of(outcomes, 4)[:2] == ("quarantined", "unknown_csp")  # quarantine is decided first
    assert fig(summary, "response", "responded") == (5, 1)
    assert fig(summary, "support_tool", "key_principles") == (0, 0)


def test_every_row_has_exactly_one_outcome(tmp_path):
    outcomes, _ = run(tmp_path, """\
        csp_code,csp_name,status,q1_iom_in_place
        E22000001,,Completed,Yes
        E22000001,,Partial,Yes
        ,Nowhere,Completed,Yes
        E22000002,,Completed,
        """)
    assert len(outcomes) == 4 and outcomes.response_id.is_unique
    assert outcomes.outcome.value_counts().to_dict() == {
        "counted": 1, "superseded": 1, "quarantined": 1, "not_analysable": 1}
    assert outcomes.loc[outcomes.outcome.ne("counted"), "reason"].notna().all()


def test_empty_export_and_missing_columns_are_refused(tmp_path):
    directory = landing(tmp_path, "csp_code,q1_iom_in_place\nE22000001,Yes\n")
    export, frame = pb.load(directory, 2013)
    with pytest.raises(ValueError, match="no submission rows"):
        pb.classify(export.iloc[0:0], frame, 2013)
    with pytest.raises(ValueError, match="lacks column"):
        pb.classify(export.drop(columns=["q4_coloc_none"]), frame, 2013)


def test_invalid_labels_and_timestamps_are_quarantined(tmp_path):
    outcomes, _ = run(tmp_path, """\
        response_id,csp_code,q1_iom_in_place,q2_established,started
        1,E22000001,Yes,Mostly established,03/06/2013 10:00
        2,E22000002,Yes,,2013-06-03 10:00
        """)
    assert outcome_of(outcomes, 1)[:2] == ("quarantined", "invalid_value")
    assert outcome_of(outcomes, 2)[:2] == ("quarantined", "invalid_timestamp")


# --- labels, routing, multi-select, arrangements, bases ---------------------------------------


def test_labels_compare_case_insensitively_after_trimming(tmp_path):
    _, summary = run(tmp_path, """\
        csp_code,q1_iom_in_place,q2_established,q4_coloc_probation
        E22000001, yes ,FULLY ESTABLISHED,probation
        E22000002,YES,  partially established  ,
        """)
    assert fig(summary, "iom_in_place", "yes") == (2, 2)
    assert fig(summary, "established", "fully") == (2, 1)
    assert fig(summary, "established", "partly") == (2, 1)
    assert fig(summary, "colocated", "probation") == (1, 1)


def test_answers_to_questions_not_asked_are_ignored(tmp_path):
    _, summary = run(tmp_path, """\
        csp_code,q1_iom_in_place,q1a_no_iom_plans,q2_established,q3_arrangements,q3a_arrangement_count,q5_prioritise,q5_type_ppo,q5_type_gang
        E22000001,No,No current plans,Fully established,Several arrangements covering different parts of the area,2,,,
        E22000002,Yes,Planning is under way,Partially established,One arrangement covering the whole area,3,No,Prolific and other Priority Offenders (PPOs),Gang members
        E22000003,Yes,,,Several arrangements covering different parts of the area,4 or more,Yes,,Gang members
        """)
    # q1a only when q1 = No; q2 and q3 only when q1 = Yes.
    assert fig(summary, "no_iom_plans", "no_plans") == (1, 1)
    assert fig(summary, "no_iom_plans", "planning") == (1, 0)
    assert fig(summary, "established", "fully") == (1, 0)
    assert fig(summary, "arrangements", "several") == (2, 1)
    # q3a only when q3 = several, which is only asked when q1 = Yes (chain followed for row 1).
    assert fig(summary, "arrangement_count", "2") == (1, 0)
    assert fig(summary, "arrangement_count", "3") == (1, 0)
    assert fig(summary, "arrangement_count", "4_or_more") == (1, 1)
    # q5 types only when q5 = Yes.
    assert fig(summary, "priority_type", "ppo") == (1, 0)
    assert fig(summary, "priority_type", "gang") == (1, 1)


def test_none_ticked_with_another_option_is_dropped(tmp_path):
    _, summary = run(tmp_path, """\
        csp_code,q1_iom_in_place,q4_coloc_probation,q4_coloc_none,q7_tool_none,q7_tool_other
        E22000001,Yes,Probation,No agencies share premises with the police,None of these,Other
        E22000002,Yes,,No agencies share premises with the police,None of these,
        E22000003,Yes,,,,
        """)
    assert fig(summary, "colocated", "none") == (2, 1)
    assert fig(summary, "colocated", "probation") == (2, 1)
    assert fig(summary, "support_tool", "none") == (2, 1)
    assert fig(summary, "support_tool", "other") == (2, 1)


def test_derived_options(tmp_path):
    _, summary = run(tmp_path, """\
        csp_code,q1_iom_in_place,q4_coloc_probation,q4_coloc_drug_alcohol,q4_coloc_local_authority,q5_prioritise,q5_type_ppo,q5_type_other
        E22000001,Yes,Probation,Drug and alcohol services,Local authority,Yes,Prolific and other Priority Offenders (PPOs),Other
        E22000002,Yes,Probation,,Local authority,Yes,,Other
        E22000003,Yes,,,,Yes,,
        """)
    assert fig(summary, "colocated", "all_four") == (2, 1)
    assert fig(summary, "priority_type", "more_than_one") == (2, 1)


def test_arrangement_blocks_count_when_asked_and_not_empty(tmp_path):
    several = "Several arrangements covering different parts of the area"
    _, summary = run(tmp_path, f"""\
        csp_code,q1_iom_in_place,q3_arrangements,q3a_arrangement_count,a1_agency_police,a1_offenders,a2_agency_police,a2_offenders,a3_name,a3_offenders,a4_agency_probation
        E22000001,Yes,{several},2,Police,0-100,Police,101-200,North,More than 500,
        E22000002,Yes,One arrangement covering the whole area,,Police,201-500,Police,0-100,,,Probation
        E22000003,No,,,Police,0-100,,,,,
        E22000004,Yes,,,,,Police,,,,
        W14000001,Yes,{several},3,,,,,   ,,
        """)
    # Counted: CSP 1 blocks 1-3 (3 returned although 2 declared: a warning, not a change), CSP 2 block 1.
    assert fig(summary, "agency", "police") == (3, 3)
    assert fig(summary, "agency", "probation") == (3, 0)
    assert fig(summary, "offenders", "0_100") == (4, 1)
    assert fig(summary, "offenders", "over_500") == (4, 1)
    assert summary.loc[summary.question_id.isin(["agency", "offenders"]), "unit"].eq("arrangement").all()


def test_bases(tmp_path):
    _, summary = run(tmp_path, """\
        csp_code,q1_iom_in_place,q1a_no_iom_plans,q2_established,q7_tool_other
        E22000001,Yes,,Fully established,Other
        E22000002,Yes,,,
        E22000003,No,Planning is under way,,Other
        E22000004,No,,,
        """)
    assert fig(summary, "response", "responded") == (5, 4)
    assert fig(summary, "iom_in_place", "yes") == (4, 2)
    assert fig(summary, "no_iom_plans", "planning") == (1, 1)
    assert fig(summary, "established", "fully") == (1, 1)
    assert fig(summary, "support_tool", "other") == (2, 2)
    assert fig(summary, "colocated", "probation") == (0, 0)
    row = summary[(summary.question_id == "colocated") & (summary.option_id == "probation")].iloc[0]
    assert pd.isna(row.pct) and pd.isna(row.pct_rounded)


def test_every_option_has_a_row(tmp_path):
    _, summary = run(tmp_path, "csp_code,q1_iom_in_place\nE22000001,Yes\n")
    assert list(summary.columns) == ["survey_year", "question_id", "option_id", "unit", "base_n", "n", "pct", "pct_rounded"]
    assert len(summary) == 1 + 2 + 2 + 2 + 2 + 3 + 8 + 2 + 10 + 5 + 5 + 13 + 4
    assert not summary.duplicated(["question_id", "option_id"]).any()


def test_percentages_round_half_up(tmp_path):
    assert pb.round_half_up(1, 40) == 3  # 2.5
    assert pb.round_half_up(3, 40) == 8  # 7.5
    assert pb.round_half_up(1, 200) == 1  # 0.5
    assert pb.round_half_up(1, 3) == 33 and pb.round_half_up(2, 3) == 67
    assert pb.round_half_up(0, 7) == 0 and pb.round_half_up(7, 7) == 100
    frame = "csp_code,csp_name\n" + "".join(f"E22{i:06d},Place {chr(65 + i)}\n" for i in range(8))
    _, summary = run(tmp_path, "csp_code,q1_iom_in_place\nE22000000,Yes\n", frame)
    row = summary[summary.question_id == "response"].iloc[0]
    assert (row.base_n, row.n, row.pct, row.pct_rounded) == (8, 1, 12.5, 13)


def test_cli_writes_summary_and_charts(tmp_path):
    directory = landing(tmp_path, "csp_code,q1_iom_in_place\nE22000001,Yes\nE22000002,No\n")
    out = tmp_path / "out"
    assert pb.main(["--landing", str(directory), "--year", "2013", "--out", str(out)]) == 0
    summary = pd.read_csv(out / "question_summary.csv")
    assert set(summary.question_id) == {
        "response", "iom_in_place", "no_iom_plans", "established", "arrangements", "arrangement_count", "colocated",
        "prioritises", "priority_type", "monitoring", "support_tool", "agency", "offenders"}
    assert len(list(out.glob("*.png"))) == summary.question_id.nunique()
    assert len(pd.read_csv(out / "submission_outcome.csv")) == 2
