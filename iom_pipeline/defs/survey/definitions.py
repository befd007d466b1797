"""Survey domain: landing files -> raw -> staging -> validation -> intermediate -> marts, their
integrity checks, and when the pipeline runs by itself (the annual rerun, the landing sensor)."""

import dagster as dg

from iom_pipeline.defs.shared import domain_assets
from iom_pipeline.defs.survey import assets, checks, pull, redaction, schedules

defs = dg.Definitions(
    assets=domain_assets(pull, assets, redaction),
    asset_checks=dg.load_asset_checks_from_modules([checks]),
    jobs=[schedules.survey_year_job],
    schedules=[schedules.annual_survey_rerun],
    sensors=[schedules.landing_sensor],
    resources={"survey_source": pull.SurveySource()},
)
