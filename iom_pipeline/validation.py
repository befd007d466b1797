"""pandera schemas built from the questionnaire, and their use on the staged submissions.

Two schemas, both generated from the YAML:
- the submission schema validates every row's metadata (id, status, timestamps) on a narrow
  Arrow/polars frame;
- the answer schema validates the *values* each answer column takes: single-choice and tick
  columns must hold one of their labels (case and padding already folded by staging), free
  text must fit the length limit. It runs on each column's distinct values (lengths, for free
  text), which is equivalent for these checks and keeps a million-row export cheap; the rows
  holding a failing value are then found in DuckDB.

A failing `response_id` makes the whole file unusable (it is the key of every outcome); any
other failure quarantines the row, with the column, value and check recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandera.polars as pa
import polars as pl

from iom_pipeline.questionnaire import Questionnaire
from iom_pipeline.sql_models import ident

STATUS_VALUES = ("completed", "partial")
MAX_TEXT_LENGTH = 10_000  # characters in one free-text answer
FILE_LEVEL_COLUMNS = ("response_id",)


def _timestamp_check(fmt: str) -> pa.Check:
    def parses(data) -> pl.LazyFrame:
        col = pl.col(data.key)
        return data.lazyframe.select(col.is_null() | col.str.strptime(pl.Datetime, fmt, strict=False).is_not_null())

    return pa.Check(parses, name=f"timestamp like {fmt}", error=f"not a real date and time in the format {fmt}")


def _ended_when_completed(data) -> pl.LazyFrame:
    return data.lazyframe.select((pl.col("status") != "completed") | pl.col("ended").is_not_null())


def submission_schema(qn: Questionnaire) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "response_id": pa.Column(pl.Int64, nullable=False, unique=True),
            "status": pa.Column(pl.Utf8, pa.Check.isin(STATUS_VALUES), nullable=False),
            "started": pa.Column(pl.Utf8, _timestamp_check(qn.timestamp_format), nullable=False),
            "ended": pa.Column(pl.Utf8, _timestamp_check(qn.timestamp_format), nullable=True),
        },
        checks=[pa.Check(_ended_when_completed, name="ended given for a completed submission")],
        name=f"{qn.version} submission",
    )


def answer_label_schema(qn: Questionnaire) -> pa.DataFrameSchema:
    """Each choice column holds only its labels: a single-choice any option's, a tick its own."""
    from iom_pipeline.questionnaire import normalise_label

    columns = {}
    for c in qn.columns():
        if c.role == "single":
            allowed = [normalise_label(o.label) for o in qn.question(c.item_id).options]
        elif c.role == "tick":
            allowed = [normalise_label(c.label)]
        else:
            continue
        columns[c.name] = pa.Column(pl.Utf8, pa.Check.isin(allowed), nullable=True)
    return pa.DataFrameSchema(columns, name=f"{qn.version} answer labels")


def answer_text_schema(qn: Questionnaire) -> pa.DataFrameSchema:
    columns = {
        c.name: pa.Column(pl.Int64, pa.Check.le(MAX_TEXT_LENGTH), nullable=True)
        for c in qn.columns()
        if c.role == "text"
    }
    return pa.DataFrameSchema(columns, name=f"{qn.version} free-text lengths")


@dataclass
class ValidationResult:
    rows_checked: int
    failures: int  # failing cells, all quarantined
    failure_table: str


FAILURE_DDL = (
    "survey_year INTEGER, response_id BIGINT, source_row BIGINT, column_name VARCHAR, value VARCHAR, "
    "check_name VARCHAR, reason VARCHAR"
)


def _value_profile(con: duckdb.DuckDBPyConnection, table: str, year: int, columns: list[str], expr: str) -> pl.DataFrame:
    """The distinct values (or lengths) each column takes, as a frame padded with nulls."""
    if not columns:
        return pl.DataFrame()
    selected = ", ".join(f"{expr.format(col=ident(c))} as {ident(c)}" for c in columns)
    rows = con.execute(
        f"""select column_name, list(distinct cell_value) from (
                unpivot (select {selected} from {table} where survey_year = ?)
                on columns(*) into name column_name value cell_value)
            group by column_name""",
        [int(year)],
    ).fetchall()
    values = {name: vals for name, vals in rows}
    height = max((len(v) for v in values.values()), default=0)
    return pl.DataFrame(
        {c: (values.get(c, []) + [None] * (height - len(values.get(c, [])))) for c in columns},
        schema={c: (pl.Int64 if expr != "{col}" else pl.Utf8) for c in columns},
    )


def _failure_cases(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> pl.DataFrame | None:
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return exc.failure_cases
    return None


def validate_submissions(
    con: duckdb.DuckDBPyConnection, qn: Questionnaire, year: int, table: str = "staging.stg_submissions"
) -> tuple[ValidationResult, list[dict]]:
    """Validate one year's staged submissions; write `audit.validation_failure` for the year.

    Returns the result and the file-level failures (which make the export unusable).
    """
    con.execute(f"create table if not exists audit.validation_failure ({FAILURE_DDL})")
    con.execute("create or replace temp table _validation_failure as select * from audit.validation_failure limit 0")
    file_level: list[dict] = []

    meta = pl.from_arrow(
        con.sql(
            f"select source_row, response_id, status, started, ended from {table} where survey_year = ? order by source_row",
            params=[int(year)],
        ).to_arrow_table()
    )
    failures = _failure_cases(submission_schema(qn), meta.drop("source_row"))
    if failures is not None:
        failures = failures.with_columns(pl.col("index").cast(pl.Int64))
        located = failures.join(
            meta.select(pl.col("source_row"), pl.col("response_id")).with_row_index("index").with_columns(pl.col("index").cast(pl.Int64)),
            on="index",
            how="left",
        )
        located = located.with_columns(pl.col("column").fill_null("row"))
        file_level = [
            {"row": f["source_row"], "column": f["column"], "value": f["failure_case"], "check": f["check"]}
            for f in located.filter(pl.col("column").is_in(FILE_LEVEL_COLUMNS)).head(100).iter_rows(named=True)
        ]
        row_level = located.filter(~pl.col("column").is_in(FILE_LEVEL_COLUMNS)).select(
            pl.lit(int(year)).alias("survey_year"),
            pl.col("response_id"),
            pl.col("source_row"),
            pl.col("column").alias("column_name"),
            pl.col("failure_case").cast(pl.Utf8).str.slice(0, 200).alias("value"),
            pl.col("check").cast(pl.Utf8).alias("check_name"),
            pl.when(pl.col("column").is_in(["started", "ended"]) | pl.col("check").cast(pl.Utf8).str.contains("ended given"))
            .then(pl.lit("invalid_timestamp"))
            .otherwise(pl.lit("invalid_value"))
            .alias("reason"),
        )
        con.register("_row_failures", row_level.to_arrow())
        con.execute("insert into _validation_failure select * from _row_failures")
        con.unregister("_row_failures")

    for schema, expr in ((answer_label_schema(qn), "{col}"), (answer_text_schema(qn), "length({col})")):
        columns = list(schema.columns)
        profile = _value_profile(con, table, year, columns, expr)
        bad = _failure_cases(schema, profile)
        if bad is None:
            continue
        for f in bad.filter(pl.col("failure_case").is_not_null()).iter_rows(named=True):
            column, value = f["column"], f["failure_case"]
            condition = f"{expr.format(col=ident(column))} = ?"
            param = int(value) if expr != "{col}" else value
            con.execute(
                f"""insert into _validation_failure
                    select survey_year, response_id, source_row, ?, left({ident(column)}, 200), ?, 'invalid_value'
                    from {table} where survey_year = ? and {condition}""",
                [column, str(f["check"]), int(year), param],
            )

    con.execute("begin transaction")
    con.execute("delete from audit.validation_failure where survey_year = ?", [int(year)])
    con.execute("insert into audit.validation_failure select * from _validation_failure")
    con.execute("commit")
    count = con.execute("select count(*) from _validation_failure").fetchall()[0][0]
    con.execute("drop table _validation_failure")
    return ValidationResult(len(meta), int(count), "audit.validation_failure"), file_level


