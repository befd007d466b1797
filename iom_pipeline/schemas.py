"""pandera schemas built from the questionnaire, and the search for the values that fail them.

Two schemas, both generated from the YAML:
- the submission schema validates every row's metadata (id, status, timestamps) on a narrow
  Arrow/polars frame;
- the answer schemas validate the *values* each answer column takes: single-choice and tick
  columns must hold one of their labels (case and padding already folded by staging), free
  text must fit the length limit. They run on each column's distinct values (lengths, for free
  text), which is equivalent for these checks and keeps a million-row export cheap.

`find_failures` takes the frames `iom_pipeline.validation` reads from DuckDB (as Arrow tables)
and returns what failed; it needs no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandera.polars as pa
import polars as pl
import pyarrow

from iom_pipeline.questionnaire import Questionnaire, questionnaire_for_year

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


def allowed_labels(qn: Questionnaire) -> dict[str, list[str]]:
    """Each choice column's labels (as staging folds them): a single-choice any option's, a tick its own."""
    from iom_pipeline.questionnaire import normalise_label

    allowed = {}
    for c in qn.columns():
        if c.role == "single":
            allowed[c.name] = [normalise_label(o.label) for o in qn.question(c.item_id).options]
        elif c.role == "tick":
            allowed[c.name] = [normalise_label(c.label)]
    return allowed


def text_columns(qn: Questionnaire) -> list[str]:
    return [c.name for c in qn.columns() if c.role == "text"]


_KEY_SEPARATOR = "\x1f"  # never in a column name or a label


def answer_label_schema(qn: Questionnaire) -> pa.DataFrameSchema:
    """Each choice column holds only its labels.

    Validated on the long frame of (column_name, value) pairs the columns take, so a hundred
    answer columns are two schema columns and one check, not a hundred of each.
    """
    allowed = allowed_labels(qn)
    pairs = [f"{column}{_KEY_SEPARATOR}{label}" for column, labels in allowed.items() for label in labels]

    def is_allowed(data) -> pl.LazyFrame:
        pair = pl.concat_str([pl.col("column_name"), pl.lit(_KEY_SEPARATOR), pl.col(data.key)])
        return data.lazyframe.select(pair.is_in(pairs))

    return pa.DataFrameSchema(
        {
            "column_name": pa.Column(pl.Utf8, pa.Check.isin(list(allowed)), nullable=False),
            "value": pa.Column(
                pl.Utf8, pa.Check(is_allowed, name="a label of its column", error="not one of the column's labels"),
                nullable=False,
            ),
        },
        name=f"{qn.version} answer labels",
    )


def answer_text_schema(qn: Questionnaire) -> pa.DataFrameSchema:
    """Free text fits the length limit, on the long frame of (column_name, length) pairs."""
    return pa.DataFrameSchema(
        {
            "column_name": pa.Column(pl.Utf8, pa.Check.isin(text_columns(qn)), nullable=False),
            "length": pa.Column(pl.Int64, pa.Check.le(MAX_TEXT_LENGTH), nullable=False),
        },
        name=f"{qn.version} free-text lengths",
    )


def _failure_cases(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> pl.DataFrame | None:
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return exc.failure_cases
    return None


@dataclass
class FailureReport:
    """What failed: row-level metadata failures (Arrow, audit.validation_failure's columns),
    file-level ones (a bad response_id), and failing answer values as
    (column, value, check, measure) with measure "value" or "length"."""

    row_level: pyarrow.Table | None = None
    file_level: list[dict] = field(default_factory=list)
    values: list[tuple[str, object, str, str]] = field(default_factory=list)


def find_failures(year: int, meta: pyarrow.Table, labels: pyarrow.Table, lengths: pyarrow.Table) -> FailureReport:
    """Validate the metadata frame (source_row, response_id, status, started, ended) and the
    value profiles (distinct labels, free-text lengths) of one year's staged submissions."""
    qn = questionnaire_for_year(year)
    report = FailureReport()
    meta_frame = pl.from_arrow(meta)
    failures = _failure_cases(submission_schema(qn), meta_frame.drop("source_row"))
    if failures is not None:
        failures = failures.with_columns(pl.col("index").cast(pl.Int64))
        located = failures.join(
            meta_frame.select(pl.col("source_row"), pl.col("response_id"))
            .with_row_index("index")
            .with_columns(pl.col("index").cast(pl.Int64)),
            on="index",
            how="left",
        )
        located = located.with_columns(pl.col("column").fill_null("row"))
        report.file_level = [
            {"row": f["source_row"], "column": f["column"], "value": f["failure_case"], "check": f["check"]}
            for f in located.filter(pl.col("column").is_in(FILE_LEVEL_COLUMNS)).head(100).iter_rows(named=True)
        ]
        report.row_level = located.filter(~pl.col("column").is_in(FILE_LEVEL_COLUMNS)).select(
            pl.lit(int(year)).cast(pl.Int32).alias("survey_year"),
            pl.col("response_id"),
            pl.col("source_row"),
            pl.col("column").alias("column_name"),
            pl.col("failure_case").cast(pl.Utf8).str.slice(0, 200).alias("value"),
            pl.col("check").cast(pl.Utf8).alias("check_name"),
            pl.when(pl.col("column").is_in(["started", "ended"]) | pl.col("check").cast(pl.Utf8).str.contains("ended given"))
            .then(pl.lit("invalid_timestamp"))
            .otherwise(pl.lit("invalid_value"))
            .alias("reason"),
        ).to_arrow()

    allowed = allowed_labels(qn)
    for schema, profile, measure in ((answer_label_schema(qn), labels, "value"), (answer_text_schema(qn), lengths, "length")):
        if profile.num_rows == 0:
            continue
        frame = pl.from_arrow(profile)
        bad = _failure_cases(schema, frame)
        if bad is None:
            continue
        columns = frame.get_column("column_name").to_list()
        for f in bad.filter(pl.col("column") == measure).iter_rows(named=True):
            column = columns[int(f["index"])]
            check = f"one of {allowed.get(column)}" if measure == "value" else str(f["check"])
            report.values.append((column, f["failure_case"], check, measure))
    return report
