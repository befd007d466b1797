"""The layers' floor (bench/layer_floor.py) writes the tables the contract requires at their
grain, so that its times are those of the real writes and not of smaller tables."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

import layer_floor

from iom_pipeline.questionnaire import questionnaire_for_year

MARTS = ("csp_return", "arrangement", "submission_outcome", "question_summary")


def _landing(tmp_path: Path) -> Path:
    """Three frame CSPs; the first returns twice, the second once with two arrangement blocks
    answered, the third not at all; one return names a CSP outside the frame."""
    columns = questionnaire_for_year(2013).expected_columns
    rows = [
        {"response_id": "1", "csp_code": "E22000001", "q1_iom_in_place": "No"},
        {"response_id": "2", "csp_code": "E22000001", "q1_iom_in_place": "Yes"},
        {"response_id": "3", "csp_code": "e22000002 ", "q1_iom_in_place": "Yes",
         "a1_agency_police": "Police", "a2_agency_probation": "Probation"},
        {"response_id": "4", "csp_code": "E22000099", "q1_iom_in_place": "Yes"},
    ]
    landing = tmp_path / "landing"
    landing.mkdir()
    with (landing / "survey_export.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    (landing / "frame.csv").write_text("csp_code,csp_name\nE22000001,One\nE22000002,Two\nE22000003,Three\n",
                                       encoding="utf-8")
    return landing


def test_floor_writes_every_required_table_at_its_grain(tmp_path):
    out = tmp_path / "floor"
    seconds = layer_floor.measure_floor(_landing(tmp_path), out, 2013, keep=True)
    assert set(seconds) >= {"raw export", "staged export", *MARTS, "BI snapshot", "Parquet"}

    con = duckdb.connect(str(out / "floor.duckdb"), read_only=True)
    # one row per frame CSP, the latest return counted
    assert con.execute("select csp_code, responded, response_id from csp_return order by csp_code").fetchall() == [
        ("E22000001", True, 2), ("E22000002", True, 3), ("E22000003", False, None)]
    # one row per answered block of a counted return
    assert con.execute("select csp_code, arrangement_no from arrangement order by all").fetchall() == [
        ("E22000002", 1), ("E22000002", 2)]
    # one row per input row
    assert con.execute("select response_id, outcome from submission_outcome order by all").fetchall() == [
        (1, "superseded"), (2, "counted"), (3, "counted"), (4, "superseded")]
    assert con.execute("select n from question_summary where question_id = 'q1_iom_in_place' and answer = 'yes'"
                       ).fetchall() == [(2,)]
    con.close()

    snapshot = duckdb.connect(str(out / "snapshot.duckdb"), read_only=True)
    assert {r[0] for r in snapshot.execute("select table_name from duckdb_tables()").fetchall()} == set(MARTS)
    snapshot.close()
    assert sorted(p.name for p in (out / "parquet").iterdir()) == sorted(f"{m}.parquet" for m in MARTS)
