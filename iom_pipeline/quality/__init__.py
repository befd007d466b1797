"""Data quality: Great Expectations suites on the small marts, SQL checks on everything else.

- `expectations`: the GX suites (assets/expectations/*.json) on the marts with one row per
  question and option, whose size does not grow with the export. Importing it imports Great
  Expectations (seconds); this package and `sql_checks` do not.
- `sql_checks`: the checks in sql/checks/*.sql, one query per check returning offending rows.
"""

from __future__ import annotations

# The marts with a Great Expectations suite: (table, its survey-year column).
SUITE_TABLES = {
    "question_summary": ("marts.question_summary", "survey_year"),
    "year_comparison": ("marts.year_comparison", "year_to"),
}


def suite_names() -> list[str]:
    """The suites, by the mart they validate (e.g. `question_summary`)."""
    return list(SUITE_TABLES)


__all__ = ["SUITE_TABLES", "suite_names"]
