"""What every domain's definitions share: the survey-year partitions and the warehouse resource."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import duckdb

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from iom_pipeline.paths import warehouse_path
from iom_pipeline.pipeline import prepare_warehouse
from iom_pipeline.warehouse import preview_markdown

# Survey years are discovered from `landing/` (the sensor and `iom run` add them), so a new
# year needs no code change.
survey_years = dg.DynamicPartitionsDefinition(name="survey_year")

# Who answers for every asset and check, as the UI shows it.
OWNERS = ["team:iom-survey-analysis"]

# Every run that writes the warehouse carries this tag; the instance allows one at a time.
WAREHOUSE_WRITER_TAG = {"iom/warehouse": "writer"}


class WarehouseResource(DuckDBResource):
    """Dagster's DuckDB resource, pointed at `$IOM_DATA_DIR/warehouse/iom.duckdb` when a run starts.

    Reading the location at run time (not import time) lets one process serve several data
    directories. The database is opened once per run (per process) and every step uses that one
    connection, as one long session: opening and closing the file for each step cost a
    checkpoint each time. Dagster closes it when the run ends, failed or not.
    """

    database: str = ""
    _connection: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)

    @contextmanager
    def get_connection(self):
        if self._connection is None:
            path = self.database or str(warehouse_path())
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._connection = duckdb.connect(path, config={"custom_user_agent": "iom-pipeline", **self.connection_config})
        con = self._connection
        try:
            yield con
        except BaseException:
            # A step that failed inside a transaction must not leave it open for the next step.
            # `con`, not the attribute: an interrupted step's generator may be closed only after
            # the run's teardown has closed the connection and cleared the attribute.
            try:
                con.execute("rollback")
            except duckdb.Error:
                pass  # no transaction was open, or the connection is already closed
            raise

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def warehouse_resource() -> DuckDBResource:
    return WarehouseResource()


@contextmanager
def warehouse(duckdb: DuckDBResource):
    with duckdb.get_connection() as con:
        prepare_warehouse(con)
        yield con


def year_of(context) -> int:
    return int(context.partition_key)


def column_schema(con, table: str, year: int) -> dg.TableSchema:
    """The table's columns with their types and, from the data dictionary, their descriptions."""
    from iom_pipeline.dictionary import column_descriptions

    try:
        descriptions = column_descriptions(con, table, year)
    except KeyError:  # a table the data dictionary does not describe yet: types only
        descriptions = {}
    return dg.TableSchema(
        columns=[dg.TableColumn(name=c[0], type=c[1], description=descriptions.get(c[0]) or None)
                 for c in con.execute(f"describe {table}").fetchall()]
    )


def table_metadata(con, table: str, year: int, year_column: str = "survey_year") -> dict:
    """Row count, described column schema and a preview, as the UI shows them."""
    rows = con.execute(f"select count(*) from {table} where {year_column} = ?", [year]).fetchall()[0][0]
    return {
        "dagster/row_count": dg.MetadataValue.int(int(rows)),
        "dagster/column_schema": column_schema(con, table, year),
        "table": dg.MetadataValue.text(table),
        "preview": dg.MetadataValue.md(preview_markdown(con, table, year, year_column)),
    }


def domain_assets(*modules) -> list:
    """A domain's assets as the UI shows them: each owned by the team and linked to the Python
    that builds it (beside any link to its SQL)."""
    assets = dg.load_assets_from_modules(list(modules))
    owned = dg.map_asset_specs(lambda spec: spec if spec.owners else spec.replace_attributes(owners=OWNERS), assets)
    return list(dg.with_source_code_references(owned))
