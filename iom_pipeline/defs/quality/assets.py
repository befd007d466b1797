"""Quality domain: the Great Expectations suites, run as one asset whose checks gate publication.

`audit/expectation_result` validates the year's rows of the marts with one row per question and
option (question_summary, year_comparison) with Great Expectations 1.x, and keeps every
expectation's outcome as rows of `audit.expectation_result`, so data quality can be followed
across years. One blocking asset check per suite carries the outcome, with every expectation and
its observed value, to the UI; `publication/published` depends on this asset, so a failed suite
stops the publication. The per-return marts are checked in SQL (iom_pipeline/defs/survey/checks.py).
"""

import json

import dagster as dg
import pyarrow as pa
from dagster_duckdb import DuckDBResource

from iom_pipeline.defs.shared import survey_years, table_metadata, warehouse, year_of
from iom_pipeline.paths import warehouse_path
from iom_pipeline.quality import SUITE_TABLES
from iom_pipeline.warehouse import registered, replace_year_rows

EXPECTATION_RESULT = dg.AssetKey(["audit", "expectation_result"])
DOCS_DIR_NAME = "gx_data_docs"
RESULT_SCHEMA = pa.schema([
    ("survey_year", pa.int32()), ("suite", pa.string()), ("table_name", pa.string()),
    ("expectation_no", pa.int32()), ("expectation", pa.string()), ("columns", pa.string()),
    ("row_condition", pa.string()), ("severity", pa.string()), ("success", pa.bool_()),
    ("observed_value", pa.string()), ("element_count", pa.int64()), ("unexpected_count", pa.int64()),
    ("unexpected_examples", pa.string()), ("missing", pa.string()), ("exception", pa.string()),
    ("description", pa.string()), ("run_id", pa.string()),
])


def check_key(suite: str) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(EXPECTATION_RESULT, f"expectations_{suite}")


def docs_dir():
    return warehouse_path().parent / DOCS_DIR_NAME


@dg.asset(
    key=EXPECTATION_RESULT,
    deps=[dg.AssetKey(table.split(".")) for table, _ in SUITE_TABLES.values()],
    partitions_def=survey_years,
    group_name="quality",
    kinds={"duckdb", "great_expectations"},
    check_specs=[
        dg.AssetCheckSpec(
            name=check_key(suite).name,
            asset=EXPECTATION_RESULT,
            blocking=True,
            partitions_def=survey_years,
            description=f"Great Expectations suite on the year's rows of {table} "
            f"(assets/expectations/{suite}_<questionnaire>.json): passes unless a critical expectation fails",
        )
        for suite, (table, _) in SUITE_TABLES.items()
    ],
    description="The Great Expectations suites run on the year's rows of the question-level marts: one row per "
    f"expectation with its outcome and observed value. Data Docs under warehouse/{DOCS_DIR_NAME}/.",
)
def expectation_result(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    # Importing Great Expectations takes seconds: only this step pays for it.
    from iom_pipeline.quality.expectations import describe, docs_index, run_suites

    year = year_of(context)
    run_id = context.run.run_id
    with warehouse(duckdb) as con:
        results = run_suites(con, year, run_id, docs_dir())
        store_results(con, year, run_id, results)
        metadata = table_metadata(con, "audit.expectation_result", year)
    index = docs_index(docs_dir())
    metadata["suites"] = dg.MetadataValue.md(_suite_table(results))
    metadata["data_docs"] = dg.MetadataValue.url(index)
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name=check_key(suite).name,
                passed=result.success,
                severity=dg.AssetCheckSeverity.ERROR,
                description=result.summary(),
                metadata={
                    "survey_year": dg.MetadataValue.text(str(year)),
                    "suite": dg.MetadataValue.text(result.suite),
                    "evaluated_expectations": dg.MetadataValue.int(len(result.results)),
                    "unmet_expectations": dg.MetadataValue.int(len(result.failures)),
                    "expectations": dg.MetadataValue.md(_expectation_table(result.results, describe)),
                    "data_docs": dg.MetadataValue.url(index),
                    **({"validation_page": dg.MetadataValue.url(result.docs_url)} if result.docs_url else {}),
                },
            )
            for suite, result in results.items()
            if check_key(suite) in context.selected_asset_check_keys
        ],
    )


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def store_results(con, year: int, run_id: str, results: dict) -> int:
    """Every expectation's outcome as rows of audit.expectation_result (the year's rows replaced)."""
    rows = [
        {
            **r,
            "survey_year": year,
            "suite": suite,
            "table_name": SUITE_TABLES[suite][0],
            **{k: _json(r[k]) for k in ("observed_value", "unexpected_examples", "missing")},
            "run_id": run_id,
        }
        for suite, result in results.items()
        for r in result.results
    ]
    with registered(con, "expectation_rows", pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)):
        return replace_year_rows(con, "audit.expectation_result", "select * from expectation_rows", year)


def _suite_table(results: dict) -> str:
    lines = ["| suite | table | met | critical failing |", "|---|---|---|---|"]
    for suite, r in results.items():
        critical = sum(f["severity"] == "critical" for f in r.failures)
        met = len(r.results) - len(r.failures)
        lines.append(f"| {r.suite} | {SUITE_TABLES[suite][0]} | {met}/{len(r.results)} | {critical} |")
    return "\n".join(lines)


def _expectation_table(results: list[dict], describe) -> str:
    """Every expectation with what was observed, as the UI shows check metadata."""
    lines = ["| # | success | severity | expectation and what was seen |", "|---|---|---|---|"]
    for r in results:
        text = describe(r)[:200].replace("|", "\\|")
        lines.append(f"| {r['expectation_no']} | {r['success']} | {r['severity']} | {text} |")
    return "\n".join(lines)


assets = [expectation_result]
asset_checks: list = []
