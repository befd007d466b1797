"""The DuckDB warehouse: layers, year-scoped writes, and the questionnaire loaded as tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from iom_pipeline.questionnaire import CSP_LEVEL, Questionnaire, normalise_label
from iom_pipeline.sql_models import SqlModel, ident, lit, render

SCHEMAS = ("raw", "config", "staging", "intermediate", "marts", "audit")


def ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")


def table_kind(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """`BASE TABLE`, `VIEW` or `LOCAL TEMPORARY` for `schema.name` in the warehouse, or for
    `database.schema.name` in an attached database (`temp` for temporary tables); None when
    there is none."""
    *database, schema, name = table.split(".")
    kind = con.execute(
        "select table_type from information_schema.tables where table_catalog = coalesce(?, current_database()) "
        "and table_schema = ? and table_name = ?",
        [database[0] if database else None, schema, name],
    ).fetchall()
    return kind[0][0] if kind else None


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """`schema.name` in the warehouse, or `database.schema.name` in an attached database."""
    return table_kind(con, table) is not None


def column_types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """{column: type} of a table or any relation (`read_parquet(...)`), in column order."""
    return {row[0]: row[1] for row in con.execute(f"describe select * from {relation}").fetchall()}


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table) -> Iterator[str]:
    """An Arrow table (or DataFrame) visible to SQL as view `name` while the block runs."""
    con.register(name, table)
    try:
        yield name
    finally:
        con.unregister(name)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The block's statements commit together, or not at all."""
    con.execute("begin transaction")
    try:
        yield
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def current_setting(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """A DuckDB setting's value on this connection, as text ('' when unset)."""
    return con.execute("select value from duckdb_settings() where name = ?", [name]).fetchall()[0][0]


@contextmanager
def setting(con: duckdb.DuckDBPyConnection, name: str, value: str) -> Iterator[None]:
    """`set name = value` for the block; the connection's own value back afterwards."""
    before = current_setting(con, name)
    con.execute(f"set {name} = {lit(value)}")
    try:
        yield
    finally:
        con.execute(f"set {name} = {lit(str(before))}")


def replace_year_rows(
    con: duckdb.DuckDBPyConnection, table: str, select_sql: str, year: int, year_column: str = "survey_year"
) -> int:
    """Replace one survey year's rows of `table` with the result of `select_sql`, atomically.

    Other years' rows stay as they were. A column the new rows bring (a new question) is added
    to the table; a column they lack is left NULL for this year. Returns the rows written.

    The query is bound once where it can be (binding the staging model, its redaction expanded
    for every column, costs as much as running it on the sample): only when the insert cannot
    bind, because the rows bring a column the table lacks, is the query bound on its own to
    learn the columns to add, and the year's rows replaced again in a new transaction.
    """

    def delete_and_insert() -> int:
        con.execute(f"delete from {table} where {ident(year_column)} = ?", [int(year)])
        # DuckDB answers a write with the number of rows written: no count(*) afterwards.
        return con.execute(f"insert into {table} by name ({select_sql})").fetchall()[0][0]

    if not table_exists(con, table):
        with transaction(con):
            return int(con.execute(f"create table {table} as {select_sql}").fetchall()[0][0])
    try:
        with transaction(con):
            return int(delete_and_insert())
    except duckdb.BinderException:
        pass  # a column the table lacks; any other error is raised again below
    with transaction(con):
        relation = con.sql(select_sql)  # bound, never run
        existing = column_types(con, table)
        for name, dtype in zip(relation.columns, relation.types):
            if name not in existing:
                con.execute(f"alter table {table} add column {ident(name)} {dtype}")
        return int(delete_and_insert())


def replace_view(con: duckdb.DuckDBPyConnection, table: str, select_sql: str, year: int, year_column: str = "survey_year") -> int:
    """(Re)define `table` as a view over every year; returns the year's rows it shows.

    A warehouse written before the model became a view holds a table of that name: it is
    dropped, and the view shows every year's rows again from the model's inputs.
    """
    kind = table_kind(con, table)
    with transaction(con):
        if kind is not None and kind != "VIEW":
            con.execute(f"drop table {table}")
        con.execute(f"create or replace view {table} as {select_sql}")
    return int(con.execute(f"select count(*) from {table} where {ident(year_column)} = ?", [int(year)]).fetchall()[0][0])


def build_model(con: duckdb.DuckDBPyConnection, model: SqlModel, year: int, qn: Questionnaire) -> int:
    write = replace_view if model.materialised == "view" else replace_year_rows
    return write(con, model.table, render(model, year, qn), year, model.year_column)


def preview_markdown(
    con: duckdb.DuckDBPyConnection, table: str, year: int, year_column: str = "survey_year", limit: int = 5, max_columns: int = 12
) -> str:
    """A few rows of the year, as a Markdown table for the UI (wide tables: the first columns)."""
    columns = list(column_types(con, table))[:max_columns]
    rows = con.execute(
        f"select {', '.join(ident(c) for c in columns)} from {table} where {ident(year_column)} = ? limit {int(limit)}",
        [int(year)],
    ).fetchall()

    def cell(value) -> str:
        text = "" if value is None else str(value)
        return (text[:40] + "…" if len(text) > 40 else text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


# -- the questionnaire as tables ------------------------------------------------------------
CONFIG_TABLES = {
    "question": "survey_year INTEGER, questionnaire_version VARCHAR, question_id VARCHAR, question_type VARCHAR, "
    "unit VARCHAR, question_text VARCHAR, base_text VARCHAR, question_order INTEGER",
    "option": "survey_year INTEGER, question_id VARCHAR, option_id VARCHAR, option_label VARCHAR, label_norm VARCHAR, "
    "option_order INTEGER, is_exclusive BOOLEAN, is_derived BOOLEAN, all_of VARCHAR[], min_selected INTEGER, "
    "declares_min INTEGER, declares_max INTEGER",
    "column_map": "survey_year INTEGER, column_name VARCHAR, item_id VARCHAR, block_no INTEGER, role VARCHAR, "
    "unit VARCHAR, option_id VARCHAR, label_norm VARCHAR",
    "item_routing": "survey_year INTEGER, item_id VARCHAR, block_no INTEGER, cond_question_id VARCHAR, cond_option_id VARCHAR",
}


def load_questionnaire_tables(con: duckdb.DuckDBPyConnection, qn: Questionnaire, year: int) -> dict[str, int]:
    """Write the year's questionnaire into `config.*`, so static SQL can join to it."""
    rows: dict[str, list[tuple]] = {name: [] for name in CONFIG_TABLES}
    for q in qn.questions:
        rows["question"].append((year, qn.version, q.id, q.type, q.unit, q.text, q.base, q.order))
        for o in q.options:
            lo, hi = o.declares_arrangements or (None, None)
            rows["option"].append(
                (year, q.id, o.id, o.label, normalise_label(o.label), o.order, o.exclusive, False, None, None, lo, hi)
            )
        for d in q.derived_options:
            rows["option"].append(
                (year, q.id, d.id, d.label, None, d.order, False, True, list(d.all_of) or None, d.min_selected, None, None)
            )
    items = set()
    for c in qn.columns():
        rows["column_map"].append(
            (year, c.name, c.item_id, c.block_no, c.role, c.unit, c.option_id, normalise_label(c.label) if c.label else None)
        )
        items.add((c.item_id, c.block_no))
    for item_id, block_no in sorted(items):
        for cond_q, cond_o in qn.routing_conditions(item_id, block_no):
            rows["item_routing"].append((year, item_id, block_no, cond_q, cond_o))
    counts = {}
    with transaction(con):
        for name, ddl in CONFIG_TABLES.items():
            con.execute(f"create table if not exists config.{name} ({ddl})")
            con.execute(f"delete from config.{name} where survey_year = ?", [year])
            if rows[name]:
                # One columnar insert: a row-by-row executemany cost a tenth of a second.
                import pyarrow as pa

                columns = [column.split()[0] for column in ddl.split(", ")]
                table = pa.table({col: [row[i] for row in rows[name]] for i, col in enumerate(columns)})
                with registered(con, "_config_rows", table):
                    con.execute(f"insert into config.{name} select * from _config_rows")
            counts[name] = len(rows[name])
    return counts


__all__ = [
    "CSP_LEVEL",
    "build_model",
    "column_types",
    "current_setting",
    "ensure_schemas",
    "load_questionnaire_tables",
    "registered",
    "replace_year_rows",
    "setting",
    "table_exists",
    "table_kind",
    "transaction",
]
