"""The pipeline against an independent pandas implementation of the spec (bench/pandas_baseline.py).

The baseline shares no code with the pipeline: it reads the spec's rules, not the questionnaire
YAML. On generated exports with every messy case, both must give the same question_summary
and the same outcome for every row.
"""

from __future__ import annotations

import importlib.util
import sys

import duckdb
import pandas as pd
import pytest

from iom_pipeline.paths import PROJECT_ROOT
from iom_pipeline.pipeline import run_year
from iom_synthetic.scale import generate


def _baseline():
    spec = importlib.util.spec_from_file_location("pandas_baseline", PROJECT_ROOT / "bench" / "pandas_baseline.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["pandas_baseline"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    landing = data / "landing" / "2013"
    generate(landing, rows=6000, seed=11, shuffle_columns=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IOM_DATA_DIR", str(data))
        con = duckdb.connect(str(data / "w.duckdb"))
        run_year(con, 2013)
    baseline = _baseline()
    export, frame = baseline.load(landing, 2013)
    classified = baseline.classify(export, frame, 2013)
    expected = baseline.question_summary(export, frame, 2013, classified=classified)
    outcomes = baseline.submission_outcomes(export, frame, 2013)
    yield con, expected, outcomes
    con.close()


def test_question_summary_equals_the_independent_computation(both):
    con, expected, _ = both
    got = con.execute(
        "select question_id, option_id, unit, base_n, n, pct_rounded from marts.question_summary where survey_year = 2013"
    ).df()
    cols = ["question_id", "option_id", "unit", "base_n", "n", "pct_rounded"]
    expected = expected[cols].astype({"base_n": "int64", "n": "int64"})
    merged = got.merge(expected, on=["question_id", "option_id"], how="outer", suffixes=("", "_expected"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    for col in ("unit", "base_n", "n"):
        mismatched = merged[merged[col] != merged[f"{col}_expected"]]
        assert mismatched.empty, mismatched[["question_id", "option_id", col, f"{col}_expected"]]
    rounded = merged.dropna(subset=["pct_rounded", "pct_rounded_expected"])
    assert (rounded["pct_rounded"].astype(int) == rounded["pct_rounded_expected"].astype(int)).all()
    assert merged["n"].sum() > 0


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
