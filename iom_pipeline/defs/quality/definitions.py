"""Quality domain: the Great Expectations suites on the marts, whose checks gate publication."""

import dagster as dg

from iom_pipeline.defs.quality import assets

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([assets]),
)
