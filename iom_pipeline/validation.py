"""Validation of the staged submissions: read from DuckDB, checked with pandera, failures recorded.

The schemas and the checking are in `iom_pipeline.schemas` (pandera, on polars frames built
from the questionnaire). This module reads what they check from DuckDB as Arrow tables: the
narrow metadata frame (every row's id, status and timestamps) and, for the answers, each
column's distinct values or free-text lengths, which keeps a million-row export cheap. It then
writes `audit.validation_failure`, finding in DuckDB the rows that hold a failing value.

pandera and polars are imported when a validation runs, not with this module.

A failing `response_id` makes the whole file unusable (it is the key of every outcome); any
other failure quarantines the row, with the column, value and check recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from iom_pipeline.questionnaire import Questionnaire
from iom_pipeline.sql_models import ident
from iom_pipeline.warehouse import registered


@dataclass
class ValidationResult:
    rows_checked: int
    failures: int  # failing cells, all quarantined
    failure_table: str


FAILURE_DDL = (
    "survey_year INTEGER, response_id BIGINT, source_row BIGINT, column_name VARCHAR, value VARCHAR, "
    "check_name VARCHAR, reason VARCHAR"
)
# What each answer schema checks, per column: its value, or its length (free text).
MEASURES = {"value": "{col}", "length": "length({col})"}


def _value_profile(con: duckdb.DuckDBPyConnection, table: str, year: int, columns: list[str], measure: str):
    """The distinct (column_name, <measure>) pairs the columns take, as Arrow: each cell's value,
    or for free text its length."""
    import pyarrow as pa

    if not columns:
        return pa.table({"column_name": pa.array([], pa.string()),
                         measure: pa.array([], pa.string() if measure == "value" else pa.int64())})
    expr = MEASURES[measure]
    selected = ", ".join(f"{expr.format(col=ident(c))} as {ident(c)}" for c in columns)
    return con.sql(
        f"""select distinct column_name, {"cell_value" if measure == "value" else "cell_value::bigint"} as {measure} from (
                unpivot (select {selected} from {table} where survey_year = ?)
                on columns(*) into name column_name value cell_value)
            order by all""",
        params=[int(year)],
    ).to_arrow_table()


def validate_submissions(
    con: duckdb.DuckDBPyConnection, qn: Questionnaire, year: int, table: str = "staging.stg_submissions"
) -> tuple[ValidationResult, list[dict]]:
    """Validate one year's staged submissions; write `audit.validation_failure` for the year.

    Returns the result and the file-level failures (which make the export unusable).
    """
    meta = con.sql(
        f"select source_row, response_id, status, started, ended from {table} where survey_year = ? order by source_row",
        params=[int(year)],
    ).to_arrow_table()
    # pandera and polars: loaded when a validation runs
    from iom_pipeline.schemas import allowed_labels, find_failures, text_columns

    labels = _value_profile(con, table, year, list(allowed_labels(qn)), "value")
    lengths = _value_profile(con, table, year, text_columns(qn), "length")
    report = find_failures(int(year), meta, labels, lengths)

    con.execute(f"create table if not exists audit.validation_failure ({FAILURE_DDL})")
    con.execute("create or replace temp table _validation_failure as select * from audit.validation_failure limit 0")
    if report.row_level is not None and report.row_level.num_rows:
        with registered(con, "_row_failures", report.row_level):
            con.execute("insert into _validation_failure select * from _row_failures")
    for column, value, check, measure in report.values:
        condition = f"{MEASURES[measure].format(col=ident(column))} = ?"
        param = value if measure == "value" else int(value)
        con.execute(
            f"""insert into _validation_failure
                select survey_year, response_id, source_row, ?, left({ident(column)}, 200), ?, 'invalid_value'
                from {table} where survey_year = ? and {condition}""",
            [column, check, int(year), param],
        )

    con.execute("begin transaction")
    con.execute("delete from audit.validation_failure where survey_year = ?", [int(year)])
    con.execute("insert into audit.validation_failure select * from _validation_failure")
    con.execute("commit")
    count = con.execute("select count(*) from _validation_failure").fetchall()[0][0]
    con.execute("drop table _validation_failure")
    return ValidationResult(meta.num_rows, int(count), "audit.validation_failure"), report.file_level
