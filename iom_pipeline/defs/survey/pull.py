"""The pull step: a year's returns brought from where the survey tool leaves them into
`landing/<year>/`, with their provenance (asset metadata, and `audit.source_file`).

The source is the `survey_source` resource: an fsspec URL with `{year}` in its path, from its
configuration or IOM_SOURCE_URL / IOM_SOURCE_OPTIONS. By default it is the landing folder itself,
so the step copies nothing and only records what the run is about to read.
"""

from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from iom_pipeline.defs.shared import survey_years, warehouse, year_of
from iom_pipeline.paths import landing_dir
from iom_pipeline.source import ENV_OPTIONS, ENV_URL, FsspecSource, PullResult, open_source, pull_year

PULLED = dg.AssetKey(["landing", "pulled"])
PROVENANCE_TABLE = "audit.source_file"


class SurveySource(dg.ConfigurableResource):
    """Where the survey tool's export is: an fsspec URL with `{year}` in its path
    (`file://`, `sftp://`, `s3://` with the `s3` extra). Put no password in this configuration:
    the run's configuration is stored; take it from the environment (`{env: IOM_SOURCE_URL}`)."""

    url: str = Field(default="", description=f"the source URL; empty: ${ENV_URL}, else the landing folder itself")
    options: dict[str, Any] = Field(
        default={}, description=f"storage options (key_file, known_hosts, endpoint_url, ...); empty: ${ENV_OPTIONS} (JSON)"
    )

    def connect(self) -> FsspecSource:
        return open_source(self.url or None, self.options or None)


def provenance_rows(result: PullResult, run_id: str) -> list[tuple]:
    return [
        (result.year, result.pulled_at, run_id, result.source, f.name, f.size, f.modified, f.sha256,
         f.source_checksum, result.action)
        for f in result.files
    ]


def record_provenance(con, result: PullResult, run_id: str) -> None:
    """One row per file per pull; earlier pulls stay (the table is the history of what was read)."""
    con.execute(
        f"""create table if not exists {PROVENANCE_TABLE} (
            survey_year integer, pulled_at timestamptz, run_id varchar, source varchar, file_name varchar,
            size_bytes bigint, modified_at timestamptz, sha256 varchar, source_checksum varchar, action varchar)"""
    )
    rows = provenance_rows(result, run_id)
    if rows:
        con.executemany(f"insert into {PROVENANCE_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def provenance_metadata(result: PullResult) -> dict:
    files = dg.MetadataValue.table(
        records=[
            dg.TableRecord({
                "file": f.name, "size_bytes": f.size, "modified": f.modified.isoformat(), "sha256": f.sha256,
                "source_checksum": f.source_checksum or "",
            })
            for f in result.files
        ],
        schema=dg.TableSchema(columns=[
            dg.TableColumn("file", "string"), dg.TableColumn("size_bytes", "int"), dg.TableColumn("modified", "string"),
            dg.TableColumn("sha256", "string"), dg.TableColumn("source_checksum", "string"),
        ]),
    )
    return {
        "source": dg.MetadataValue.text(result.source),
        "action": dg.MetadataValue.text(result.action),
        "pulled_at": dg.MetadataValue.timestamp(result.pulled_at),
        "files": files,
        "file_names": dg.MetadataValue.text(", ".join(f.name for f in result.files) or "none"),
        "total_bytes": dg.MetadataValue.int(result.total_bytes),
        "landing_folder": dg.MetadataValue.path(str(result.landing)),
        "landing_fingerprint": dg.MetadataValue.text(result.landing_fingerprint),
    }


@dg.asset(
    key=PULLED,
    partitions_def=survey_years,
    group_name="landing",
    kinds={"fsspec"},
    description="The year's returns pulled from the survey source (IOM_SOURCE_URL: file://, sftp:// or s3://) into "
    "landing/<year>/, through a staging folder renamed into place, each file's size and checksum checked; provenance "
    "(source, files, sizes, times, SHA-256) here and in audit.source_file. From the default source, the landing "
    "folder itself, nothing is copied.",
)
def pulled(context: dg.AssetExecutionContext, survey_source: SurveySource, duckdb: DuckDBResource) -> dg.MaterializeResult:
    year = year_of(context)
    with survey_source.connect() as source:
        result = pull_year(source, year, landing_dir(year))
    with warehouse(duckdb) as con:
        record_provenance(con, result, context.run.run_id)
    context.log.info(f"{year}: {result.action}: {', '.join(f.name for f in result.files) or 'no files'} from {result.source}")
    return dg.MaterializeResult(metadata=provenance_metadata(result))
