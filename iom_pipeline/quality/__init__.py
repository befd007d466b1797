"""Data quality suites (Great Expectations 1.x) for the staged submissions and the marts.

The suites live beside the questionnaire, in `assets/expectations/<table>.yaml`; the code that
expands and runs them is in `iom_pipeline.quality.expectations`. Importing this package is
cheap: Great Expectations itself is imported only when a suite runs.
"""

from __future__ import annotations

from iom_pipeline.quality.expectations import (
    FACTS,
    SuiteResult,
    expand_suite,
    read_table,
    required_facts,
    run_suite,
    suite_names,
    suite_table,
    warehouse_facts,
)

__all__ = [
    "FACTS",
    "SuiteResult",
    "expand_suite",
    "read_table",
    "required_facts",
    "run_suite",
    "suite_names",
    "suite_table",
    "warehouse_facts",
]
