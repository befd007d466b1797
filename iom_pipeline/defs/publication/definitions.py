"""Publication domain: figures, report and spreadsheets staged per run, the personal-data gate,
and the atomic publication with the BI snapshot."""

import dagster as dg

from iom_pipeline.defs.publication import assets, checks

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([checks]),
)
