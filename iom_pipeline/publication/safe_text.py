"""Neutralise spreadsheet formulas in text before it reaches a CSV or spreadsheet cell.

A spreadsheet program treats a cell whose text starts with `=`, `+`, `-` or `@` (and, in some
programs, a tab or carriage return) as a formula. Labels, reasons and any other text that
comes from the data could therefore run code on a reader's machine ("CSV injection"). Every
cell the publication writes to CSV, XLSX or ODS goes through `safe_cell`; numbers stored as
numbers are not text and are returned unchanged, so a negative change stays numeric.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

# Characters that make a spreadsheet program read a cell as a formula. The full-width forms
# are included because some programs normalise them to the ASCII ones.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
NEUTRALISING_PREFIX = "'"


def safe_text(value: str) -> str:
    """The text, with a leading apostrophe when it would otherwise start a formula."""
    if value.startswith(FORMULA_TRIGGERS):
        return NEUTRALISING_PREFIX + value
    return value


def safe_cell(value: Any) -> Any:
    """A value ready for a CSV or spreadsheet cell.

    Text is neutralised; booleans, integers and finite floats pass through as numbers;
    missing values (None, NaN, pandas NA) become None, written as an empty cell.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    # numpy and pandas scalars
    try:
        import numpy as np

        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return None if np.isnan(value) else float(value)
    except ImportError:  # pragma: no cover - numpy comes with pandas
        pass
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    return safe_text(str(value))


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Write a CSV (UTF-8, RFC 4180 quoting, `\\n` line ends) with every cell neutralised."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(safe_row(header))
        for row in rows:
            writer.writerow(["" if v is None else v for v in safe_row(row)])
    return path
