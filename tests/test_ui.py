"""The Dagster UI explains the pipeline, seen over the GraphQL API the UI itself uses.

Starting from a data directory where the sample's 2013 is already published (by `iom run`),
`dagster dev` is started with the landing sensor ticking fast: it must launch nothing. Every
asset then shows its full description, owner and a link to its code (each SQL model to its
.sql file); every warehouse table's materialisation carries a column schema whose columns are
described; and after a run launched from the UI, no check of the sample has failed, warnings
included (they warn only about what is new).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iom_pipeline.paths import PROJECT_ROOT
from iom_pipeline.sql_models import discover_models
from test_webserver import LOCATION, REPOSITORY, RUN_TIMEOUT, STARTUP_TIMEOUT, DagsterDev

pytestmark = pytest.mark.slow

YEAR = "2013"
SENSOR_TICK_SECONDS = 3


def wait_for_run(dev: DagsterDev, run_id: str) -> str:
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        status = dev.graphql("query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }",
                             {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} still {status} after {RUN_TIMEOUT} s:\n{dev.log_tail()}")
        time.sleep(1)


def run_ids(dev: DagsterDev) -> list[str]:
    runs = dev.graphql("{ runsOrError { ... on Runs { results { runId } } } }")["runsOrError"]["results"]
    return [r["runId"] for r in runs]


@pytest.fixture(scope="module")
def published_ui(tmp_path_factory):
    data = tmp_path_factory.mktemp("ui") / "data"
    env = {**os.environ, "IOM_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}
    iom = [sys.executable, "-m", "iom_pipeline.cli"]
    subprocess.run([*iom, "sample", "--year", YEAR], env=env, check=True, capture_output=True)
    published = subprocess.run([*iom, "run", "--year", YEAR, "--quiet"], env=env, capture_output=True, text=True)
    assert published.returncode == 0, published.stderr
    ui_env = {**env, "IOM_LANDING_SETTLE_SECONDS": "0", "IOM_LANDING_SENSOR_INTERVAL_SECONDS": str(SENSOR_TICK_SECONDS)}
    dev = DagsterDev(ui_env, data.parent / "dagster-dev.log")
    try:
        dev.wait_until_up(STARTUP_TIMEOUT)
        dev.wait_for_location(STARTUP_TIMEOUT)
        yield dev, data
    finally:
        dev.stop()


def test_starting_on_a_published_directory_launches_nothing(published_ui):
    dev, _ = published_ui
    before = run_ids(dev)
    assert len(before) == 1  # the `iom run` that published
    # The sensor ticks every few seconds with no settling time: give it several ticks.
    state = None
    deadline = time.monotonic() + 120
    while True:
        state = dev.graphql(
            """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor {
                 sensorState { status ticks(limit: 20) { status runIds } } } } }""",
            {"s": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "sensorName": "landing_sensor"}},
        )["sensorOrError"]["sensorState"]
        if state["status"] == "RUNNING" and len(state["ticks"]) >= 3:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"the landing sensor did not tick three times: {state}\n{dev.log_tail()}")
        time.sleep(1)
    assert all(not tick["runIds"] for tick in state["ticks"]), state["ticks"]
    assert run_ids(dev) == before


def test_assets_explain_themselves(published_ui):
    dev, _ = published_ui
    nodes = dev.graphql(
        """{ assetNodes { assetKey { path } description groupName
             owners { __typename ... on TeamAssetOwner { team } }
             tags { key value }
             metadataEntries { label __typename
               ... on CodeReferencesMetadataEntry { codeReferences {
                 ... on LocalFileCodeReference { filePath lineNumber label } } } } } }"""
    )["assetNodes"]
    by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    for key, node in by_key.items():
        assert node["description"] and node["description"].strip(), key
        assert {"__typename": "TeamAssetOwner", "team": "iom-survey-analysis"} in node["owners"], key
        references = [r for e in node["metadataEntries"] if e["__typename"] == "CodeReferencesMetadataEntry"
                      for r in e["codeReferences"]]
        assert references and all(Path(r["filePath"]).is_file() for r in references), key
        assert not key.startswith("publication/figure_figure"), key
    for model in discover_models().values():
        node = by_key[f"{model.layer}/{model.name}"]
        sql_file = PROJECT_ROOT / "sql" / model.layer / f"{model.name}.sql"
        # the whole comment that opens the model, not only its first line
        assert node["description"] == leading_comment(sql_file.read_text(encoding="utf-8")), model.name
        assert any(r["filePath"] == str(sql_file) for e in node["metadataEntries"]
                   if e["__typename"] == "CodeReferencesMetadataEntry" for r in e["codeReferences"]), model.name
        assert {"key": "layer", "value": model.layer} in node["tags"]


def leading_comment(sql: str) -> str:
    lines = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        text = line[2:].strip()
        if text and not text.startswith("partition column:"):
            lines.append(text)
    return " ".join(lines)


def test_every_warehouse_table_has_a_described_column_schema(published_ui):
    dev, _ = published_ui
    models = [f"{m.layer}/{m.name}" for m in discover_models().values()]
    for key in [*models, "raw/survey_export", "raw/frame", "raw/published", "audit/validation_failure",
                "audit/expectation_result"]:
        materialisations = dev.graphql(
            """query($k: AssetKeyInput!, $p: [String!]) { assetOrError(assetKey: $k) { ... on Asset {
                 assetMaterializations(partitions: $p, limit: 1) { metadataEntries { label __typename
                   ... on TableSchemaMetadataEntry { schema { columns { name type description } } } } } } } }""",
            {"k": {"path": key.split("/")}, "p": [YEAR]},
        )["assetOrError"]["assetMaterializations"]
        assert materialisations, key
        schemas = [e["schema"] for e in materialisations[0]["metadataEntries"] if e["__typename"] == "TableSchemaMetadataEntry"]
        assert schemas, key
        columns = schemas[0]["columns"]
        assert columns and all(c["type"] for c in columns), key
        undescribed = [c["name"] for c in columns if not (c["description"] or "").strip()]
        assert not undescribed, (key, undescribed)


def test_a_run_launched_from_the_ui_fails_no_check_of_the_sample(published_ui):
    dev, _ = published_ui
    launched = dev.graphql(
        """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
             __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }""",
        {"p": {"selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": "survey_year_job"},
               "executionMetadata": {"tags": [{"key": "dagster/partition", "value": YEAR}]}, "runConfigData": {}}},
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    assert wait_for_run(dev, run_id) == "SUCCESS", dev.log_tail()
    checks = dev.graphql(
        """{ assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks { name } } } } }"""
    )["assetNodes"]
    failed, seen = [], 0
    for node in checks:
        for check in (node["assetChecksOrError"] or {}).get("checks", []):
            executions = dev.graphql(
                """query($k: AssetKeyInput!, $c: String!, $p: String) {
                     assetCheckExecutions(assetKey: $k, checkName: $c, partition: $p, limit: 1) {
                       runId evaluation { success severity
                         metadataEntries { label __typename ... on TextMetadataEntry { text }
                                           ... on IntMetadataEntry { intValue } } } } }""",
                {"k": {"path": node["assetKey"]["path"]}, "c": check["name"], "p": YEAR},
            )["assetCheckExecutions"]
            assert executions and executions[0]["runId"] == run_id, check["name"]
            evaluation = executions[0]["evaluation"]
            seen += 1
            if not evaluation["success"]:
                failed.append((check["name"], evaluation["severity"]))
            meta = {e["label"]: e for e in evaluation["metadataEntries"]}
            if "survey_year" in meta:  # years as text, so the UI does not plot 2,013.0
                assert meta["survey_year"]["__typename"] == "TextMetadataEntry", check["name"]
            for label in ("offending_rows", "rows_examined", "new_findings"):
                if label in meta:
                    assert meta[label]["__typename"] == "IntMetadataEntry", (check["name"], label)
    assert seen >= 25 and failed == []
