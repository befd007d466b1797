"""Small-base suppression: the one rule every published table, figure and sentence follows.

A percentage whose base is below `suppress_below_base` (publication.yaml, default 10) is not
published: tables and CSVs show the shorthand `[c]` in its place, figures omit its bar and
label it `[c]`, and sentences either show `[c]` or use their `if_suppressed` wording. The count
and confidence interval go with it (with the base shown, the count would give the percentage
away). The marts keep every number; only what is published changes.
"""

from __future__ import annotations

from typing import Any

from iom_pipeline.publication.config import Settings, load_settings
from iom_pipeline.publication.numbers import is_missing


def is_suppressed(base_n: Any, settings: Settings | None = None) -> bool:
    settings = settings or load_settings()
    if settings.suppress_below_base <= 0:
        return False
    if is_missing(base_n):
        return True
    return int(base_n) < settings.suppress_below_base


def published_value(value: Any, base_n: Any, settings: Settings | None = None) -> Any:
    """The value as published: itself, `[c]` when its base is small, `[x]` when missing."""
    settings = settings or load_settings()
    if is_suppressed(base_n, settings):
        return settings.suppression_symbol
    if is_missing(value):
        return settings.not_available_symbol
    return value
