"""Publication domain: figures, report and spreadsheets staged per run, then published atomically.

Every asset here writes into the run's staging directory under `$IOM_DATA_DIR/work/`; only the
final `publication/published` asset moves the year's files into `publication/<year>/` and
refreshes the BI snapshot, and it runs only when every blocking check upstream passed.
"""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from iom_pipeline.defs.quality.assets import EXPECTATION_RESULT
from iom_pipeline.defs.shared import survey_years, warehouse, year_of
from iom_pipeline.defs.survey.assets import LANDING_FINGERPRINT, RAW_EXPORT
from iom_pipeline.paths import landing_dir
from iom_pipeline.publish import commit_bi_snapshot, publish_directory, stage_bi_snapshot, staging_dir
from iom_pipeline.stops import stop_signals_held

MARTS = dg.AssetKey(["marts", "question_summary"])
MART_DEPS = [
    dg.AssetKey(["marts", name])
    for name in ("question_summary", "submission_outcome", "quality_warning", "year_comparison", "csp_return", "arrangement")
]
SYNTHETIC_MARKER = "SYNTHETIC.txt"


def is_synthetic(year: int) -> bool:
    """The reconstructed sample says so in its landing directory; real exports never carry it."""
    return (landing_dir(year) / SYNTHETIC_MARKER).exists()


def read_marts(con, year: int) -> dict:
    """The year's marts as the publication reads them: the question-level marts whole, and the
    row-level ones (one row per export row, per warning) as counts per code, done in DuckDB."""
    from iom_pipeline.publication.data import ROW_COUNT

    def counted(table: str, columns: str) -> "object":
        return con.execute(f"select survey_year, {columns}, count(*) as {ROW_COUNT} from marts.{table} "
                           "where survey_year = ? group by all order by all", [year]).df()

    return {
        "question_summary": con.execute("select * from marts.question_summary where survey_year = ?", [year]).df(),
        "submission_outcome": counted("submission_outcome", "outcome, reason"),
        "quality_warning": counted("quality_warning", "warning"),
        "year_comparison": con.execute("select * from marts.year_comparison where year_to = ?", [year]).df(),
    }


def staged_inputs(context, duckdb: DuckDBResource) -> tuple[int, Path, dict]:
    """The year, this run's staging directory, and the year's marts: what every publication asset reads."""
    year = year_of(context)
    with warehouse(duckdb) as con:
        marts = read_marts(con, year)
    return year, staging_dir(year, context.run.run_id), marts


def _figure_specs():
    from iom_pipeline.publication.config import figure_specs

    return [s for s in figure_specs() if s.is_figure]


def figure_key(spec) -> dg.AssetKey:
    return dg.AssetKey(["publication", spec.id])


@dg.multi_asset(
    name="figures",
    specs=[
        dg.AssetSpec(
            figure_key(spec),
            deps=[MARTS, dg.AssetKey(["marts", "year_comparison"])],
            group_name="publication",
            kinds={"matplotlib", "svg", "png", "csv"},
            description=f"{spec.id}: drawn from the marts as SVG and PNG with alt text, and its data as CSV "
            "(configured in assets/publication/figures.yaml).",
            skippable=True,
        )
        for spec in _figure_specs()
    ],
    partitions_def=survey_years,
    can_subset=True,
)
def figures(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Every configured figure, one asset each, drawn in one step (matplotlib is loaded once)."""
    from iom_pipeline.publication.figures import draw_figures

    year = year_of(context)
    out = staging_dir(year, context.run.run_id)
    with warehouse(duckdb) as con:
        inputs = figure_inputs(con, year)
    figures = draw_figures(year, *inputs, out, is_synthetic(year))
    for spec in _figure_specs():
        if figure_key(spec) not in context.selected_asset_keys:
            continue
        figure = figures.get(spec.id)
        (out / f"{spec.id}.json").write_text(json.dumps(figure, default=str) if figure else "null")
        if figure is None:
            yield dg.MaterializeResult(
                asset_key=figure_key(spec),
                metadata={"drawn": False, "reason": "not asked this year, or no earlier year to compare with"},
            )
            continue
        yield dg.MaterializeResult(
            asset_key=figure_key(spec),
            metadata={
                "drawn": True,
                "title": str(figure.get("title", "")),
                "alt_text": str(figure.get("alt_text", "")),
                "svg": dg.MetadataValue.path(str(figure["svg"])),
                "png": dg.MetadataValue.path(str(figure["png"])),
                "csv": dg.MetadataValue.path(str(figure["csv"])),
            },
        )


def figure_inputs(con, year: int) -> tuple:
    """What the figures are drawn from: the year's question_summary and year_comparison rows (Arrow)."""
    return (
        con.sql("select * from marts.question_summary where survey_year = ?", params=[year]).to_arrow_table(),
        con.sql("select * from marts.year_comparison where year_to = ?", params=[year]).to_arrow_table(),
    )


FIGURE_KEYS = [figure_key(spec) for spec in _figure_specs()]


def _staged_figures(out: Path) -> list[dict]:
    figures = []
    for spec in _figure_specs():
        manifest = out / f"{spec.id}.json"
        figure = json.loads(manifest.read_text()) if manifest.exists() else None
        if figure:
            figures.append({k: (Path(v) if k in ("svg", "png", "csv") else v) for k, v in figure.items()})
    return figures


@dg.asset(
    key=dg.AssetKey(["publication", "report"]),
    deps=[*MART_DEPS, *FIGURE_KEYS],
    partitions_def=survey_years,
    group_name="publication",
    kinds={"html"},
    description="report.html: one self-contained file, every number generated from the marts.",
)
def report(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    from iom_pipeline.publication.report import render_report

    year, out, marts = staged_inputs(context, duckdb)
    path = render_report(year, marts, _staged_figures(out), out / "report.html", synthetic=is_synthetic(year))
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(path)), "bytes": path.stat().st_size, "synthetic": is_synthetic(year)}
    )


@dg.asset(
    key=dg.AssetKey(["publication", "spreadsheets"]),
    deps=MART_DEPS,
    partitions_def=survey_years,
    group_name="publication",
    kinds={"xlsx", "ods"},
    description="Every published table in one accessible spreadsheet (GSS guidance), as XLSX and ODS.",
)
def spreadsheets(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    from iom_pipeline.publication.spreadsheets import write_spreadsheets

    year, out, marts = staged_inputs(context, duckdb)
    paths = write_spreadsheets(year, marts, out, synthetic=is_synthetic(year))
    return dg.MaterializeResult(metadata={p.suffix.lstrip("."): dg.MetadataValue.path(str(p)) for p in paths})


def landing_fingerprint_of_run(context: dg.AssetExecutionContext, year: int) -> str:
    """The fingerprint the landing step recorded for the files it read, earlier in this run."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RAW_EXPORT, asset_partitions=[str(year)]), limit=1
    ).records
    if not records or records[0].run_id != context.run.run_id:
        return ""
    value = records[0].asset_materialization.metadata.get(LANDING_FINGERPRINT)
    return str(value.value) if value is not None else ""


STOPPING = (dg.DagsterRunStatus.CANCELING, dg.DagsterRunStatus.CANCELED)


def refuse_if_run_is_stopping(context: dg.AssetExecutionContext) -> None:
    """A run asked to stop (Terminate in the UI, Ctrl-C or SIGTERM to `iom run`, which mark it
    canceling) never publishes, even when the interrupt meant to end it was lost on the way:
    Python drops an exception raised by a signal handler that happens to run inside a
    garbage-collection callback, and Dagster's interrupt is such an exception."""
    run = context.instance.get_run_by_id(context.run_id)
    if run is not None and run.status in STOPPING:
        raise dg.Failure(
            description=f"the run was asked to stop (status {run.status.value}): the previous publication is untouched",
            allow_retries=False,
        )


@dg.asset(
    key=dg.AssetKey(["publication", "published"]),
    # The expectation suites gate this step only: the staged files above need not wait for them.
    deps=[
        dg.AssetKey(["publication", "report"]),
        dg.AssetKey(["publication", "spreadsheets"]),
        *FIGURE_KEYS,
        *MART_DEPS,
        EXPECTATION_RESULT,
    ],
    partitions_def=survey_years,
    group_name="publication",
    kinds={"duckdb", "html"},
    description="The gate's far side: the staged files become publication/<year>/ in one atomic step, and the "
    "BI snapshot publication/iom_marts.duckdb is rebuilt and renamed into place.",
)
def published(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> Iterator[dg.MaterializeResult]:
    year = year_of(context)
    out = staging_dir(year, context.run.run_id)
    for manifest in out.glob("*.json"):
        manifest.unlink()  # run bookkeeping, not part of the publication
    # The BI snapshot is built first, then the year's files are swapped in, and the snapshot's
    # rename comes last: a crash between them leaves this one's files beside the previous
    # snapshot, never a snapshot ahead of the files.
    with warehouse(duckdb) as con:
        staged_snapshot = stage_bi_snapshot(con, year, context.run.run_id)
    refuse_if_run_is_stopping(context)
    # From the swaps to Dagster's record of them, a stop is held: the publication is then this
    # run's, whole, and recorded as such (the landing sensor reads the record). Yielded, not
    # returned, so that Dagster stores the record while the hold is still on.
    with stop_signals_held():
        target = publish_directory(out, year)
        snapshot = commit_bi_snapshot(staged_snapshot)
        for leftover in out.parent.glob(f"{year}-*"):
            shutil.rmtree(leftover, ignore_errors=True)  # staging left by runs that failed their checks
        files = sorted(p.name for p in target.iterdir())
        yield dg.MaterializeResult(
            metadata={
                # the landing files this publication was made from: the landing sensor launches
                # nothing for a year whose files still have this fingerprint
                LANDING_FINGERPRINT: landing_fingerprint_of_run(context, year),
                "directory": dg.MetadataValue.path(str(target)),
                "files": dg.MetadataValue.json(files),
                "bi_snapshot": dg.MetadataValue.path(str(snapshot)),
            }
        )
