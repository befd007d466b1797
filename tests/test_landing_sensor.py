"""The landing sensor and the annual schedule, evaluated as the daemon would evaluate them.

Each tick is `landing_sensor(build_sensor_context(instance=..., cursor=<previous cursor>))` on a
throwaway instance, over a temporary IOM_DATA_DIR. The daemon starts a requested run unless a run
with the same run key already exists, so "no second run for the same files" means "the same run
key on every later tick".
"""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from exports import row, write_landing
from iom_pipeline.defs.shared import warehouse_resource
from iom_pipeline.defs.survey.schedules import annual_survey_rerun, landing_sensor
from iom_pipeline.paths import landing_dir, publication_dir, warehouse_path

ROWS_2013 = [row(1, "E22000001", "", q1_iom_in_place="Yes", a1_agency_police="Police")]


@pytest.fixture
def data(tmp_path, monkeypatch):
    """An empty IOM_DATA_DIR; files count as settled as soon as two ticks agree."""
    monkeypatch.setenv("IOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IOM_LANDING_SETTLE_SECONDS", "0")
    return tmp_path / "data"


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


class Sensor:
    """Ticks of the landing sensor, carrying the cursor from one tick to the next like the daemon."""

    def __init__(self, instance: dg.DagsterInstance):
        self.instance = instance
        self.cursor: str | None = None

    def tick(self, apply_partitions: bool = True) -> dg.SensorResult:
        result = landing_sensor(dg.build_sensor_context(instance=self.instance, cursor=self.cursor))
        assert isinstance(result, dg.SensorResult)
        self.cursor = result.cursor
        if apply_partitions:  # what the daemon does with the sensor's partition requests
            for request in result.dynamic_partitions_requests or []:
                assert isinstance(request, dg.AddDynamicPartitionsRequest)
                self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        return result


def requests(result: dg.SensorResult) -> dict[str, str]:
    """{partition key: run key} of a tick's run requests."""
    out = {}
    for request in result.run_requests or []:
        assert request.partition_key not in out
        out[request.partition_key] = request.run_key
    return out


def added_partitions(result: dg.SensorResult) -> list[str]:
    return [key for request in result.dynamic_partitions_requests or [] for key in request.partition_keys]


def rewrite(path, extra: bytes = b"") -> None:
    """Change a landed file the way a re-upload does (new content, new modification time)."""
    content = path.read_bytes() + extra
    path.write_bytes(content)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


# -- missing or changing files start nothing -------------------------------------------------
def test_no_run_while_a_years_files_are_missing(data, instance):
    sensor = Sensor(instance)
    assert requests(sensor.tick()) == {} and requests(sensor.tick()) == {}  # no landing/ at all

    year = landing_dir(2013)
    write_landing(year, ROWS_2013)
    (year / "frame.csv").unlink()  # an export without its frame
    assert requests(sensor.tick()) == {} and requests(sensor.tick()) == {}

    write_landing(year, ROWS_2013)
    (year / "survey_export.csv").unlink()  # a frame without an export
    assert requests(sensor.tick()) == {} and requests(sensor.tick()) == {}

    (landing_dir() / "notes").mkdir()  # not a year
    assert requests(sensor.tick()) == {}
    assert instance.get_dynamic_partitions("survey_year") == []


def test_no_run_while_files_are_still_changing(data, instance):
    sensor = Sensor(instance)
    write_landing(landing_dir(2013), ROWS_2013)
    export = landing_dir(2013) / "survey_export.csv"

    assert requests(sensor.tick()) == {}  # first sighting: not yet seen twice
    rewrite(export, b"\r\n")  # still being copied in
    assert requests(sensor.tick()) == {}
    rewrite(export, b"\r\n")
    assert requests(sensor.tick()) == {}
    assert instance.get_dynamic_partitions("survey_year") == []
    assert list(requests(sensor.tick())) == ["2013"]  # unchanged across two ticks: ready


def test_no_run_until_files_have_settled(data, instance, monkeypatch):
    monkeypatch.setenv("IOM_LANDING_SETTLE_SECONDS", "3600")
    sensor = Sensor(instance)
    write_landing(landing_dir(2013), ROWS_2013)
    assert requests(sensor.tick()) == {}
    assert requests(sensor.tick()) == {}  # same fingerprint, but written moments ago

    monkeypatch.setenv("IOM_LANDING_SETTLE_SECONDS", "0")
    assert list(requests(sensor.tick())) == ["2013"]


# -- stable files: one run per version of the files ----------------------------------------
def test_stable_files_request_one_run_and_a_changed_file_another(data, instance):
    sensor = Sensor(instance)
    write_landing(landing_dir(2013), ROWS_2013)

    assert requests(sensor.tick()) == {}
    second = sensor.tick()
    first_keys = requests(second)
    assert list(first_keys) == ["2013"]
    (request,) = second.run_requests
    assert request.partition_key == "2013" and request.run_key.startswith("landing-2013-")
    assert added_partitions(second) == ["2013"]  # the sensor registers the new survey year
    assert instance.get_dynamic_partitions("survey_year") == ["2013"]

    # Later ticks over the same files repeat the same run key, which Dagster runs only once,
    # and do not add the partition again.
    for _ in range(3):
        again = sensor.tick()
        assert requests(again) == first_keys
        assert added_partitions(again) == []

    # A re-uploaded frame is a new version of the year: once it is stable, a new run key.
    rewrite(landing_dir(2013) / "frame.csv", b"E22000099,Somewhere New\r\n")
    assert requests(sensor.tick()) == {}  # changed since the last tick
    changed = requests(sensor.tick())
    assert list(changed) == ["2013"] and changed["2013"] != first_keys["2013"]
    assert requests(sensor.tick()) == changed

    # An optional published-figures file counts as part of the year's files too.
    (landing_dir(2013) / "published.csv").write_text("question_id,option_id,pct\n", encoding="utf-8")
    assert requests(sensor.tick()) == {}
    with_published = requests(sensor.tick())
    assert with_published["2013"] not in (first_keys["2013"], changed["2013"])


def test_an_xlsx_export_counts_as_an_export(data, instance):
    sensor = Sensor(instance)
    year = landing_dir(2013)
    write_landing(year, ROWS_2013)
    (year / "survey_export.csv").rename(year / "survey_export.xlsx")  # only the name matters to the sensor
    sensor.tick()
    assert list(requests(sensor.tick())) == ["2013"]


# -- the issue: a new survey year needs no code change ---------------------------------------
@pytest.mark.slow
def test_a_new_years_export_is_picked_up_and_published(data, instance):
    from iom_pipeline.definitions import defs, survey_year_job

    sensor = Sensor(instance)
    write_landing(landing_dir(2013), ROWS_2013)
    sensor.tick()
    known = requests(sensor.tick())
    assert list(known) == ["2013"] and instance.get_dynamic_partitions("survey_year") == ["2013"]

    # A third year's export arrives in the 2013 format (same questionnaire, same columns).
    write_landing(landing_dir(2014), [
        row(1, "E22000001", "", started="02/05/2014 09:00", ended="02/05/2014 09:30",
            q1_iom_in_place="Yes", a1_agency_police="Police"),
        row(2, "E22000003", "", started="03/05/2014 10:00", ended="03/05/2014 10:20", q1_iom_in_place="No"),
    ])
    first_sight = sensor.tick()
    assert requests(first_sight) == known  # 2014 seen once: not yet; 2013 unchanged: same run key
    assert instance.get_dynamic_partitions("survey_year") == ["2013"]

    ready = sensor.tick()
    keys = requests(ready)
    assert keys["2013"] == known["2013"]
    assert set(keys) == {"2013", "2014"} and keys["2014"].startswith("landing-2014-")
    assert added_partitions(ready) == ["2014"]
    assert instance.get_dynamic_partitions("survey_year") == ["2013", "2014"]

    # Run what the sensor asked for, as the daemon would: the job, the partition and the run key.
    (request,) = [r for r in ready.run_requests if r.partition_key == "2014"]
    assert (request.job_name or survey_year_job.name) == survey_year_job.name
    result = defs.resolve_job_def(survey_year_job.name).execute_in_process(
        partition_key=request.partition_key,
        instance=instance,
        tags={**request.tags, "dagster/run_key": request.run_key, "dagster/sensor_name": landing_sensor.name},
        # The warehouse under this test's IOM_DATA_DIR (the definitions may have been imported earlier).
        resources={"duckdb": warehouse_resource()},
        raise_on_error=False,
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    run = instance.get_run_by_id(result.run_id)
    assert run.tags["dagster/partition"] == "2014" and run.tags["dagster/run_key"] == request.run_key

    assert warehouse_path().is_file()  # under this IOM_DATA_DIR
    publication = publication_dir(2014)
    assert (publication / "report.html").is_file()
    assert "2014" in (publication / "report.html").read_text(encoding="utf-8")
    assert list(publication.glob("figure_*.svg"))
    assert not publication_dir(2013).exists()  # only the requested year ran
    with duckdb.connect(str(publication_dir() / "iom_marts.duckdb"), read_only=True) as con:
        years = con.execute("select distinct survey_year from marts.csp_return").fetchall()
    assert years == [(2014,)]


# -- the annual rerun ------------------------------------------------------------------------
def test_annual_schedule_requests_one_run_per_landed_year(data, instance):
    tick_time = datetime(2026, 10, 1, 6, 0, tzinfo=ZoneInfo("Europe/London"))

    def evaluate():
        return annual_survey_rerun(dg.build_schedule_context(instance=instance, scheduled_execution_time=tick_time))

    assert isinstance(evaluate(), dg.SkipReason)  # nothing landed yet

    for year in (2013, 2014):
        write_landing(landing_dir(year), ROWS_2013)
    landing_dir(2015).mkdir()  # a year whose export has not arrived is not a landed year
    (landing_dir(2015) / "frame.csv").write_text("csp_code,csp_name\r\n", encoding="utf-8")

    run_requests = evaluate()
    assert [r.partition_key for r in run_requests] == ["2013", "2014"]
    assert len({r.run_key for r in run_requests}) == 2
    assert all(r.run_key.startswith("annual-2026-10-01-") for r in run_requests)
    assert instance.get_dynamic_partitions("survey_year") == ["2013", "2014"]
    assert [r.run_key for r in evaluate()] == [r.run_key for r in run_requests]  # same tick, same keys


# -- a data directory already published starts nothing ---------------------------------------
@pytest.mark.slow
def test_a_published_year_launches_nothing_until_its_files_change(data, monkeypatch):
    """The UI or the daemon started on an up-to-date data directory (published by `iom run`, which
    carries no run key) launches no run; a changed landing file launches exactly one."""
    from iom_pipeline.cli import main

    monkeypatch.setenv("DAGSTER_HOME", str(data / "dagster_home"))
    write_landing(landing_dir(2013), ROWS_2013)
    assert main(["run", "--year", "2013", "--quiet"]) == 0
    with dg.DagsterInstance.get() as instance:
        sensor = Sensor(instance)  # a daemon starting afresh: no cursor
        for _ in range(3):
            assert requests(sensor.tick()) == {}
        rewrite(landing_dir(2013) / "frame.csv", b"")  # re-uploaded: same bytes, new modification time
        first_sight = sensor.tick()
        assert requests(first_sight) == {}  # not settled yet: seen once
        ready = requests(sensor.tick())
        assert list(ready) == ["2013"]
        assert requests(sensor.tick()) == ready  # the same run key again: the daemon starts one run
