"""The Dagster code location: one Definitions per domain, merged in the order the data flows
(survey -> quality -> publication), with what every domain shares (the warehouse resource and
the in-process executor).

The UI, the schedule, the sensor, `dagster asset materialize` and `iom run` all load this and
execute the same assets the same way. (Dagster accepts one Definitions object at module scope:
the domains' are reached through their modules.)
"""

import dagster as dg

from iom_pipeline.defs.publication import definitions as publication
from iom_pipeline.defs.quality import definitions as quality
from iom_pipeline.defs.shared import warehouse_resource
from iom_pipeline.defs.survey import definitions as survey
from iom_pipeline.defs.survey.schedules import survey_year_job

defs = dg.Definitions.merge(
    dg.Definitions(
        resources={"duckdb": warehouse_resource()},
        # Steps share one DuckDB connection and the machine has few cores: a process per step
        # would re-import the code location for every step and could not share the writer.
        executor=dg.in_process_executor,
    ),
    survey.defs,
    quality.defs,
    publication.defs,
)

__all__ = ["defs", "survey_year_job"]
