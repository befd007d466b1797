"""Publication domain: figures, report and spreadsheets staged per run, the personal-data gate,
and the atomic publication with the BI snapshot."""

import dagster as dg

from iom_pipeline.defs.shared import domain_assets
from iom_pipeline.defs.publication import assets, checks

defs = dg.Definitions(
    assets=domain_assets(assets),
    asset_checks=dg.load_asset_checks_from_modules([checks]),
)
