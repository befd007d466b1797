"""Property-based tests: random exports that follow the spec, and the invariants every run keeps."""

from __future__ import annotations

import itertools

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exports import row, write_landing
from iom_pipeline.pipeline import run_year
from iom_pipeline.questionnaire import load_questionnaire

QN = load_questionnaire("iom_2013")
FRAME = [(f"E2200{i:04d}", f"Partnership {name}") for i, name in enumerate(
    ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel"], start=1)]
NAME_VARIANTS = [lambda n: n, str.upper, lambda n: f"  {n.lower()} ", lambda n: n.replace(" ", "-")]


@st.composite
def submission(draw, response_id: int) -> dict:
    """One row: any frame CSP (by code, or by a name variant), or an unknown one; any answers."""
    target = draw(st.sampled_from(FRAME + [("E22999999", "Nowhere At All")]))
    by_code = draw(st.booleans())
    name = draw(st.sampled_from(NAME_VARIANTS))(target[1])
    status = draw(st.sampled_from(["Completed", "Partial"]))
    day, minute = draw(st.integers(1, 28)), draw(st.integers(0, 59))
    cells = {}
    for column in QN.columns():
        if column.role == "text" or not draw(st.booleans()):
            continue  # half the cells empty, whatever the routing says: routing must cope
        if column.role == "single":
            label = draw(st.sampled_from([o.label for o in QN.question(column.item_id).options]))
        else:
            label = column.label
        cells[column.name] = draw(st.sampled_from([label, label.upper(), f" {label} "]))
    if draw(st.integers(0, 9)) == 0:
        cells.pop("q1_iom_in_place", None)  # some rows leave q1 unanswered
    return row(response_id, target[0] if by_code else "", name, status=status,
               started=f"{day:02d}/05/2013 09:{minute:02d}", ended=f"{day:02d}/05/2013 10:{minute:02d}", **cells)


@st.composite
def export(draw) -> list[dict]:
    count = draw(st.integers(1, 25))
    ids = itertools.count(draw(st.integers(1, 10_000)))
    return [draw(submission(next(ids))) for _ in range(count)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=export())
def test_invariants_hold_for_any_export_that_follows_the_spec(tmp_path_factory, rows):
    data = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IOM_DATA_DIR", str(data))
        write_landing(data / "landing" / "2013", rows, frame=FRAME)
        con = duckdb.connect(str(data / "w.duckdb"))
        try:
            run_year(con, 2013)
            check(con, rows)
        finally:
            con.close()


def check(con, rows: list[dict]) -> None:
    outcomes = con.execute("select response_id, outcome, csp_code from marts.submission_outcome").fetchall()
    # Outcomes partition the rows: every input row exactly once, with one of the four outcomes.
    assert sorted(r[0] for r in outcomes) == sorted(int(r["response_id"]) for r in rows)
    assert {r[1] for r in outcomes} <= {"counted", "superseded", "not_analysable", "quarantined"}
    # One counted row per responding CSP, and responding CSPs are exactly those with one.
    counted = [r[2] for r in outcomes if r[1] == "counted"]
    assert len(counted) == len(set(counted))
    responded = {c for (c,) in con.execute("select csp_code from marts.csp_return where responded").fetchall()}
    assert responded == set(counted)
    # A CSP with an analysable row always responds.
    analysable = {r[2] for r in outcomes if r[1] in ("counted", "superseded")}
    assert analysable == set(counted)
    # 0 <= n <= base_n <= frame size (CSP questions) or arrangements; percentages agree with counts.
    arrangements = con.execute("select count(*) from marts.arrangement").fetchall()[0][0]
    for question, option, unit, base, n, pct, rounded in con.execute(
        "select question_id, option_id, unit, base_n, n, pct, pct_rounded from marts.question_summary"
    ).fetchall():
        assert 0 <= n <= base, (question, option)
        assert base <= (len(FRAME) if unit == "csp" else arrangements), (question, option)
        if base:
            assert pct == pytest.approx(100 * n / base)
            assert rounded == (200 * n + base) // (2 * base)
        else:
            assert pct is None
