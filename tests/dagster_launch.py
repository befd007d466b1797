"""Materialise a survey year as Dagster itself launches it (the UI's "Materialize", the schedule,
`dagster asset materialize`), not through `iom run`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def dagster_materialize(data: Path, year: int, timeout: float = 900) -> subprocess.CompletedProcess:
    """`dagster asset materialize --select '*' --partition YEAR` in its own process, on the
    instance under `data/dagster_home` (configured as the project configures it), with the
    year's partition registered first, as the landing sensor would."""
    env = {**os.environ, "IOM_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}
    register = (
        "from iom_pipeline.cli import ensure_dagster_home; ensure_dagster_home()\n"
        "from dagster import DagsterInstance\n"
        "with DagsterInstance.get() as i:\n"
        f"    i.add_dynamic_partitions('survey_year', ['{int(year)}'])\n"
    )
    subprocess.run([sys.executable, "-c", register], env=env, check=True)
    dagster = str(Path(sys.executable).parent / "dagster")
    return subprocess.run(
        [dagster, "asset", "materialize", "-m", "iom_pipeline.definitions", "--select", "*", "--partition", str(int(year))],
        env=env, capture_output=True, text=True, timeout=timeout,
    )
