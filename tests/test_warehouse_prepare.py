"""Preparing the warehouse (schemas, settings, macros, retired models dropped): once per
connection, since a run's steps share one connection, and again on a new connection."""

from __future__ import annotations

import duckdb

from iom_pipeline.pipeline import RETIRED, prepare_warehouse
from iom_pipeline.warehouse import SCHEMAS, table_kind


def macro_names(con) -> set[str]:
    return {r[0] for r in con.execute("select function_name from duckdb_functions() where function_type like '%macro%' "
                                      "and not internal").fetchall()}


def test_a_new_connection_prepares_and_a_prepared_one_keeps_its_macros(tmp_path):
    path = str(tmp_path / "w.duckdb")
    with duckdb.connect(path) as con:
        prepare_warehouse(con)
        assert "redact_personal" in macro_names(con)
        assert {s for (s,) in con.execute("select schema_name from duckdb_schemas() where not internal").fetchall()} >= set(SCHEMAS)
        # a model an earlier version built, found after this connection was prepared
        con.execute(f"create table {RETIRED[0]} as select 1 as x")
        con.execute("drop schema audit cascade")
        prepare_warehouse(con)
        assert table_kind(con, RETIRED[0]) == "BASE TABLE"  # not looked for again on this connection
        assert "audit" in {s for (s,) in con.execute("select schema_name from duckdb_schemas()").fetchall()}
    with duckdb.connect(path) as con:  # the next run's connection
        prepare_warehouse(con)
        assert table_kind(con, RETIRED[0]) is None
        assert "redact_personal" in macro_names(con)


def test_preparing_inside_a_transaction_that_is_rolled_back_prepares_again(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("begin transaction")
        prepare_warehouse(con)
        con.execute("rollback")  # the macros created in it are gone, and so is the mark
        assert "redact_personal" not in macro_names(con)
        prepare_warehouse(con)
        assert "redact_personal" in macro_names(con)
