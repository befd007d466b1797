"""Survey domain: landing files -> raw -> staging -> validation -> intermediate -> marts.

One asset per warehouse table. The SQL models are discovered from `sql/` and run as one step
per layer (in dependency order), so the UI shows every table while a run stays quick.
"""


import hashlib
import time

import dagster as dg
from dagster_duckdb import DuckDBResource

from iom_pipeline import pipeline
from iom_pipeline.defs.shared import OWNERS, column_schema, survey_years, table_metadata, warehouse, year_of
from iom_pipeline.defs.survey.pull import PULLED
from iom_pipeline.sql_models import LAYERS, SqlModel, discover_models, models_in_order
from iom_pipeline.landing import landed_year
from iom_pipeline.paths import SQL_DIR, landing_dir
from iom_pipeline.questionnaire import questionnaire_for_year

RAW_EXPORT = dg.AssetKey(["raw", "survey_export"])
RAW_FRAME = dg.AssetKey(["raw", "frame"])
RAW_PUBLISHED = dg.AssetKey(["raw", "published"])
QUESTIONNAIRE = dg.AssetKey(["config", "questionnaire"])
VALIDATION = dg.AssetKey(["audit", "validation_failure"])
# Metadata of the raw export's materialisation, carried on by the published asset.
LANDING_FINGERPRINT = "landing_fingerprint"

SOURCE_KEYS = {
    ("raw", "survey_export"): RAW_EXPORT,
    ("raw", "frame"): RAW_FRAME,
    ("raw", "published"): RAW_PUBLISHED,
    ("audit", "validation_failure"): VALIDATION,
}


def sql_code_reference(model: SqlModel) -> dg.CodeReferencesMetadataValue:
    """The model's .sql file, which the UI links to (its Python is the same for every model)."""
    path = SQL_DIR / model.layer / f"{model.name}.sql"
    return dg.CodeReferencesMetadataValue(
        code_references=[dg.LocalFileCodeReference(file_path=str(path), line_number=1, label=f"sql/{model.layer}/{model.name}.sql")]
    )


def model_key(model: SqlModel) -> dg.AssetKey:
    return dg.AssetKey([model.layer, model.name])


def _model_deps(model: SqlModel) -> list[dg.AssetKey]:
    models = discover_models()
    deps = [model_key(models[name]) for name in model.refs]
    for schema, table in model.sources:
        deps.append(QUESTIONNAIRE if schema == "config" else SOURCE_KEYS[(schema, table)])
    return deps


@dg.multi_asset(
    specs=[
        dg.AssetSpec(RAW_EXPORT, description="The year's survey export, every column as text (personal data stays here).",
                     group_name="raw", kinds={"duckdb"}, deps=[PULLED]),
        dg.AssetSpec(RAW_FRAME, description="The CSPs the survey was sent to.", group_name="raw", kinds={"duckdb"},
                     deps=[PULLED]),
        dg.AssetSpec(RAW_PUBLISHED, description="Figures already published for the year, if supplied, to reconcile against.",
                     group_name="raw", kinds={"duckdb"}, deps=[PULLED]),
        dg.AssetSpec(QUESTIONNAIRE, group_name="config", kinds={"duckdb", "yaml"},
                     description="The questionnaire in force for the year (assets/questionnaires/*.yaml) as config.* tables."),
    ],
    partitions_def=survey_years,
    can_subset=False,
)
def landing_files(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Copy `landing/<year>/` into the raw layer, refusing a bad file with a clear message;
    load the year's questionnaire as tables beside it."""
    year = year_of(context)
    with warehouse(duckdb) as con:
        # What the sensor compares with the landing folder later: these files, as they were read.
        fingerprint = landed_year(landing_dir(year))
        landed = pipeline.land(con, year)
        config_rows = pipeline.load_config(con, year)
        context.log.info(f"landed {landed.source} ({landed.encoding}): {landed.export_rows:,} rows, "
                         f"frame {landed.frame_rows:,} CSPs, published figures {landed.published_rows or 0:,}")
        yield dg.MaterializeResult(
            asset_key=RAW_EXPORT,
            metadata={
                "dagster/row_count": landed.export_rows,
                "source_file": str(landed.source),
                "encoding": landed.encoding,
                "notes": "; ".join(landed.notes) or "none",
                "questionnaire": questionnaire_for_year(year).version,
                LANDING_FINGERPRINT: fingerprint.fingerprint if fingerprint else "",
                "dagster/column_schema": column_schema(con, f"raw.survey_export_{year}", year),
            },
        )
        yield dg.MaterializeResult(
            asset_key=RAW_FRAME,
            metadata={"dagster/row_count": landed.frame_rows,
                      "dagster/column_schema": column_schema(con, f"raw.frame_{year}", year)},
        )
        yield dg.MaterializeResult(
            asset_key=RAW_PUBLISHED,
            metadata={"dagster/row_count": landed.published_rows or 0, "supplied": landed.published_rows is not None,
                      "dagster/column_schema": column_schema(con, f"raw.published_{year}", year)},
        )
        yield dg.MaterializeResult(
            asset_key=QUESTIONNAIRE,
            metadata={"version": questionnaire_for_year(year).version, **{f"{k}_rows": v for k, v in config_rows.items()}},
        )


def _layer_asset(layer: str):
    models = models_in_order(layer)

    @dg.multi_asset(
        name=f"{layer}_models",
        specs=[
            dg.AssetSpec(
                model_key(m),
                deps=_model_deps(m),
                description=m.description,
                metadata={"dagster/code_references": sql_code_reference(m)},
                code_version=hashlib.sha256(m.template.encode()).hexdigest()[:12],
                group_name=layer,
                owners=OWNERS,
                tags={"layer": layer},
                kinds={"duckdb", "sql"},
                skippable=True,
            )
            for m in models
        ],
        partitions_def=survey_years,
        can_subset=True,
    )
    def _build(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
        year = year_of(context)
        selected = [m for m in models if model_key(m) in context.selected_asset_keys]
        with warehouse(duckdb) as con:
            for m in selected:
                started = time.perf_counter()
                rows = pipeline.build_models(con, year, [m])[m.name]
                seconds = time.perf_counter() - started
                metadata = table_metadata(con, m.table, year, m.year_column)
                metadata["dagster/row_count"] = dg.MetadataValue.int(rows)
                metadata["build_seconds"] = dg.MetadataValue.float(round(seconds, 3))
                context.log.info(f"{m.table}: {rows:,} rows for {year} in {seconds:.2f} s")
                yield dg.MaterializeResult(asset_key=model_key(m), metadata=metadata)

    return _build


staging_models, intermediate_models, marts_models = (_layer_asset(layer) for layer in LAYERS)


@dg.asset(
    key=VALIDATION,
    deps=[dg.AssetKey(["staging", "stg_submissions"])],
    partitions_def=survey_years,
    group_name="staging",
    kinds={"duckdb", "pandera"},
    description="pandera validation of the staged submissions, run inside DuckDB through pandera's ibis backend "
    "(schemas built from the questionnaire): one row per failing cell, whose row is then quarantined. A bad "
    "response_id refuses the file; a staged table that does not match its schema stops the run.",
    check_specs=[
        dg.AssetCheckSpec(
            name="staged_submission_warnings",
            asset=VALIDATION,
            blocking=False,
            partitions_def=survey_years,
            description="Rows the validation flags without quarantining them (e.g. a submission that ends "
            "before it starts): passes when there are none.",
        )
    ],
)
def submission_validation(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    year = year_of(context)
    with warehouse(duckdb) as con:
        result = pipeline.validate(con, year)
        metadata = table_metadata(con, "audit.validation_failure", year)
    metadata.update({"rows_checked": result.rows_checked, "failing_cells": result.failures})
    context.log.info(f"validated {result.rows_checked:,} staged rows: {result.failures:,} failing cell(s) quarantined")
    yield dg.MaterializeResult(metadata=metadata)
    flagged = sum(result.warnings.values())
    yield dg.AssetCheckResult(
        check_name="staged_submission_warnings",
        passed=flagged == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(f"{n} row(s): {what}" for what, n in result.warnings.items()) or "none",
        metadata={"survey_year": str(year), "rows_examined": result.rows_checked, "rows_flagged": flagged,
                  **{f"rows_flagged: {what}": n for what, n in result.warnings.items()}},
    )
