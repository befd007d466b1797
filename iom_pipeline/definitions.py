"""The Dagster code location: every domain's assets, checks, schedules and sensors."""

from __future__ import annotations

import warnings

import dagster as dg

# Per-partition asset checks are a preview feature we rely on deliberately (checks per survey year).
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
warnings.filterwarnings("ignore", category=dg.BetaWarning)

from iom_pipeline.defs.shared import WAREHOUSE_WRITER_TAG, survey_years, warehouse_resource
from iom_pipeline.defs.survey import assets as survey_assets
from iom_pipeline.defs.survey import checks as survey_checks

# One run per survey year builds everything from the landing files to the publication.
survey_year_job = dg.define_asset_job(
    name="survey_year_job",
    selection=dg.AssetSelection.all(),
    partitions_def=survey_years,
    tags=WAREHOUSE_WRITER_TAG,
    description="Materialise every asset of one survey year, from its landing files to its publication.",
)

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([survey_assets]),
    asset_checks=[survey_checks.mart_integrity_checks, survey_checks.quality_warning_checks],
    jobs=[survey_year_job],
    resources={"duckdb": warehouse_resource()},
    executor=dg.in_process_executor,
)
