"""Quality domain: every Great Expectations suite (assets/expectations/*.yaml) as one asset.

`audit/expectation_result` validates the year's staged submissions and marts with Great
Expectations 1.x and keeps every expectation's outcome as rows of `audit.expectation_result`, so
data quality can be followed across years. One asset check per suite carries the outcome, with
every expectation and its observed value, to the UI; the marts' suites are blocking, and
`publication/published` depends on this asset, so a failed suite stops the publication.

The figures, report and spreadsheets do not wait for the suites: they are only staged until
`published` runs. With `iom run`, the suites start in the warm helper process as soon as their
tables are final (`prefetch_staging_expectations` from the validation step for a small staging
table, `prefetch_expectations` from the marts step for the rest) and run on the other core while
this process draws the figures; the step itself is ordered last (lower priority) and collects
their results. The Data Docs are then written by the helper while the run finishes.
"""

import json

import dagster as dg
from dagster_duckdb import DuckDBResource

from iom_pipeline.defs.shared import survey_years, table_metadata, warehouse, year_of
# run_suite imports Great Expectations only when called; the helper process runs it, importing this
# light module rather than the Dagster definitions.
from iom_pipeline.quality import run_suite, suite_names, suite_table
from iom_pipeline.quality.expectations import attach_docs, build_docs, gx_suite_name
from iom_pipeline.warehouse import registered, replace_year_rows

EXPECTATION_RESULT = dg.AssetKey(["audit", "expectation_result"])
# The publication reads the marts: their suites block it. Staging rows that fail are already
# quarantined by pandera, so the staging suite reports without blocking.
BLOCKING_LAYERS = ("marts",)
DOCS_DIR_NAME = "gx_data_docs"
# Staging suites on tables up to this size start as soon as staging is validated.
EARLY_SUITE_MAX_ROWS = 50_000


def suite_tables() -> dict[str, dg.AssetKey]:
    return {name: dg.AssetKey(suite_table(name).split(".")) for name in suite_names()}


def check_key(suite: str) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(EXPECTATION_RESULT, f"expectations_{suite}")


@dg.asset(
    key=EXPECTATION_RESULT,
    deps=sorted(set(suite_tables().values()), key=lambda k: k.to_user_string()),
    partitions_def=survey_years,
    group_name="quality",
    kinds={"duckdb", "great_expectations"},
    # Ready as soon as the marts are; run after the (staged) publication steps, by which time
    # the prefetched suites have finished on the worker.
    op_tags={"dagster/priority": "-1"},
    check_specs=[
        dg.AssetCheckSpec(
            name=check_key(name).name,
            asset=EXPECTATION_RESULT,
            blocking=table.path[0] in BLOCKING_LAYERS,
            partitions_def=survey_years,
            description=f"Great Expectations suite assets/expectations/{name}.yaml on the year's rows of "
            f"{table.to_user_string()}: passes unless a critical expectation fails"
            + ("" if table.path[0] in BLOCKING_LAYERS else " (reported, never blocking)"),
        )
        for name, table in suite_tables().items()
    ],
    description="Every Great Expectations suite run on the year's staged submissions and marts (read from DuckDB "
    "into DataFrames): one row per expectation with its outcome and observed value. Data Docs under "
    f"warehouse/{DOCS_DIR_NAME}/.",
)
def expectation_result(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    year = year_of(context)
    run_id = context.run.run_id
    names = list(suite_tables())
    with warehouse(duckdb) as con:
        results = {job[0]: run_suite(*job) for job in expectation_jobs(con, year, names, run_id)}
    site = build_docs(docs_dir(), run_id, [gx_suite_name(n, year) for n in names])
    for result in results.values():
        attach_docs(result, site)
    with warehouse(duckdb) as con:
        _store_results(con, year, run_id, results)
        metadata = table_metadata(con, "audit.expectation_result", year)
    docs = next((r.docs_index for r in results.values() if r.docs_index), None)
    metadata["suites"] = dg.MetadataValue.md(_suite_table(results))
    if docs:
        metadata["data_docs"] = dg.MetadataValue.path(str(docs))
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name=check_key(name).name,
                passed=result.success,
                severity=dg.AssetCheckSeverity.ERROR,
                description=result.summary(),
                metadata={
                    "survey_year": year,
                    **{k: v for k, v in result.statistics.items() if isinstance(v, (int, float))},
                    "expectations": dg.MetadataValue.md(_expectation_table(result.results)),
                    **({"data_docs": dg.MetadataValue.path(str(result.docs_index))} if result.docs_index else {}),
                },
            )
            for name, result in results.items()
            if check_key(name) in context.selected_asset_check_keys
        ],
    )


def expectation_jobs(con, year: int, names: list[str], run_id: str) -> list[tuple]:
    """run_suite's arguments for each suite: its table's rows for the year, the facts, the docs."""
    from iom_pipeline.quality import read_table, required_facts, warehouse_facts

    if not names:
        return []
    facts = warehouse_facts(con, year)
    # Each suite gets only the facts it needs (a suite may run before later layers exist), and
    # build_site=False: the site is built once for all the suites (build_docs).
    return [
        (name, read_table(con, name, year), year, {f: facts[f] for f in required_facts(name) if f in facts},
         docs_dir(), run_id, False)
        for name in names
    ]


def docs_dir():
    from iom_pipeline.paths import warehouse_path

    return warehouse_path().parent / DOCS_DIR_NAME


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def _store_results(con, year: int, run_id: str, results: dict) -> int:
    """Every expectation's outcome as rows of audit.expectation_result (the year's rows replaced)."""
    import pyarrow as pa

    rows = [
        {
            "survey_year": year,
            "suite": name,
            "table_name": result.table,
            "expectation_no": number,
            "expectation": r["expectation"],
            "columns": ", ".join(r.get("columns") or []),
            "row_condition": r.get("where"),
            "severity": r["severity"],
            "success": bool(r["success"]),
            "observed_value": _json(r.get("observed_value")),
            "element_count": r.get("element_count"),
            "unexpected_count": r.get("unexpected_count"),
            "unexpected_examples": _json(r.get("unexpected_examples") or None),
            "missing": _json(r.get("missing")),
            "exception": r.get("exception"),
            "description": r.get("description"),
            "run_id": run_id,
        }
        for name, result in results.items()
        for number, r in enumerate(result.results, start=1)
    ]
    schema = pa.schema(
        [
            ("survey_year", pa.int32()), ("suite", pa.string()), ("table_name", pa.string()),
            ("expectation_no", pa.int32()), ("expectation", pa.string()), ("columns", pa.string()),
            ("row_condition", pa.string()), ("severity", pa.string()), ("success", pa.bool_()),
            ("observed_value", pa.string()), ("element_count", pa.int64()), ("unexpected_count", pa.int64()),
            ("unexpected_examples", pa.string()), ("missing", pa.string()), ("exception", pa.string()),
            ("description", pa.string()), ("run_id", pa.string()),
        ]
    )
    with registered(con, "expectation_rows", pa.Table.from_pylist(rows, schema=schema)):
        return replace_year_rows(con, "audit.expectation_result", "select * from expectation_rows", year)


def _suite_table(results: dict) -> str:
    lines = ["| suite | table | met | critical failing | warnings failing |", "|---|---|---|---|---|"]
    for name, r in results.items():
        s = r.statistics
        lines.append(
            f"| {name} | {r.table} | {s['successful_expectations']}/{s['evaluated_expectations']} "
            f"| {s['failed_critical']} | {s['failed_warning']} |"
        )
    return "\n".join(lines)


def _expectation_table(results: list[dict]) -> str:
    """Every expectation with its observed value, as the UI shows check metadata."""
    header = "| expectation | columns | success | observed | unexpected | examples |\n|---|---|---|---|---|---|"
    lines = [header]
    for r in results:
        cells = [
            r["expectation"],
            ", ".join(r.get("columns") or []),
            r["success"],
            str(r.get("observed_value"))[:80],
            r.get("unexpected_count"),
            str(r.get("unexpected_examples") or "")[:80],
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
