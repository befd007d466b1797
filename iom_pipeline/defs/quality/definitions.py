"""Quality domain: the Great Expectations suites on the marts, whose checks gate publication."""

import dagster as dg

from iom_pipeline.defs.shared import domain_assets
from iom_pipeline.defs.quality import assets

defs = dg.Definitions(
    assets=domain_assets(assets),
    asset_checks=dg.load_asset_checks_from_modules([assets]),
)
