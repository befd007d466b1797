"""The instance storage `dagster.yaml` configures keeps Dagster's own files and schema.

iom_pipeline/instance_storage.py only keeps connections open: a run it recorded must read the
same through Dagster's stock SQLite storage (a `dagster.yaml` without the `storage:` block).
"""

from __future__ import annotations

import dagster as dg
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from iom_pipeline.cli import main
from iom_pipeline.instance_storage import PooledSqliteEventLogStorage

pytestmark = pytest.mark.slow


def test_runs_recorded_through_the_pooled_storage_read_the_same_through_dagsters_own(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("IOM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("IOM_WORKERS", "0")
    assert main(["sample", "--year", "2013"]) == 0
    assert main(["run", "--year", "2013"]) == 0

    with DagsterInstance.from_config(str(home)) as pooled:
        assert isinstance(pooled.event_log_storage, PooledSqliteEventLogStorage)  # the project's dagster.yaml
        run = pooled.get_runs()[0]
        recorded = [e.dagster_event_type for e in pooled.all_logs(run.run_id) if e.is_dagster_event]

    stock_home = tmp_path / "stock_home"
    stock_home.mkdir()
    (stock_home / "dagster.yaml").write_text(
        f"storage:\n  sqlite:\n    base_dir: {home}\ntelemetry:\n  enabled: false\n", encoding="utf-8"
    )
    with DagsterInstance.from_config(str(stock_home)) as stock:
        assert type(stock.event_log_storage).__module__.startswith("dagster.")
        runs = stock.get_runs()
        assert [r.run_id for r in runs] == [run.run_id]
        assert runs[0].status == DagsterRunStatus.SUCCESS
        events = [e.dagster_event_type for e in stock.all_logs(run.run_id) if e.is_dagster_event]
        assert events == recorded
        assert events.count(DagsterEventType.ASSET_MATERIALIZATION) >= 30
        latest = stock.get_latest_materialization_event(dg.AssetKey(["marts", "question_summary"]))
        assert latest is not None and latest.dagster_event.partition == "2013"
        assert stock.get_dynamic_partitions("survey_year") == ["2013"]


def _schema(path) -> tuple:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(path)) as conn:
        tables = conn.execute("select type, name, sql from sqlite_master order by type, name").fetchall()
        stamp = conn.execute("select version_num from alembic_version").fetchall()
        journal = conn.execute("pragma journal_mode").fetchone()
    return tables, stamp, journal


def _event_count(storage, run_id: str) -> int:
    """Events in a run's database, opened (and so created, if new) through the storage."""
    with storage._connect(run_id) as conn:
        return conn.exec_driver_sql("select count(*) from event_logs").fetchone()[0]


def _new_run_database(base_dir) -> int:
    """Open run-one's database through a new pooled storage at base_dir; its event count."""
    pooled = PooledSqliteEventLogStorage(str(base_dir))
    try:
        return _event_count(pooled, "run-one")
    finally:
        pooled.dispose()


def test_a_new_runs_event_database_is_the_one_dagster_would_create(tmp_path):
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    pooled = PooledSqliteEventLogStorage(str(tmp_path / "pooled"))
    stock = SqliteEventLogStorage(str(tmp_path / "stock"))
    try:
        for storage in (pooled, stock):
            for run_id in ("run-one", "run-two"):
                assert _event_count(storage, run_id) == 0
        # Copied from the template made once for this Dagster version, kept out of Dagster's listing.
        assert len(list((tmp_path / "pooled" / ".run-template").glob("dagster-*.db"))) == 1
        assert sorted(p.name for p in (tmp_path / "pooled").glob("*.db")) == ["index.db", "run-one.db", "run-two.db"]
        assert not list((tmp_path / "pooled").rglob("*.new"))  # no staged copy left behind
        expected = _schema(stock.path_for_shard("run-one"))
        assert expected[0] and expected[1]
        assert _schema(pooled.path_for_shard("run-one")) == expected
        assert _schema(pooled.path_for_shard("run-two")) == expected
    finally:
        pooled.dispose()
        stock.dispose()


def test_an_existing_runs_event_database_is_never_replaced(tmp_path):
    pooled = PooledSqliteEventLogStorage(str(tmp_path))
    try:
        with pooled._connect("run-one") as conn:
            conn.exec_driver_sql("create table kept (x integer)")
        restarted = PooledSqliteEventLogStorage(str(tmp_path))
        try:
            with restarted._connect("run-one") as conn:
                assert conn.exec_driver_sql("select count(*) from kept").fetchone() == (0,)
        finally:
            restarted.dispose()
    finally:
        pooled.dispose()


def test_without_hard_links_or_a_template_dagster_creates_the_database_itself(tmp_path, monkeypatch):
    import os

    import iom_pipeline.instance_storage as storage

    def no_hard_links(*_args):
        raise PermissionError("hard links are not supported here")

    monkeypatch.setattr(os, "link", no_hard_links)
    assert _new_run_database(tmp_path / "no-links") == 0
    assert _schema(tmp_path / "no-links" / "run-one.db")[1]  # stamped by Dagster's own _initdb
    assert not list((tmp_path / "no-links").rglob("*.new"))

    # A damaged template is noticed and made again.
    template_dir = tmp_path / "damaged" / storage.SHARD_TEMPLATE_DIR
    template_dir.mkdir(parents=True)
    from dagster.version import __version__

    (template_dir / f"dagster-{__version__}.db").write_bytes(b"not a database")
    monkeypatch.undo()
    storage._CHECKED_TEMPLATES.clear()
    assert _new_run_database(tmp_path / "damaged") == 0
    assert _schema(template_dir / f"dagster-{__version__}.db")[1]
