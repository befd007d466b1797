"""The pipeline's steps as plain functions over a DuckDB connection.

Dagster assets call these (see `iom_pipeline/defs/`); tests call them directly on small
hand-made inputs. Each step is scoped to one survey year and replaces only that year's rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb

from iom_pipeline import ingest
from iom_pipeline.ingest import InputFileError
from iom_pipeline.paths import landing_dir, work_dir
from iom_pipeline.questionnaire import Questionnaire, questionnaire_for_year
from iom_pipeline.sql_models import SqlModel, macro_statements, models_in_order
from iom_pipeline.warehouse import (
    build_model,
    current_setting,
    ensure_schemas,
    load_questionnaire_tables,
    setting,
    table_exists,
    table_kind,
)


@dataclass
class LandingResult:
    export_rows: int
    frame_rows: int
    published_rows: int | None
    encoding: str
    source: Path
    notes: list[str] = field(default_factory=list)


# The memory DuckDB may use (docs/scaling.md): well under the machine's, so the biggest writes
# and scans spill to disk instead of growing the process; with Python and Dagster beside it a
# 1M-row run stays near 1.5 GB (1 GB made the big writes spill and cost 5-10 % more time).
# A connection opened with its own memory_limit keeps it.
MEMORY_LIMIT = "1280MB"
# FSST string compression costs more than half the time of writing a wide text table (the raw
# copy, staging, the answer cells) and saves little on these short labels and codes; strings
# are still dictionary-compressed. A connection that chose its own methods keeps them.
DISABLED_COMPRESSION = "fsst"


@cache
def _default_memory_limit() -> str:
    with duckdb.connect() as fresh:
        return current_setting(fresh, "memory_limit")


def tune_connection(con: duckdb.DuckDBPyConnection) -> None:
    """The warehouse's memory limit and compression, unless the connection chose its own."""
    if current_setting(con, "memory_limit") == _default_memory_limit():
        con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    if not current_setting(con, "disabled_compression_methods"):
        con.execute(f"set disabled_compression_methods = '{DISABLED_COMPRESSION}'")


# A temporary table marks a connection as prepared, holding the digest of the macros it was
# prepared with. Unlike a session variable, it goes when a transaction that prepared the
# connection is rolled back, as the macros created in it do.
PREPARED_MARKER = "iom_warehouse_prepared"


def _prepared_with(con: duckdb.DuckDBPyConnection) -> str | None:
    marker = f"temp.main.{PREPARED_MARKER}"
    return con.execute(f"select digest from {marker}").fetchall()[0][0] if table_exists(con, marker) else None


def prepare_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """The warehouse's schemas, macros (`sql/macros/`) and settings. Every step function calls it
    on the connection it is given; a run's steps share one connection, so the work is done once
    per connection (about 40 ms, 30 times a run otherwise), and again when the macros change."""
    statements = macro_statements()
    digest = hashlib.md5("\0".join(statements).encode()).hexdigest()
    ensure_schemas(con)  # about 1 ms, and a schema dropped since is back
    if _prepared_with(con) == digest:
        return
    tune_connection(con)
    _drop_retired(con)
    for statement in statements:
        con.execute(statement)
    con.execute(f"create or replace temp table {PREPARED_MARKER} as select ?::varchar as digest", [digest])


# Models a warehouse written by an earlier version may still hold (a table or a view).
RETIRED = ("intermediate.int_answers", "intermediate.int_answer_cells")


def _drop_retired(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what earlier versions built and nothing builds now (the 20M-row answer cells would
    otherwise be searched for personal data at every run, out of date)."""
    for table in RETIRED:
        kind = table_kind(con, table)
        if kind is not None:
            con.execute(f"drop {'view' if kind == 'VIEW' else 'table'} {table}")


def land(con: duckdb.DuckDBPyConnection, year: int, landing: Path | None = None) -> LandingResult:
    """Landing files -> raw layer (exact text copies, personal data included)."""
    qn = questionnaire_for_year(year)
    landing = landing or landing_dir(year)
    work = work_dir() / "raw" / str(year)
    prepare_warehouse(con)
    landed, export_rows = ingest.land_export(con, landing, qn, year, work)
    frame_rows = ingest.land_frame(con, landing, year, work)
    published_rows = ingest.land_published(con, landing, year, work)
    return LandingResult(export_rows, frame_rows, published_rows, landed.encoding, landed.source, landed.notes)


def load_config(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, int]:
    prepare_warehouse(con)
    return load_questionnaire_tables(con, questionnaire_for_year(year), year)


def build_models(con: duckdb.DuckDBPyConnection, year: int, models: list[SqlModel]) -> dict[str, int]:
    qn = questionnaire_for_year(year)
    prepare_warehouse(con)
    # No model relies on row order, and letting DuckDB drop it lets big inserts stream and run in
    # parallel; other readers of the connection get the setting back as it was.
    with setting(con, "preserve_insertion_order", "false"):
        return {m.name: build_model(con, m, year, qn) for m in models}


def validate(con: duckdb.DuckDBPyConnection, year: int):
    """pandera validation of the staged submissions; a bad `response_id` refuses the file."""
    from iom_pipeline.validation import validate_submissions  # pandera and ibis: loaded when used

    qn: Questionnaire = questionnaire_for_year(year)
    result, file_level = validate_submissions(con, qn, year)
    if file_level:
        first = file_level[0]
        duplicated = "uniqueness" in str(first["check"])
        problem = (
            f"response_id {first['value']} appears more than once ({len(file_level)} rows share an id)"
            if duplicated
            else "response_id is missing or not a whole number"
        )
        raise InputFileError(ingest.find_export(landing_dir(year)), problem, row=first["row"], column="response_id")
    return result


def run_year(con: duckdb.DuckDBPyConnection, year: int, landing: Path | None = None) -> None:
    """Every step for one year, in order, without Dagster (tests and benchmarks)."""
    land(con, year, landing)
    load_config(con, year)
    build_models(con, year, models_in_order("staging"))
    validate(con, year)
    build_models(con, year, models_in_order("intermediate"))
    build_models(con, year, models_in_order("marts"))
