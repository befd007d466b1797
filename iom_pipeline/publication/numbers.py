"""Rounding and number formatting for published figures.

Published whole percentages come from the marts' `pct_rounded` column (rounded half up by
the pipeline). Where the publication must round something itself (confidence limits, changes
between years, percentages in the year comparison), it rounds half up here, exactly, from the
decimal form of the value; Python's round() rounds half to even and is not used.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, pd.NA compare unequal to themselves
    except TypeError:  # pd.NA raises on bool()
        return True


def half_up(value: float | int | None, places: int = 0) -> float | int | None:
    """Round half up (away from zero on ties: 2.5 -> 3, -2.5 -> -3) to `places` decimals.

    Uses the shortest decimal representation of a float (repr), so 0.125 rounds to 0.13 at two
    places. Returns an int for places == 0.
    """
    if is_missing(value):
        return None
    if isinstance(value, float) and math.isinf(value):
        raise ValueError("cannot round an infinite value")
    quantum = Decimal(1).scaleb(-places)
    rounded = Decimal(repr(float(value)) if not isinstance(value, int) else value).quantize(
        quantum, rounding=ROUND_HALF_UP
    )
    return int(rounded) if places == 0 else float(rounded)


def pct_half_up(n: int, base: int) -> int | None:
    """100 * n / base, rounded half up, computed exactly from the counts."""
    if is_missing(n) or is_missing(base) or int(base) == 0:
        return None
    exact = Fraction(100 * int(n), int(base))
    return math.floor(exact + Fraction(1, 2))


def fmt_int(value: int | None) -> str:
    """1234 -> '1,234'."""
    if is_missing(value):
        return ""
    return f"{int(value):,}"


def fmt_signed(value: int | float | None, places: int = 0) -> str:
    """A change with an explicit sign: +16, -3, 0 (rounded half up)."""
    rounded = half_up(value, places)
    if rounded is None:
        return ""
    if rounded == 0:
        return "0" if places == 0 else f"{0:.{places}f}"
    text = f"{abs(rounded):.{places}f}" if places else str(abs(int(rounded)))
    return ("+" if rounded > 0 else "-") + text
