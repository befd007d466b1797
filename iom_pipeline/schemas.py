"""pandera schemas of the staged submissions, built from the questionnaire and run in DuckDB.

pandera's ibis backend validates one survey year's rows of `staging.stg_submissions` where they
live: every check is an ibis expression, so it runs as SQL in DuckDB and no frame of the table
is ever built in Python.

The checks are written as *cell rules*: a column, a boolean ibis expression that holds when the
cell is acceptable, the check name recorded against a failing cell and the quarantine reason.
Rules are grouped, and each group is one pandera check that passes when every rule holds on
every row, so the hundred-odd answer columns are checked in one pass over the table, not one
pass each. pandera answers pass or fail per group (a per-row answer would make it fetch a
million-row column on failure); when a group fails, the same rules count and find the failing
cells (`failure_counts`, `failing_cells`), in SQL too.

What a failing group means depends on its level:
- `staging`: the staged table itself is wrong (a column too many or missing, not one row per
  export row, another year's or another questionnaire's data). A fault of the pipeline, never
  of the export: the validation stops.
- `file`: a bad, missing or duplicated `response_id`. The export cannot be used at all.
- `row`: metadata or an answer the questionnaire does not allow. The row is quarantined.
- `warning`: reported only (`warning_schema`); the row is used as it is.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ibis
import pandera.ibis as pa

from iom_pipeline.questionnaire import Questionnaire, all_questionnaires, normalise_label

STATUS_VALUES = ("completed", "partial")
MAX_TEXT_LENGTH = 10_000  # characters in one free-text answer
REPORTED_VALUE_LENGTH = 200  # characters of a failing value kept in audit.validation_failure

# The staged table's columns besides the answers, with their ibis types where the checks rely
# on them (None: present, any type).
METADATA_COLUMNS = {
    "survey_year": None,
    "response_id": "int64",
    "source_row": "int64",
    "status": "string",
    "started": "string",
    "ended": "string",
    "started_at": None,
    "ended_at": None,
    "csp_code": "string",
    "csp_name": "string",
    "csp_name_normalised": "string",
}

Predicate = Callable[[ibis.Table], ibis.expr.types.BooleanValue]


@ibis.udf.scalar.builtin
def try_strptime(text: str, fmt: str) -> datetime.datetime:
    """DuckDB's `try_strptime`: the timestamp, or NULL when the text does not fit the format."""


def _vacuously_true(scalar):
    # An aggregate over no rows is NULL; a table property holds on an empty table.
    return scalar.fill_null(True)


@dataclass(frozen=True)
class CellRule:
    """One check of one column, on every row. `holds` is never NULL."""

    column: str
    check: str  # recorded as check_name with a failing cell
    reason: str  # the quarantine reason of a failing row (row-level rules)
    holds: Predicate


@dataclass(frozen=True)
class CellChecks:
    """Rules checked together: one pandera check, one pass over the table."""

    name: str
    level: str  # file | row | warning
    description: str
    rules: tuple[CellRule, ...]

    def pandera_check(self) -> pa.Check:
        rules = self.rules

        def every_cell_holds(data):
            # One boolean for the table, not a column of them: given a column, pandera fetches
            # all of it (a million rows) to index the failures. The cells are found in SQL.
            # The projection first: a rule may be a window, which cannot sit in an aggregate.
            cells = data.table.select(holds=ibis.and_(*(rule.holds(data.table) for rule in rules)))
            return _vacuously_true(cells.holds.all())

        return pa.Check(every_cell_holds, name=self.name, error=self.description)


@dataclass(frozen=True)
class TableRule:
    name: str
    holds: Callable[[ibis.Table], ibis.expr.types.BooleanScalar]


@dataclass(frozen=True)
class TableChecks:
    """Properties of the whole staged table: one pandera check, one aggregate query."""

    name: str
    description: str
    rules: tuple[TableRule, ...]

    def pandera_check(self) -> pa.Check:
        rules = self.rules

        def all_hold(data):
            return ibis.and_(*(_vacuously_true(rule.holds(data.table)) for rule in rules))

        return pa.Check(all_hold, name=self.name, error=self.description)


# -- what the questionnaire allows ---------------------------------------------------------
def allowed_labels(qn: Questionnaire) -> dict[str, list[str]]:
    """Each choice column's labels (as staging folds them): a single-choice any option's, a tick its own."""
    allowed = {}
    for c in qn.columns():
        if c.role == "single":
            allowed[c.name] = [normalise_label(o.label) for o in qn.question(c.item_id).options]
        elif c.role == "tick":
            allowed[c.name] = [normalise_label(c.label)]
    return allowed


def text_columns(qn: Questionnaire) -> list[str]:
    return [c.name for c in qn.columns() if c.role == "text"]


def other_version_columns(qn: Questionnaire) -> list[str]:
    """Answer columns only other questionnaire versions have: the staged table holds every
    year's rows, so it has them, and this year's rows must leave them empty."""
    own = set(qn.answer_column_names)
    other = []
    for version in all_questionnaires():
        other += [c for c in version.answer_column_names if c not in own and c not in other]
    return other


# -- the rules -----------------------------------------------------------------------------
def _not_null(column: str) -> Predicate:
    return lambda t: t[column].notnull()


def _one_of(column: str, values: Sequence[str]) -> Predicate:
    return lambda t: t[column].isnull() | t[column].isin(list(values))


def _timestamp(column: str, fmt: str) -> Predicate:
    return lambda t: t[column].isnull() | try_strptime(t[column], fmt).notnull()


def _at_most_characters(column: str, limit: int) -> Predicate:
    return lambda t: t[column].isnull() | (t[column].length() <= limit)


def _unique(column: str) -> Predicate:
    # A window, not a self-join: one hash partition of the table, whatever its size.
    return lambda t: t[column].isnull() | (t.count().over(group_by=t[column]) == 1)


def _ended_when_completed(t: ibis.Table):
    return t.status.isnull() | (t.status != "completed") | t.ended.notnull()


def _ends_after_start(t: ibis.Table):
    return t.started_at.isnull() | t.ended_at.isnull() | (t.ended_at >= t.started_at)


def response_id_checks() -> CellChecks:
    return CellChecks(
        "response_id given and unique",
        "file",
        "response_id is a whole number, unique within the file (the key of every outcome)",
        (
            CellRule("response_id", "not_nullable", "invalid_value", _not_null("response_id")),
            CellRule("response_id", "field_uniqueness", "invalid_value", _unique("response_id")),
        ),
    )


def metadata_checks(qn: Questionnaire) -> CellChecks:
    fmt = qn.timestamp_format
    return CellChecks(
        "submission metadata",
        "row",
        f"status completed or partial; started and ended real times in the format {fmt}; ended given when completed",
        (
            CellRule("status", "not_nullable", "invalid_value", _not_null("status")),
            CellRule("status", f"isin({list(STATUS_VALUES)})", "invalid_value", _one_of("status", STATUS_VALUES)),
            CellRule("started", "not_nullable", "invalid_timestamp", _not_null("started")),
            CellRule("started", f"timestamp like {fmt}", "invalid_timestamp", _timestamp("started", fmt)),
            CellRule("ended", f"timestamp like {fmt}", "invalid_timestamp", _timestamp("ended", fmt)),
            CellRule("ended", "ended given for a completed submission", "invalid_timestamp", _ended_when_completed),
        ),
    )


def answer_checks(qn: Questionnaire) -> CellChecks:
    """Single-choice and tick columns hold only their labels (case and padding already folded
    by staging); free text fits the length limit."""
    rules = [CellRule(c, f"one of {labels}", "invalid_value", _one_of(c, labels)) for c, labels in allowed_labels(qn).items()]
    rules += [
        CellRule(c, f"less_than_or_equal_to({MAX_TEXT_LENGTH})", "invalid_value", _at_most_characters(c, MAX_TEXT_LENGTH))
        for c in text_columns(qn)
    ]
    return CellChecks(f"{qn.version} answers", "row", "each answer is one of its column's labels, or short enough text", tuple(rules))


def timing_checks() -> CellChecks:
    return CellChecks(
        "submission times",
        "warning",
        "a submission does not end before it starts",
        (CellRule("ended_at", "ended not before started", "", _ends_after_start),),
    )


def staging_checks(qn: Questionnaire, year: int, export_rows: int) -> TableChecks:
    """The staged rows are the export's rows, one each, of this year and this questionnaire."""
    year = int(year)

    def no_other_version_answers(t: ibis.Table):
        present = [c for c in other_version_columns(qn) if c in t.columns]
        return ibis.and_(*(t[c].isnull().all() for c in present)) if present else ibis.literal(True)

    return TableChecks(
        "staged rows are the export's rows",
        "one staged row per export row (source_row 1 to the export's rows, each once), of the survey year, "
        "with no answer in a column only another questionnaire version has",
        (
            TableRule(f"{export_rows} rows, one per export row", lambda t: t.count() == export_rows),
            TableRule("source_row given", lambda t: t.source_row.notnull().all()),
            TableRule(f"source_row between 1 and {export_rows}", lambda t: t.source_row.between(1, export_rows).all()),
            TableRule("source_row unique", lambda t: t.source_row.nunique() == t.source_row.count()),
            TableRule(f"survey_year is {year}", lambda t: (t.survey_year == year).all()),
            TableRule("no answer in a column of another questionnaire version", no_other_version_answers),
        ),
    )


def cell_checks(qn: Questionnaire) -> list[CellChecks]:
    """Every group of cell rules, whatever its level."""
    return [response_id_checks(), metadata_checks(qn), answer_checks(qn), timing_checks()]


# -- the schemas ---------------------------------------------------------------------------
def submission_schema(qn: Questionnaire, year: int, export_rows: int) -> pa.DataFrameSchema:
    """The staged rows of one survey year: exactly the expected columns (no personal data),
    then the staging, file-level and row-level checks."""
    string = ibis.dtype("string")
    columns = {name: pa.Column(ibis.dtype(dtype) if dtype else None, nullable=True) for name, dtype in METADATA_COLUMNS.items()}
    columns |= {c: pa.Column(string, nullable=True) for c in qn.answer_column_names}
    columns |= {c: pa.Column(string, nullable=True, required=False) for c in other_version_columns(qn)}
    checks = [staging_checks(qn, year, export_rows).pandera_check()]
    checks += [group.pandera_check() for group in cell_checks(qn) if group.level != "warning"]
    return pa.DataFrameSchema(columns, checks=checks, strict=True, name=f"{qn.version} staged submissions")


def warning_schema(qn: Questionnaire) -> pa.DataFrameSchema:
    """Checks whose failures are reported but never quarantine a row."""
    checks = [group.pandera_check() for group in cell_checks(qn) if group.level == "warning"]
    return pa.DataFrameSchema(checks=checks, name=f"{qn.version} submission warnings")


def failed_checks(schema: pa.DataFrameSchema, rows: ibis.Table) -> list:
    """The schema's failures on the rows (pandera SchemaError objects); empty when all pass."""
    try:
        schema.validate(rows, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return list(exc.schema_errors)
    return []


def check_name(error) -> str:
    """The name of the check a pandera SchemaError reports (a Check, or a built-in's name)."""
    return getattr(error.check, "name", None) or str(error.check)


# -- finding what failed -------------------------------------------------------------------
def failure_counts(rows: ibis.Table, rules: Sequence[CellRule]) -> list[int]:
    """How many rows fail each rule, in one pass."""
    if not rules:
        return []
    flags = rows.select(**{f"rule_{i}": ~rule.holds(rows) for i, rule in enumerate(rules)})
    counts = flags.aggregate(**{name: flags[name].sum() for name in flags.columns}).to_pyarrow().to_pylist()[0]
    return [int(counts[f"rule_{i}"] or 0) for i in range(len(rules))]


def failing_cells(rows: ibis.Table, rules: Sequence[CellRule]) -> ibis.Table:
    """One row per failing cell, with audit.validation_failure's columns and `rule_order`
    (the rule's position in `rules`). Give it only rules known to fail: each is a filter."""
    parts = [
        rows.filter(~rule.holds(rows)).select(
            survey_year=rows.survey_year,
            response_id=rows.response_id,
            source_row=rows.source_row,
            column_name=ibis.literal(rule.column),
            value=rows[rule.column].cast("string").substr(0, REPORTED_VALUE_LENGTH),
            check_name=ibis.literal(rule.check),
            reason=ibis.literal(rule.reason),
            rule_order=ibis.literal(i, type="int64"),
        )
        for i, rule in enumerate(rules)
    ]
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def failing_table_rules(rows: ibis.Table, checks: TableChecks) -> list[str]:
    """The names of the table rules that do not hold, in one aggregate query."""
    held = rows.aggregate(
        **{f"rule_{i}": _vacuously_true(rule.holds(rows)) for i, rule in enumerate(checks.rules)}
    ).to_pyarrow().to_pylist()[0]
    return [rule.name for i, rule in enumerate(checks.rules) if not held[f"rule_{i}"]]
