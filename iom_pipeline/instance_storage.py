"""Dagster's SQLite instance storage, with its database connections kept open.

Dagster's own SQLite storages create an engine, open a connection, commit with a full fsync and
close the file again for every event they record. A survey-year run records about 200 events, and
that alone cost 3-4 s of a run whose data work takes 2 s. These subclasses keep one pooled engine
per database file and commit with SQLite's `synchronous=NORMAL`, which in the WAL mode Dagster
already uses cannot corrupt a database or lose a committed event when the process is killed; only
a power cut can lose the last few events of the run that was writing. A run's new event database
is copied from an empty one that Dagster's own code created and stamped, once per Dagster version.

The files, tables and schema are Dagster's own, untouched: the webserver, the daemon and
`dagster` CLI commands read and write them as usual, and `dagster.yaml` can switch back to the
stock storage (or PostgreSQL, `dagster.postgres.yaml`) at any time.
"""

import os
import shutil
import sqlite3
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import closing, contextmanager

from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS, create_db_conn_string
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.engine import Connection, Engine

# Where the empty run database new runs' databases are copied from (a subdirectory, so that
# Dagster, which lists `<run_id>.db` files in the event log directory, never sees it).
SHARD_TEMPLATE_DIR = ".run-template"
_CHECKED_TEMPLATES: set[str] = set()  # templates this process has checked
# Run-sharded event databases whose engines stay open: the running run's, plus a few the
# webserver is reading. Older ones are closed.
OPEN_RUN_SHARDS = 8


def _pooled_engine(conn_string: str) -> Engine:
    engine = create_engine(
        conn_string,
        pool_size=2,
        max_overflow=4,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _relaxed_sync(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        self._tables_seen: set[str] = set()
        super().__init__(base_dir, inst_data)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.pop(shard, None) or _pooled_engine(self.conn_string_for_shard(shard))
            self._engines[shard] = engine
            while len(self._engines) > OPEN_RUN_SHARDS + 1:
                _, oldest = self._engines.popitem(last=False)
                oldest.dispose()
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # As Dagster's own _connect, with the engine reused instead of created and disposed.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                if shard == INDEX_SHARD_NAME or not self._new_shard_from_template(shard):
                    self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def _new_shard_from_template(self, shard: str) -> bool:
        """Create a run's new event database as a copy of an empty one; False (and Dagster's own
        creation) if the database already exists or the copy cannot be made.

        Dagster creates every run's database from scratch, and stamps it with the schema version by
        loading all of its Alembic migration scripts: 0.2 s of every run. The copy is of a database
        Dagster itself created and stamped, once per Dagster version (`_shard_template`).
        """
        path = self.path_for_shard(shard)
        if os.path.exists(path):
            return False
        template = self._shard_template()
        if template is None:
            return False
        fd, staged = tempfile.mkstemp(dir=self._base_dir, prefix=f".{shard}.", suffix=".new")
        os.close(fd)
        try:
            shutil.copyfile(template, staged)
            os.link(staged, path)  # never replaces: a database that appeared meanwhile is left alone
        except OSError:  # it did appear, or no hard links here: Dagster creates it as usual
            return False
        finally:
            os.unlink(staged)
        return True

    def _shard_template(self) -> str | None:
        """An empty run database made by Dagster's own `_initdb` for this Dagster version, checked
        once per process (and made again if it is not what it should be); None if it cannot be."""
        from dagster.version import __version__

        directory = os.path.join(self._base_dir, SHARD_TEMPLATE_DIR)
        template = os.path.join(directory, f"dagster-{__version__}.db")
        if template in _CHECKED_TEMPLATES:
            return template
        if not _initialised(directory, os.path.basename(template)[: -len(".db")], ("event_logs",)):
            try:
                self._make_shard_template(directory, template)
            except (OSError, sqlite3.Error, SQLAlchemyError):
                return None
        _CHECKED_TEMPLATES.add(template)
        return template

    def _make_shard_template(self, directory: str, template: str) -> None:
        os.makedirs(directory, exist_ok=True)
        fd, staged = tempfile.mkstemp(dir=directory, suffix=".new")
        os.close(fd)
        os.unlink(staged)  # SQLite creates it
        engine = create_engine(f"sqlite:///{os.path.abspath(staged)}")
        try:
            self._initdb(engine)
            with engine.connect() as conn:  # everything into the file itself, none left in -wal
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            os.replace(staged, template)
        finally:
            engine.dispose()
            for leftover in (staged, f"{staged}-wal", f"{staged}-shm"):
                if os.path.exists(leftover):
                    os.unlink(leftover)
        for other in os.listdir(directory):  # other Dagster versions' templates are never used again
            if other.endswith(".db") and os.path.join(directory, other) != template:
                os.unlink(os.path.join(directory, other))

    def has_table(self, table_name: str) -> bool:
        # Dagster asks before every dynamic-partition lookup (about 200 times a run), with a new
        # engine each time. Tables are never dropped outside wipe(), so a table seen stays seen.
        if table_name in self._tables_seen:
            return True
        with self._engine(INDEX_SHARD_NAME).connect() as conn:
            found = bool(conn.dialect.has_table(conn, table_name))
        if found:
            self._tables_seen.add(table_name)
        return found

    def _dispose_engines(self) -> None:
        self._tables_seen.clear()
        with self._engines_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def wipe(self) -> None:
        # Wiping deletes the shard files: no connection may outlive them.
        self._dispose_engines()
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._dispose_engines()


class _SingleEngine:
    """Dagster's run and schedule storages with one engine kept open, opened without Dagster's
    Alembic scan when their database (`_DATABASE`.db, with `_TABLES`) already exists."""

    _conn_string: str
    _DATABASE: str
    _TABLES: tuple[str, ...]

    @classmethod
    def from_local(cls, base_dir: str, inst_data: ConfigurableClassData | None = None):
        if _initialised(base_dir, cls._DATABASE, cls._TABLES):
            return cls(create_db_conn_string(base_dir, cls._DATABASE), inst_data)
        return super().from_local(base_dir, inst_data)  # type: ignore[misc]

    @property
    def _pooled(self) -> Engine:
        engine = self.__dict__.get("_pooled_engine")
        if engine is None:
            engine = self.__dict__["_pooled_engine"] = _pooled_engine(self._conn_string)
        return engine

    @contextmanager
    def connect(self, *_args) -> Iterator[Connection]:
        with self._pooled.connect() as conn:
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        super().dispose()  # type: ignore[misc]
        engine = self.__dict__.pop("_pooled_engine", None)
        if engine is not None:
            engine.dispose()


def _initialised(base_dir: str, name: str, tables: tuple[str, ...]) -> bool:
    """True when `<base_dir>/<name>.db` exists with its schema stamped and the given tables.

    Dagster's from_local checks this by loading every Alembic migration script (about 0.2 s per
    database, on every run) in order to create and stamp a new database; an existing one needs
    none of that (upgrades are `dagster instance migrate`'s job, as with the stock storage).
    """
    path = os.path.join(base_dir, f"{name}.db")
    if not os.path.exists(path):
        return False
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT_SECONDS)) as conn:
            present = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
            stamped = "alembic_version" in present and conn.execute("select count(*) from alembic_version").fetchone()[0] > 0
    except sqlite3.Error:
        return False
    return stamped and set(tables) <= present


class PooledSqliteRunStorage(_SingleEngine, SqliteRunStorage):
    _DATABASE, _TABLES = "runs", ("runs", "instance_info")


class PooledSqliteScheduleStorage(_SingleEngine, SqliteScheduleStorage):
    _DATABASE, _TABLES = "schedules", ("jobs", "job_ticks")


class PooledSqliteStorage(DagsterSqliteStorage):
    """The instance's `storage:` in dagster.yaml: Dagster's SQLite layout under `base_dir`."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        # DagsterSqliteStorage.__init__ builds the stock storages; build the pooled ones instead.
        self.base_dir = base_dir
        self._run_storage = PooledSqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = PooledSqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value) -> "PooledSqliteStorage":
        return cls.from_local(inst_data=inst_data, **config_value)

