"""The Dagster UI end to end: `dagster dev` (webserver and daemon) on a free local port.

Through the GraphQL API the UI itself uses, the test checks that every asset and asset check of
the code location is listed, launches `survey_year_job` for the 2013 partition exactly as the UI's
"Materialize" button does, waits for the run to succeed (the QueuedRunCoordinator hands it to the
daemon) and finds the publication under $IOM_DATA_DIR/publication/2013/.

Everything lives in a temporary IOM_DATA_DIR and DAGSTER_HOME; `dagster dev` runs in its own
process group and is stopped by its own pid (then its group) whatever happens.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from exports import row, write_landing
from iom_pipeline.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow

JOB = "survey_year_job"
YEAR = "2013"
LOCATION = "iom_pipeline.definitions"
REPOSITORY = "__repository__"
STARTUP_TIMEOUT = 180  # seconds for the UI to answer and load the code location (a busy CI machine)
RUN_TIMEOUT = 300  # seconds for the queued run to finish


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


class DagsterDev:
    """`dagster dev` as its own process group, with a small GraphQL client."""

    def __init__(self, env: dict, log_path: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [_bin("dagster"), "dev", "-h", "127.0.0.1", "-p", str(self.port), "-m", LOCATION],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_tail(self, chars: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def _check_alive(self) -> None:
        if self.proc.poll() is not None:
            pytest.fail(f"dagster dev exited with status {self.proc.returncode}:\n{self.log_tail()}")

    def wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                with urllib.request.urlopen(f"{self.url}/server_info", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the webserver did not answer /server_info within {timeout} s:\n{self.log_tail()}")
            time.sleep(0.5)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.load(response)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def wait_for_location(self, timeout: float) -> None:
        """The code server loads the definitions after the webserver is up."""
        query = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
            name loadStatus locationOrLoadError { __typename ... on PythonError { message stack } } } } } }"""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            entries = self.graphql(query)["workspaceOrError"].get("locationEntries") or []
            entry = next((e for e in entries if e["name"] == LOCATION), None)
            if entry and entry["loadStatus"] == "LOADED":
                loaded = entry["locationOrLoadError"]
                if loaded and loaded["__typename"] == "PythonError":
                    pytest.fail(f"the code location failed to load: {loaded['message']}\n{''.join(loaded['stack'])}")
                if loaded and loaded["__typename"] == "RepositoryLocation":
                    return
            if time.monotonic() > deadline:
                pytest.fail(f"the code location did not load within {timeout} s:\n{self.log_tail()}")
            time.sleep(0.5)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to `dagster dev` itself (it shuts its webserver, daemon and code server down),
        then SIGKILL to whatever is left of its process group."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        finally:
            self._log.close()


def test_ui_lists_everything_and_runs_a_partition(tmp_path, monkeypatch):
    data = tmp_path / "data"
    home = data / "dagster_home"
    home.mkdir(parents=True)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    write_landing(data / "landing" / YEAR, [row(1, "E22000001", "", q1_iom_in_place="Yes", a1_agency_police="Police")])
    monkeypatch.setenv("IOM_DATA_DIR", str(data))
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    from dagster import DagsterInstance

    from iom_pipeline.definitions import defs, survey_year_job

    # The partition exists before the UI starts, as after the sensor or `iom run` discovered it.
    with DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("survey_year", [YEAR])

    env = {
        **os.environ,
        "IOM_DATA_DIR": str(data),
        "DAGSTER_HOME": str(home),
        # The landing sensor is on by default: keep it from starting a run of its own meanwhile.
        "IOM_LANDING_SETTLE_SECONDS": str(10**9),
    }
    started = time.monotonic()
    dev = DagsterDev(env, tmp_path / "dagster-dev.log")
    try:
        dev.wait_until_up(STARTUP_TIMEOUT)
        phases = {"webserver up": time.monotonic() - started}
        dev.wait_for_location(max(10.0, STARTUP_TIMEOUT - (time.monotonic() - started)))
        phases["code location loaded"] = time.monotonic() - started
        repository = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}

        # Every asset and every asset check of the definitions is in the UI.
        nodes = dev.graphql(
            """{ assetNodes { assetKey { path } assetChecksOrError {
                __typename ... on AssetChecks { checks { name } } } } }"""
        )["assetNodes"]
        listed_assets = {tuple(n["assetKey"]["path"]) for n in nodes}
        expected_assets = {tuple(k.path) for k in defs.resolve_all_asset_keys()}
        assert listed_assets == expected_assets
        assert all(n["assetChecksOrError"]["__typename"] == "AssetChecks" for n in nodes), nodes
        listed_checks = {
            (tuple(n["assetKey"]["path"]), c["name"]) for n in nodes for c in n["assetChecksOrError"]["checks"]
        }
        expected_checks = {(tuple(k.asset_key.path), k.name) for k in defs.resolve_asset_graph().asset_check_keys}
        assert expected_checks and listed_checks == expected_checks

        # The schedule and sensor are listed, and turning them off works as in the UI's toggle.
        automation = dev.graphql(
            """query($r: RepositorySelector!) {
                 sensorsOrError(repositorySelector: $r) { ... on Sensors { results { id name } } }
                 schedulesOrError(repositorySelector: $r) { ... on Schedules { results { id name } } } }""",
            {"r": repository},
        )
        sensors = {s["name"]: s["id"] for s in automation["sensorsOrError"]["results"]}
        schedules = {s["name"]: s["id"] for s in automation["schedulesOrError"]["results"]}
        assert set(sensors) == {"landing_sensor"} and set(schedules) == {"annual_survey_rerun"}
        stopped = dev.graphql(
            """mutation($sensor: String!, $schedule: String!) {
                 stopSensor(id: $sensor) { __typename ... on StopSensorMutationResult { instigationState { status } } }
                 stopRunningSchedule(id: $schedule) { __typename ... on ScheduleStateResult { scheduleState { status } } } }""",
            {"sensor": sensors["landing_sensor"], "schedule": schedules["annual_survey_rerun"]},
        )
        assert stopped["stopSensor"]["instigationState"]["status"] == "STOPPED", stopped
        assert stopped["stopRunningSchedule"]["scheduleState"]["status"] == "STOPPED", stopped

        # Launch the job for one partition, as "Materialize all" on the 2013 partition does.
        launched = dev.graphql(
            """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
                 __typename
                 ... on LaunchRunSuccess { run { runId status tags { key value } } }
                 ... on PythonError { message stack }
                 ... on RunConfigValidationInvalid { errors { message } }
                 ... on InvalidSubsetError { message } } }""",
            {"p": {
                "selector": {**repository, "jobName": survey_year_job.name},
                "executionMetadata": {"tags": [{"key": "dagster/partition", "value": YEAR}]},
                "runConfigData": {},
            }},
        )["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        phases["run launched"] = time.monotonic() - started
        run = launched["run"]
        tags = {t["key"]: t["value"] for t in run["tags"]}
        assert tags["dagster/partition"] == YEAR
        assert tags["iom/warehouse"] == "writer"  # the tag the one-writer concurrency limit counts

        status, deadline = run["status"], time.monotonic() + RUN_TIMEOUT
        seen = [status]
        while status not in ("SUCCESS", "FAILURE", "CANCELED"):
            if time.monotonic() > deadline:
                pytest.fail(f"run {run['runId']} still {status} after {RUN_TIMEOUT} s (saw {seen}):\n{dev.log_tail()}")
            dev._check_alive()
            time.sleep(1)
            status = dev.graphql(
                "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }", {"id": run["runId"]}
            )["runOrError"]["status"]
            if status != seen[-1]:
                seen.append(status)
                phases[f"run {status}"] = time.monotonic() - started
        assert status == "SUCCESS", f"run {run['runId']} ended {status} (saw {seen}):\n{dev.log_tail()}"
        assert seen[0] == "QUEUED"  # it went through the run queue

        materialised = dev.graphql(
            """query($id: ID!) { runOrError(runId: $id) { ... on Run {
                 assetMaterializations { assetKey { path } } } } }""",
            {"id": run["runId"]},
        )["runOrError"]["assetMaterializations"]
        assert {tuple(m["assetKey"]["path"]) for m in materialised} == expected_assets

        publication = data / "publication" / YEAR
        assert (publication / "report.html").is_file(), sorted(p.name for p in publication.parent.glob("**/*"))
        assert list(publication.glob("figure_*.svg")) and list(publication.glob("*.xlsx"))
        assert (data / "publication" / "iom_marts.duckdb").is_file()
        print("seconds since `dagster dev` started:", {k: round(v, 1) for k, v in phases.items()})
    finally:
        dev.stop()
