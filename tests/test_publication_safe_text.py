"""Spreadsheet formulas in text are neutralised in every CSV and spreadsheet cell."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from iom_pipeline.publication.numbers import fmt_signed, half_up, pct_half_up
from iom_pipeline.publication.safe_text import safe_cell, safe_text, write_csv


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+44 20 7946 0000", "-2+3", "@SUM(A1:A2)", "\tcmd", "\rcmd", '=HYPERLINK("http://x.invalid")', "\uff1d1+1"],
)
def test_formula_triggers_get_an_apostrophe(value):
    assert safe_text(value) == "'" + value
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Police", "IOM Key Principles", "0-100", "4 or more", "[c]", "", "a=b"])
def test_plain_text_is_unchanged(value):
    assert safe_cell(value) == value


def test_numbers_stay_numbers():
    import numpy as np
    import pandas as pd

    assert safe_cell(-3) == -3 and isinstance(safe_cell(-3), int)
    assert safe_cell(-2.5) == -2.5
    assert safe_cell(np.int64(-7)) == -7 and isinstance(safe_cell(np.int64(-7)), int)
    assert safe_cell(np.float64(1.5)) == 1.5
    assert safe_cell(True) is True
    assert safe_cell(None) is None
    assert safe_cell(float("nan")) is None
    assert safe_cell(pd.NA) is None


def test_csv_writer_neutralises_every_cell(tmp_path: Path):
    path = write_csv(tmp_path / "x.csv", ["label", "value"], [["=cmd|' /C calc'!A0", -4], ["@x", 2.5], ["ok", None]])
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[1] == ["'=cmd|' /C calc'!A0", "-4"]
    assert rows[2] == ["'@x", "2.5"]
    assert rows[3] == ["ok", ""]


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [(2.5, 0, 3), (3.5, 0, 4), (-2.5, 0, -3), (0.125, 2, 0.13), (94.05, 1, 94.1), (57.0, 1, 57.0), (None, 0, None)],
)
def test_half_up(value, places, expected):
    assert half_up(value, places) == expected


def test_pct_half_up_is_exact():
    assert pct_half_up(1, 8) == 13  # 12.5 -> 13
    assert pct_half_up(3, 184) == 2
    assert pct_half_up(5, 0) is None
    assert math.isclose(100 * 4 / 134, 2.985, abs_tol=0.001) and pct_half_up(4, 134) == 3


def test_signed_changes():
    assert fmt_signed(15.86) == "+16"
    assert fmt_signed(-0.55) == "-1"
    assert fmt_signed(0.1) == "0"
