"""Validation of the staged submissions in DuckDB, with pandera; failures recorded.

The schemas are in `iom_pipeline.schemas` (pandera's ibis backend, built from the questionnaire).
This module points them at one survey year's rows of the staged table, where they live in the
warehouse, and acts on what fails:
- a failure of the staged table itself (columns, one row per export row) raises StagingError;
- a bad, missing or duplicated `response_id` is returned as a file-level failure: it is the key
  of every outcome, so the caller refuses the whole file;
- any other failing cell is written to `audit.validation_failure` (column, value, check,
  reason), which quarantines its row;
- a warning is counted in `ValidationResult.warnings` and quarantines nothing.

Nothing row by row leaves DuckDB: pandera's checks run as SQL and answer pass or fail, the
failing rules are counted in one more query, and the failing cells go from the staged table to
the audit table in one SQL statement. Only the first file-level failures come back to Python.

pandera and ibis are imported when a validation runs, not with this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from iom_pipeline.questionnaire import Questionnaire
from iom_pipeline.warehouse import table_exists, transaction


@dataclass
class ValidationResult:
    rows_checked: int
    failures: int  # failing cells, all quarantined
    failure_table: str
    # Rows each warning check flags (checks that flag none are absent): reported, never quarantined.
    warnings: dict[str, int] = field(default_factory=dict)


class StagingError(RuntimeError):
    """The staged table is not what staging builds from an export: a fault of the pipeline."""


FAILURE_DDL = (
    "survey_year INTEGER, response_id BIGINT, source_row BIGINT, column_name VARCHAR, value VARCHAR, "
    "check_name VARCHAR, reason VARCHAR"
)
FILE_LEVEL_LIMIT = 100  # file-level failures returned; the file is refused on the first


def _export_rows(con: duckdb.DuckDBPyConnection, year: int) -> int | None:
    """Rows of the year's landed export, when the raw layer has it."""
    raw = f"raw.survey_export_{int(year)}"
    if not table_exists(con, raw):
        return None
    return int(con.execute(f"select count(*) from {raw}").fetchall()[0][0])


def validate_submissions(
    con: duckdb.DuckDBPyConnection, qn: Questionnaire, year: int, table: str = "staging.stg_submissions"
) -> tuple[ValidationResult, list[dict]]:
    """Validate one year's staged submissions; write `audit.validation_failure` for the year.

    Returns the result and the file-level failures (which make the export unusable), each a
    dict of row (source_row), column, value and check.
    """
    import ibis

    from iom_pipeline import schemas

    year = int(year)
    database, name = table.rsplit(".", 1)
    # ibis sets options on the connection it is given (time zone, replacement scans): it gets a
    # connection of its own to the same warehouse, and the caller's keeps its settings.
    session = con.cursor()
    try:
        staged = ibis.duckdb.from_connection(session).table(name, database=database)
        rows = staged.filter(staged.survey_year == year)
        rows_checked = int(rows.count().execute())
        export_rows = _export_rows(con, year)
        export_rows = rows_checked if export_rows is None else export_rows

        errors = schemas.failed_checks(schemas.submission_schema(qn, year, export_rows), rows)
        errors += schemas.failed_checks(schemas.warning_schema(qn), rows)
        _raise_for_staging(errors, rows, qn, year, export_rows, table)

        # Which rules of the failed groups fail, and on how many rows: one query.
        failed_names = {schemas.check_name(e) for e in errors}
        rules = [(group.level, rule) for group in schemas.cell_checks(qn) if group.name in failed_names for rule in group.rules]
        counts = schemas.failure_counts(rows, [rule for _, rule in rules])
        failing = {"file": [], "row": [], "warning": []}  # level -> [(rule, rows failing it)]
        for (level, rule), count in zip(rules, counts):
            if count:
                failing[level].append((rule, count))

        file_level = []
        if failing["file"]:
            cells = schemas.failing_cells(rows, [rule for rule, _ in failing["file"]])
            for cell in cells.order_by(["rule_order", "source_row"]).limit(FILE_LEVEL_LIMIT).to_pyarrow().to_pylist():
                file_level.append(
                    {"row": cell["source_row"], "column": cell["column_name"], "value": cell["value"], "check": cell["check_name"]}
                )

        row_rules = [rule for rule, _ in failing["row"]]
        insert = None
        if row_rules:
            cells_sql = ibis.to_sql(schemas.failing_cells(rows, row_rules).drop("rule_order"))
            insert = f"insert into audit.validation_failure by name select * from ({cells_sql})"
    finally:
        session.close()

    con.execute(f"create table if not exists audit.validation_failure ({FAILURE_DDL})")
    with transaction(con):
        con.execute("delete from audit.validation_failure where survey_year = ?", [year])
        if insert:
            con.execute(insert)
    result = ValidationResult(
        rows_checked,
        sum(count for _, count in failing["row"]),
        "audit.validation_failure",
        {rule.check: count for rule, count in failing["warning"]},
    )
    return result, file_level


def _raise_for_staging(errors: list, rows, qn: Questionnaire, year: int, export_rows: int, table: str) -> None:
    """StagingError for any failure that is not a failing cell: a staging check, a column
    missing, unexpected or of the wrong type, or a check that could not run."""
    from pandera.errors import SchemaErrorReason as Reason

    from iom_pipeline import schemas

    cell_groups = {group.name for group in schemas.cell_checks(qn)}
    staging = schemas.staging_checks(qn, year, export_rows)
    problems = []
    for error in errors:
        name, reason, case = schemas.check_name(error), error.reason_code, error.failure_cases
        if reason == Reason.DATAFRAME_CHECK and name in cell_groups:
            continue
        if reason == Reason.DATAFRAME_CHECK and name == staging.name:
            problems += schemas.failing_table_rules(rows, staging)
        elif reason == Reason.COLUMN_NOT_IN_SCHEMA:
            problems.append(f"unexpected column {case}")
        elif reason == Reason.COLUMN_NOT_IN_DATAFRAME:
            problems.append(f"missing column {case}")
        elif reason == Reason.WRONG_DATATYPE:
            problems.append(f"column {error.schema.name} is {case}, not {error.schema.dtype}")
        else:
            problems.append(f"{name} could not run: {str(case)[:300]}")
    if problems:
        raise StagingError(f"{table} for {year} is not what staging builds from the export: " + "; ".join(problems))
