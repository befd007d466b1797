"""When the survey pipeline runs by itself: the annual rerun, and a sensor on the survey source
(by default landing/ itself)."""

import json
import os
import time
from functools import cache

import dagster as dg

from iom_pipeline.defs.shared import WAREHOUSE_WRITER_TAG, survey_years
from iom_pipeline.landing import landed_years, settled
from iom_pipeline.paths import ASSETS_DIR, load_yaml
from iom_pipeline.source import SourceError, open_source

JOB_NAME = "survey_year_job"

# One run per survey year builds everything from the landing files to the publication: the
# selection is every asset of the code location, whichever domain defines it.
survey_year_job = dg.define_asset_job(
    name=JOB_NAME,
    selection=dg.AssetSelection.all(),
    tags=WAREHOUSE_WRITER_TAG,
    description="Materialise every asset of one survey year, from its landing files to its publication.",
)


@cache
def automation_config() -> dict:
    return load_yaml(ASSETS_DIR / "pipeline" / "automation.yaml")


def _ensure_partitions(instance: dg.DagsterInstance, years: list[str]) -> None:
    known = set(instance.get_dynamic_partitions(survey_years.name))
    missing = [y for y in years if y not in known]
    if missing:
        instance.add_dynamic_partitions(survey_years.name, missing)


@dg.schedule(
    name="annual_survey_rerun",
    cron_schedule=automation_config()["annual_schedule"]["cron"],
    execution_timezone=automation_config()["annual_schedule"]["timezone"],
    job_name=JOB_NAME,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Once a year, rebuild and republish every survey year found in landing/.",
)
def annual_survey_rerun(context: dg.ScheduleEvaluationContext):
    years = [str(y.year) for y in landed_years()]
    if not years:
        return dg.SkipReason("no survey year in landing/ has both an export and a frame")
    _ensure_partitions(context.instance, years)
    stamp = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return [dg.RunRequest(partition_key=y, run_key=f"annual-{stamp}-{y}") for y in years]


def _settle_seconds() -> float:
    # Operators (and tests) may shorten the settling time without touching configuration.
    override = os.environ.get("IOM_LANDING_SETTLE_SECONDS")
    return float(override) if override else float(automation_config()["landing_sensor"]["settle_seconds"])


PUBLISHED = dg.AssetKey(["publication", "published"])


def published_fingerprint(instance: dg.DagsterInstance, year: str) -> str | None:
    """The fingerprint of the landing files the year's latest publication was made from (recorded
    in that materialisation's metadata by whichever front door launched it), or None."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=PUBLISHED, asset_partitions=[year]), limit=1
    ).records
    if not records:
        return None
    value = records[0].asset_materialization.metadata.get("landing_fingerprint")
    return str(value.value) if value is not None else None


@dg.sensor(
    name="landing_sensor",
    job_name=JOB_NAME,
    # Operators (and tests) may tick faster or slower than configured: read when the code loads.
    minimum_interval_seconds=int(os.environ.get("IOM_LANDING_SENSOR_INTERVAL_SECONDS")
                                 or automation_config()["landing_sensor"]["interval_seconds"]),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Start a run for a survey year when its export and frame are at the survey source "
    "(IOM_SOURCE_URL; by default landing/ itself) and have stopped changing (same fingerprint of sizes, "
    "modification times and, where the source offers them, checksums on two ticks, untouched for the settling "
    "time), unless the year's latest publication was made from exactly these files. A run key per fingerprint "
    "means the same files never start two runs.",
)
def landing_sensor(context: dg.SensorEvaluationContext):
    seen = json.loads(context.cursor) if context.cursor else {}
    now = time.time()
    try:
        with open_source() as source:
            ready = source.ready_years()
    except SourceError as exc:
        # An unreachable source is not a change: the cursor stays, so stability carries over.
        return dg.SensorResult(skip_reason=str(exc), cursor=context.cursor)
    requests, new_years, cursor = [], [], {}
    for landed in ready:
        year = str(landed.year)
        cursor[year] = landed.fingerprint
        stable = seen.get(year) == landed.fingerprint and settled(landed, _settle_seconds(), now)
        # A publication records landing/'s fingerprint, which a pull makes equal to the source's files.
        if not stable or published_fingerprint(context.instance, year) == landed.landing_fingerprint:
            continue
        new_years.append(year)
        requests.append(dg.RunRequest(partition_key=year, run_key=f"landing-{year}-{landed.fingerprint}"))
    known = set(context.instance.get_dynamic_partitions(survey_years.name))
    add = [y for y in new_years if y not in known]
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[survey_years.build_add_request(add)] if add else [],
        cursor=json.dumps(cursor, sort_keys=True),
    )
