"""Survey domain checks: the SQL checks of `sql/checks/`, evaluated per survey year in one step.

Each check is a query returning the offending rows (none = pass), so a failure shows its count
and examples in the UI. Blocking checks stop the publication; warnings never do.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from iom_pipeline.defs.shared import survey_years, warehouse
from iom_pipeline.mart_digests import PERSONAL_VALUES_CHECK, record_checked
from iom_pipeline.quality.sql_checks import CheckOutcome, SqlCheck, discover_checks, evaluate
from iom_pipeline.questionnaire import questionnaire_for_year

CHECKS = discover_checks()


def check_key(check: SqlCheck) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(check.asset.split(".")), check.name)


def check_result(outcome: CheckOutcome, year: int) -> dg.AssetCheckResult:
    check, count = outcome.check, outcome.offending_rows
    shown = outcome.examples.to_markdown(index=False) if count else "none"
    if not outcome.applies:
        description = f"not applicable this year: {check.description}"
    elif outcome.examined_nothing:
        description = f"examined no rows, so nothing was shown to hold: {check.description}"
    elif not check.blocking:
        known = count - outcome.new_findings
        description = (f"{outcome.new_findings} new, {known} already found by the previous run: {check.description}"
                       if count else check.description)
    elif count:
        description = f"{count} offending row(s): {check.description}"
    else:
        description = check.description
    return dg.AssetCheckResult(
        asset_key=check_key(check).asset_key,
        check_name=check.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if check.blocking else dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "survey_year": dg.MetadataValue.text(str(year)),
            "applies": dg.MetadataValue.bool(outcome.applies),
            **({"applies_when": dg.MetadataValue.text(check.applies_when)} if check.applies_when else {}),
            "rows_examined": dg.MetadataValue.int(outcome.rows_examined),
            "offending_rows": dg.MetadataValue.int(count),
            **({"new_findings": dg.MetadataValue.int(outcome.new_findings)} if not check.blocking else {}),
            **{kind: dg.MetadataValue.int(n) for kind, n in outcome.counts.items()},
            # `iom run` prints a failed blocking check's "differences"
            ("differences" if check.blocking else "examples"): dg.MetadataValue.md(shown),
        },
    )


@dg.multi_asset_check(
    name="mart_checks",
    specs=[
        dg.AssetCheckSpec(
            name=c.name,
            asset=check_key(c).asset_key,
            description=f"{c.description}\n\nsql/checks/{c.name}.sql",
            blocking=c.blocking,
            partitions_def=survey_years,
        )
        for c in CHECKS
    ],
    can_subset=True,
)
def mart_checks(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource):
    year = int(context.partition_key)
    questionnaire_for_year(year)  # refuse a year without a questionnaire before querying
    with warehouse(duckdb) as con:
        for c in CHECKS:
            if check_key(c) in context.selected_asset_check_keys:
                outcome = evaluate(con, c, year)
                if c.name == PERSONAL_VALUES_CHECK and outcome.passed:
                    # what the publication's copies must equal: the marts this check passed
                    record_checked(con, year, context.run.run_id)
                yield check_result(outcome, year)


asset_checks = [mart_checks]
