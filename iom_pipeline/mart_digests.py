"""Digests of the marts' rows of a year: what the BI snapshot and its Parquet files must equal.

The blocking check `no_personal_values_outside_raw` searches the year's rows of every mart for
personal data. When it passes, the marts it searched are summarised here, per column, by the
sum of their values' hashes (order-free; any changed, added or lost value changes it) and the
row count, and kept in `audit.checked_mart_digest` for the run. The publication then shows that
its copies hold exactly those rows (publish.stage_bi_snapshot), which costs a fraction of
searching the copies again, and catches any change, not only a personal value.
"""

from __future__ import annotations

import duckdb

from iom_pipeline.sql_models import discover_models, ident
from iom_pipeline.warehouse import column_types, table_exists, transaction

PERSONAL_VALUES_CHECK = "no_personal_values_outside_raw"
ROWS = "(rows)"  # the row count's entry among the columns
TABLE = "audit.checked_mart_digest"
DDL = "survey_year INTEGER, run_id VARCHAR, table_name VARCHAR, column_name VARCHAR, digest HUGEINT"


def mart_tables() -> list[tuple[str, str]]:
    """(table, partition column) of every mart model."""
    return [(m.table, m.year_column) for m in discover_models().values() if m.layer == "marts"]


def digests(con: duckdb.DuckDBPyConnection, relation: str, columns: dict[str, str], year_column: str, year: int) -> dict:
    """The year's rows of `relation`, per column (cast to the given type, so a copy whose column
    was stored with a wider type compares equal), and their count."""
    sums = ", ".join(f"sum(hash(cast({ident(c)} as {t})))::hugeint" for c, t in columns.items())
    row = con.execute(f"select count(*){', ' + sums if sums else ''} from {relation} where {ident(year_column)} = ?",
                      [int(year)]).fetchall()[0]
    return {ROWS: int(row[0]), **{c: int(v or 0) for c, v in zip(columns, row[1:])}}


def mart_digests(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, dict]:
    """{mart: {column: digest}} of the warehouse's marts, the year's rows."""
    return {table: digests(con, table, column_types(con, table), year_column, year) for table, year_column in mart_tables()}


def record_checked(con: duckdb.DuckDBPyConnection, year: int, run_id: str) -> None:
    """Keep the digests of the marts the personal-data check just passed, for this run."""
    rows = [(int(year), run_id, table, column, value)
            for table, columns in mart_digests(con, year).items() for column, value in columns.items()]
    con.execute(f"create table if not exists {TABLE} ({DDL})")
    with transaction(con):
        con.execute(f"delete from {TABLE} where survey_year = ?", [int(year)])
        con.executemany(f"insert into {TABLE} values (?, ?, ?, ?, ?)", rows)


def checked(con: duckdb.DuckDBPyConnection, year: int, run_id: str) -> dict[str, dict] | None:
    """The digests recorded by this run's personal-data check, or None when it recorded none."""
    if not table_exists(con, TABLE):
        return None
    recorded: dict[str, dict] = {}
    for table, column, value in con.execute(
            f"select table_name, column_name, digest from {TABLE} where survey_year = ? and run_id = ?",
            [int(year), run_id]).fetchall():
        recorded.setdefault(table, {})[column] = int(value)
    return recorded or None
