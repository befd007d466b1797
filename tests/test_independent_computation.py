"""The pipeline against an independent pandas implementation of the spec (bench/pandas_baseline.py).

The baseline shares no code with the pipeline: it reads the spec's rules, not the questionnaire
YAML. On generated exports with every messy case, both must give the same question_summary
(every row, NULLs where a base is 0 included, the unrounded pct to 1e-9) and the same outcome
for every row; on a hand-made export where most bases are 0, the same NULLs.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

import pandas_baseline as baseline
from exports import row, write_landing
from iom_pipeline.pipeline import run_year
from iom_synthetic.scale import generate


def run_both(data, landing):
    """The pipeline's marts (in the warehouse `data/w.duckdb`) and the baseline's figures."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IOM_DATA_DIR", str(data))
        con = duckdb.connect(str(data / "w.duckdb"))
        run_year(con, 2013)
    export, frame = baseline.load(landing, 2013)
    classified = baseline.classify(export, frame, 2013)
    expected = baseline.question_summary(export, frame, 2013, classified=classified)
    outcomes = baseline.submission_outcomes(export, frame, 2013)
    return con, expected, outcomes


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    landing = data / "landing" / "2013"
    generate(landing, rows=6000, seed=11, shuffle_columns=True)
    con, expected, outcomes = run_both(data, landing)
    yield con, expected, outcomes
    con.close()


@pytest.fixture(scope="module")
def empty_bases(tmp_path_factory):
    """A hand-made year in which most questions have a base of 0 (their pct and pct_rounded NULL):
    two CSPs with IOM in place answer nothing else, one has none, one does not respond."""
    data = tmp_path_factory.mktemp("empty_bases")
    landing = data / "landing" / "2013"
    write_landing(landing, [
        row(1, "E22000001", q1_iom_in_place="Yes"),
        row(2, "E22000002", q1_iom_in_place="Yes"),
        row(3, "E22000003", q1_iom_in_place="No"),
    ])
    con, expected, outcomes = run_both(data, landing)
    yield con, expected, outcomes
    con.close()


def assert_question_summary_equal(con, expected) -> pd.DataFrame:
    """Every row of both, NULLs included (a NULL must meet a NULL, never a number), and the
    unrounded pct to 1e-9. Returns the rows compared."""
    cols = ["question_id", "option_id", "unit", "base_n", "n", "pct", "pct_rounded"]
    got = con.execute(f"select {', '.join(cols)} from marts.question_summary where survey_year = 2013").df()
    expected = expected[cols]
    assert not got.duplicated(["question_id", "option_id"]).any()
    assert not expected.duplicated(["question_id", "option_id"]).any()
    merged = got.merge(expected, on=["question_id", "option_id"], how="outer", suffixes=("", "_expected"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    assert len(merged) == len(got) == len(expected)

    def values(column: str) -> list:
        return [None if pd.isna(v) else v for v in merged[column]]

    keys = list(zip(merged["question_id"], merged["option_id"]))
    for col, same in (
        ("unit", lambda a, b: a == b),
        ("base_n", lambda a, b: int(a) == int(b)),
        ("n", lambda a, b: int(a) == int(b)),
        ("pct_rounded", lambda a, b: int(a) == int(b)),
        ("pct", lambda a, b: abs(float(a) - float(b)) <= 1e-9),
    ):
        differ = [
            (key, a, b) for key, a, b in zip(keys, values(col), values(f"{col}_expected"))
            if (a is None) != (b is None) or (a is not None and not same(a, b))
        ]
        assert not differ, (col, differ[:20])
    return merged


def test_question_summary_equals_the_independent_computation(both):
    con, expected, _ = both
    merged = assert_question_summary_equal(con, expected)
    assert merged["n"].sum() > 0 and merged["pct"].notna().all()


def test_empty_bases_are_null_in_both(empty_bases):
    con, expected, _ = empty_bases
    merged = assert_question_summary_equal(con, expected)
    # the comparison met NULL rows and numbers alike
    nulls = merged[merged["base_n"] == 0]
    assert len(nulls) > 10 and nulls["pct"].isna().all() and nulls["pct_rounded"].isna().all()
    assert merged["pct_rounded"].notna().sum() >= 3


def test_every_row_has_the_same_outcome(both):
    con, _, outcomes = both
    got = con.execute(
        "select response_id, outcome, csp_code from marts.submission_outcome where survey_year = 2013").df()
    merged = got.merge(outcomes, on="response_id", suffixes=("", "_expected"))
    assert len(merged) == len(got) == len(outcomes)
    differ = merged[merged["outcome"] != merged["outcome_expected"]]
    assert differ.empty, differ.head(20)
    counted = merged[merged["outcome"] == "counted"]
    assert (counted["csp_code"] == counted["csp_code_expected"]).all()
    assert set(pd.unique(got["outcome"])) == {"counted", "superseded", "not_analysable", "quarantined"}
