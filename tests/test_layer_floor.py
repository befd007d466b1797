"""The layers' floor (bench/layer_floor.py) writes the tables the contract requires at their
grain, so that its times are those of the real writes and not of smaller tables."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

import layer_floor
from iom_pipeline.mart_digests import mart_tables
from iom_pipeline.questionnaire import questionnaire_for_year

# A real ONS CSP (assets/reference): its force area and region come from the lookups.
HARTLEPOOL = "E22000027"


def _landing(tmp_path: Path) -> Path:
    """Three frame CSPs; the first returns twice, the second once with two arrangement blocks
    answered, the third not at all; one return names a CSP outside the frame."""
    columns = questionnaire_for_year(2013).expected_columns
    rows = [
        {"response_id": "1", "csp_code": HARTLEPOOL, "q1_iom_in_place": "No"},
        {"response_id": "2", "csp_code": HARTLEPOOL, "q1_iom_in_place": "Yes"},
        {"response_id": "3", "csp_code": "e22999002 ", "q1_iom_in_place": "Yes",
         "a1_agency_police": "Police", "a2_agency_probation": "Probation", "a2_agency_police": "Police",
         "a1_name": "North team"},
        {"response_id": "4", "csp_code": "E22999099", "q1_iom_in_place": "Yes"},
    ]
    landing = tmp_path / "landing"
    landing.mkdir()
    with (landing / "survey_export.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    (landing / "frame.csv").write_text(f"csp_code,csp_name\n{HARTLEPOOL},Hartlepool\nE22999002,Two\nE22999003,Three\n",
                                       encoding="utf-8")
    return landing


def test_every_mart_is_written_or_left_out_for_a_stated_reason():
    marts = {table.split(".")[1] for table, _ in mart_tables()}
    assert set(layer_floor.FLOOR_MARTS) | set(layer_floor.LEFT_OUT_MARTS) == marts
    assert not set(layer_floor.FLOOR_MARTS) & set(layer_floor.LEFT_OUT_MARTS)


def test_floor_writes_every_required_table_at_its_grain(tmp_path):
    out = tmp_path / "floor"
    seconds = layer_floor.measure_floor(_landing(tmp_path), out, 2013, keep=True)
    assert {"raw export", "staged export", *layer_floor.FLOOR_MARTS, "BI snapshot", "Parquet"} <= set(seconds)

    con = duckdb.connect(str(out / "floor.duckdb"), read_only=True)
    # one row per frame CSP, with its geography, the latest return counted
    assert con.execute("select csp_code, pfa_name, region_name, responded, response_id from marts.csp_return "
                       "order by csp_code").fetchall() == [
        (HARTLEPOOL, "Cleveland", "North East", True, 2), ("E22999002", None, None, True, 3),
        ("E22999003", None, None, False, None)]
    # one row per answered block of a counted return
    assert con.execute("select csp_code, arrangement_no from marts.arrangement order by all").fetchall() == [
        ("E22999002", 1), ("E22999002", 2)]
    # one row per input row, with the frame CSP it names
    assert con.execute("select response_id, csp_code, outcome, reason is null from marts.submission_outcome "
                       "order by all").fetchall() == [
        (1, HARTLEPOOL, "not counted", False), (2, HARTLEPOOL, "counted", True), (3, "E22999002", "counted", True),
        (4, None, "not counted", False)]
    # answers of both marts counted, free text left out
    assert con.execute("select question_id, answer, n, base_n from marts.question_summary "
                       "where question_id in ('q1_iom_in_place', 'agency_police') order by all").fetchall() == [
        ("agency_police", "police", 2, 2), ("q1_iom_in_place", "yes", 2, 2)]
    assert con.execute("select count(*) from marts.question_summary where answer = 'north team'").fetchall() == [(0,)]
    con.close()

    snapshot = duckdb.connect(str(out / "snapshot.duckdb"), read_only=True)
    assert {r[0] for r in snapshot.execute("select schema_name || '.' || table_name from duckdb_tables()").fetchall()} \
        == {f"marts.{m}" for m in layer_floor.FLOOR_MARTS}
    snapshot.close()
    assert sorted(p.name for p in (out / "parquet").iterdir()) == sorted(f"{m}.parquet" for m in layer_floor.FLOOR_MARTS)


def _bench_result(rows: int, floor: float, pipeline: float, pandas: float, **more_writes: float) -> dict:
    return {"rows": rows, "layers": {"seconds": {"raw export": floor, **more_writes}, "total": floor},
            "pipeline": {"wall": pipeline}, "pandas": {"wall": pandas}}


def test_bench_report_sets_the_floor_and_every_runs_cost_against_the_target():
    import run_bench

    # given largest first: the report still orders by size and takes the fixed cost from the smallest
    lines = run_bench._floor_lines([_bench_result(1_000_000, 15.0, 45.0, 60.0),
                                    _bench_result(10_000, 1.0, 13.0, 2.0, only_small=0.5)])
    assert "| write | 10,000 rows | 1,000,000 rows |" in lines
    assert "| only_small | 0.50 | – |" in lines  # a write one size lacks is shown, not dropped
    values = {cells[0]: float(cells[1]) for line in lines if line.startswith("| ")
              for cells in [[c.strip() for c in line.strip("|").split("|")]] if len(cells) == 2 and cells[1] != "s"}
    assert values["half the pandas script's time (the target)"] == 30.0
    assert values["the layers' floor"] == 15.0
    assert values["what every run costs whatever its size, at most: the 10,000-row run less its floor"] == 12.0
    assert values["the two together"] == 27.0
    assert values["left within the target for the rules, checks, figures and report as they grow, at least"] == 3.0
    assert values["what the pipeline spends on them as they grow, at least"] == 18.0
