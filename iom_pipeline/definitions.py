"""The Dagster code location: every domain's assets, checks, schedules and sensors."""

import dagster as dg

from iom_pipeline.defs.publication import assets as publication_assets
from iom_pipeline.defs.publication import checks as publication_checks
from iom_pipeline.defs.quality import assets as quality_assets
from iom_pipeline.defs.shared import WAREHOUSE_WRITER_TAG, warehouse_resource
from iom_pipeline.defs.survey import assets as survey_assets
from iom_pipeline.defs.survey import checks as survey_checks
from iom_pipeline.defs.survey import schedules as survey_schedules

# One run per survey year builds everything from the landing files to the publication.
survey_year_job = dg.define_asset_job(
    name=survey_schedules.JOB_NAME,
    selection=dg.AssetSelection.all(),
    tags=WAREHOUSE_WRITER_TAG,
    description="Materialise every asset of one survey year, from its landing files to its publication.",
)

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([survey_assets, quality_assets, publication_assets])],
    asset_checks=[
        survey_checks.mart_checks,
        *dg.load_asset_checks_from_modules([publication_checks]),
    ],
    jobs=[survey_year_job],
    schedules=[survey_schedules.annual_survey_rerun],
    sensors=[survey_schedules.landing_sensor],
    resources={"duckdb": warehouse_resource()},
    executor=dg.in_process_executor,
)
