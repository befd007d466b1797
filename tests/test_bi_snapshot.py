"""The BI snapshot every client opens: DuckDB 1.x reads it, each mart is also Parquet, and every
table and column carries its description from the data dictionary (assets/data_dictionary.yaml)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from iom_pipeline import dictionary
from iom_pipeline.paths import PROJECT_ROOT
from iom_pipeline.publish import mart_tables, write_bi_snapshot

# The oldest DuckDB 1.x: a snapshot it opens opens in every later client.
OLD_CLIENT_VERSION = "1.0.0"
OLD_CLIENT_DIR = PROJECT_ROOT / ".tools" / f"duckdb-{OLD_CLIENT_VERSION}"
UV = PROJECT_ROOT / ".tools" / "bin" / "uv"

# Run inside the 1.x environment: every table of the snapshot, its comment, its columns' comments
# and its rows per year, as JSON.
OLD_CLIENT_SCRIPT = """
import json, sys
import duckdb
path, year_columns = sys.argv[1], json.loads(sys.argv[2])
con = duckdb.connect(path, read_only=True)
tables = {}
for schema, name, comment in con.execute(
        "select schema_name, table_name, comment from duckdb_tables() order by all").fetchall():
    column = year_columns[f"{schema}.{name}"]
    rows = con.execute(f'select "{column}", count(*) from "{schema}"."{name}" group by 1 order by 1').fetchall()
    columns = con.execute(
        "select column_name, comment from duckdb_columns() where schema_name = ? and table_name = ? "
        "order by column_index", [schema, name]).fetchall()
    tables[f"{schema}.{name}"] = {"comment": comment, "rows": {str(y): n for y, n in rows},
                                  "columns": {c: text for c, text in columns}}
print(json.dumps({"version": duckdb.__version__, "tables": tables}))
"""


def old_client_python() -> Path:
    """A Python with DuckDB 1.0 only, made once with the project's uv and kept under .tools/."""
    python = OLD_CLIENT_DIR / "bin" / "python"
    ready = OLD_CLIENT_DIR / ".ready"
    OLD_CLIENT_DIR.parent.mkdir(parents=True, exist_ok=True)
    with open(OLD_CLIENT_DIR.parent / f"duckdb-{OLD_CLIENT_VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test processes never build it at once
        if not ready.exists():
            assert UV.exists(), f"{UV} is missing: `make .tools/bin/uv` (any make target) installs it"
            shutil.rmtree(OLD_CLIENT_DIR, ignore_errors=True)
            env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
            for command in (
                [str(UV), "venv", "--quiet", str(OLD_CLIENT_DIR), "--python", sys.executable],
                [str(UV), "pip", "install", "--quiet", "--python", str(python), f"duckdb=={OLD_CLIENT_VERSION}"],
            ):
                made = subprocess.run(command, env=env, capture_output=True, text=True)
                assert made.returncode == 0, f"could not make the DuckDB {OLD_CLIENT_VERSION} environment: {made.stderr}"
            ready.touch()
    return python


def read_with_old_client(snapshot: Path) -> dict:
    year_columns = json.dumps(dict(mart_tables()))
    done = subprocess.run(
        [str(old_client_python()), "-c", OLD_CLIENT_SCRIPT, str(snapshot), year_columns],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout)
    assert result["version"] == OLD_CLIENT_VERSION
    return result


def storage_version(path: Path) -> int:
    with path.open("rb") as fh:
        return struct.Struct("<8x4sQ").unpack(fh.read(20))[1]


def rows(con, sql: str, params=()) -> list[tuple]:
    return sorted(con.execute(sql, list(params)).fetchall(), key=repr)


def year_rows(con, table: str, year_column: str, year: int) -> list[tuple]:
    return rows(con, f'select * from {table} where "{year_column}" = ?', [year])


def snapshot_state(path: Path, year: int) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {table: year_rows(con, table, column, year) for table, column in mart_tables()}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The 2013 sample published, then 2011 published after it (a rerun of another year); yields
    the data directory and the snapshot's 2013 rows as the first publication left them."""
    data = tmp_path_factory.mktemp("bi")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IOM_DATA_DIR", str(data))
        mp.setenv("DAGSTER_HOME", str(data / "dagster_home"))
        from iom_pipeline.cli import main

        assert main(["sample", "--year", "2011", "--year", "2013"]) == 0
        assert main(["run", "--year", "2013"]) == 0
        first = snapshot_state(data / "publication" / "iom_marts.duckdb", 2013)
        assert main(["run", "--year", "2011"]) == 0
    yield data, first


@pytest.mark.slow
def test_a_duckdb_1x_client_reads_the_snapshot_with_its_descriptions(published):
    data, _first = published
    snapshot = data / "publication" / "iom_marts.duckdb"
    assert storage_version(snapshot) == 64
    seen = read_with_old_client(snapshot)["tables"]
    assert sorted(seen) == sorted(table for table, _ in mart_tables())
    with duckdb.connect(str(data / "warehouse" / "iom.duckdb"), read_only=True) as warehouse:
        for table, year_column in mart_tables():
            got = seen[table]
            assert got["comment"] == dictionary.table_description(table)
            expected_rows = dict(
                warehouse.execute(f'select "{year_column}", count(*) from {table} group by 1 order by 1').fetchall()
            )
            assert got["rows"] == {str(y): n for y, n in expected_rows.items()}, table
            assert set(got["columns"]) == {r[0] for r in warehouse.execute(f"describe {table}").fetchall()}, table
            expected = dictionary.column_descriptions(warehouse, table, 2013)
            assert got["columns"] == expected, table
            assert all(got["columns"].values()), f"{table}: a column without a description"


@pytest.mark.slow
def test_every_mart_is_also_parquet_with_the_snapshots_rows(published):
    data, _first = published
    directory = data / "publication" / "marts"
    assert sorted(p.name for p in directory.iterdir()) == sorted(f"{t.split('.')[1]}.parquet" for t, _ in mart_tables())
    with duckdb.connect(str(data / "publication" / "iom_marts.duckdb"), read_only=True) as con:
        for table, _year_column in mart_tables():
            parquet = pq.read_table(directory / f"{table.split('.')[1]}.parquet")
            expected = con.sql(f"select * from {table}").to_arrow_table()
            assert parquet.column_names == expected.column_names, table
            assert sorted(parquet.to_pylist(), key=repr) == sorted(expected.to_pylist(), key=repr), table
            metadata = {k.decode(): v.decode() for k, v in parquet.schema.metadata.items()}
            assert metadata["description"] == dictionary.table_description(table)
            comments = dict(
                con.execute(
                    "select column_name, comment from duckdb_columns() where schema_name = ? and table_name = ?",
                    table.split("."),
                ).fetchall()
            )
            assert json.loads(metadata["column_descriptions"]) == comments, table


@pytest.mark.slow
def test_a_rerun_of_another_year_keeps_the_first_years_rows(published):
    data, first = published
    snapshot = data / "publication" / "iom_marts.duckdb"
    assert snapshot_state(snapshot, 2013) == first
    assert any(first.values()), "the first publication wrote no 2013 rows"
    with duckdb.connect(str(data / "warehouse" / "iom.duckdb"), read_only=True) as warehouse:
        assert snapshot_state(snapshot, 2011) == {t: year_rows(warehouse, t, c, 2011) for t, c in mart_tables()}
    years = pq.read_table(data / "publication" / "marts" / "csp_return.parquet", columns=["survey_year"])
    assert set(years.column("survey_year").to_pylist()) == {2011, 2013}
    assert not list((data / "work" / "snapshot").iterdir()), "scratch files left behind"


@pytest.mark.slow
def test_an_old_format_snapshot_is_upgraded(published, tmp_path, monkeypatch):
    """A snapshot in the 2.0 format (as written before) is read, its other years carried over, and
    the file replaced by one in the 1.x storage version."""
    data, _first = published
    monkeypatch.setenv("IOM_DATA_DIR", str(tmp_path))
    (tmp_path / "warehouse").mkdir()
    shutil.copyfile(data / "warehouse" / "iom.duckdb", tmp_path / "warehouse" / "iom.duckdb")
    snapshot = tmp_path / "publication" / "iom_marts.duckdb"
    snapshot.parent.mkdir()
    con = duckdb.connect(str(tmp_path / "warehouse" / "iom.duckdb"))
    # the old snapshot: 2013 twice over (to be replaced), and a year the warehouse does not have
    con.execute("attach ? as old (storage_version 'v2.0.0')", [str(snapshot)])
    con.execute("create schema old.marts")
    for table, column in mart_tables():
        con.execute(f'create table old.{table} as select * from {table} where "{column}" = 2013')
        con.execute(f'insert into old.{table} select * from {table} where "{column}" = 2013')
        con.execute(f'insert into old.{table} select * replace (2012 as "{column}") from {table} where "{column}" = 2013')
    con.execute("detach old")
    old_client = subprocess.run(
        [str(old_client_python()), "-c", "import duckdb, sys; duckdb.connect(sys.argv[1], read_only=True)", str(snapshot)],
        capture_output=True, text=True,
    )
    assert old_client.returncode != 0 and "version number" in old_client.stderr  # really the new format

    write_bi_snapshot(con, 2013, "upgrade-test")

    assert storage_version(snapshot) == 64
    seen = read_with_old_client(snapshot)["tables"]
    for table, column in mart_tables():
        in_2013 = con.execute(f'select count(*) from {table} where "{column}" = 2013').fetchall()[0][0]
        assert seen[table]["rows"] == ({"2012": in_2013, "2013": in_2013} if in_2013 else {}), table
        assert seen[table]["comment"] == dictionary.table_description(table)
        assert all(seen[table]["columns"].values()), table
    years = pq.read_table(tmp_path / "publication" / "marts" / "question_summary.parquet", columns=["survey_year"])
    assert set(years.column("survey_year").to_pylist()) == {2012, 2013}
    con.close()


# The markdown generated from the data dictionary, and every other table's descriptions: test_data_dictionary.py.


@pytest.mark.slow
def test_every_column_of_every_mart_is_described_with_its_type(published):
    data, _first = published
    assert sorted(dictionary.described_tables(snapshot_only=True)) == sorted(t for t, _ in mart_tables())
    with duckdb.connect(str(data / "warehouse" / "iom.duckdb"), read_only=True) as con:
        for table, _year_column in mart_tables():
            actual = dict((c, t) for c, t, *_ in con.execute(f"describe {table}").fetchall())
            for year in (2011, 2013):
                documented = dictionary.documented_columns(con, table, year)
                missing = sorted(c for c, doc in documented.items() if doc is None)
                assert not missing, f"{table}: no description in assets/data_dictionary.yaml for {missing}"
                wrong = {c: (doc.type, actual[c]) for c, doc in documented.items() if doc.type != actual[c]}
                assert not wrong, f"{table}: documented type differs from the mart's (documented, actual): {wrong}"
            assert dictionary.table_description(table)
