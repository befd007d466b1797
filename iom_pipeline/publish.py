"""Atomic publication: a year's files and the BI snapshot change all at once, or not at all.

Everything is first written under `$IOM_DATA_DIR/work/` (same filesystem as `publication/`),
and only moved into place by the final publication step, after every blocking check passed:
- `publication/<year>/` is exchanged with the staged directory in one `renameat2` call
  (RENAME_EXCHANGE), so a reader sees the old or the new directory, never a mix or nothing;
- `publication/iom_marts.duckdb` is rebuilt as a new file and renamed over the old one, so a BI
  tool holding the old file open keeps reading a consistent snapshot and never blocks a run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
from pathlib import Path

import duckdb

from iom_pipeline.paths import bi_snapshot_path, publication_dir, work_dir
from iom_pipeline.sql_models import discover_models, ident
from iom_pipeline.warehouse import replace_year_rows

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def staging_dir(year: int, run_id: str) -> Path:
    path = work_dir() / "publication" / f"{int(year)}-{run_id}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _fsync_tree(path: Path) -> None:
    for root, _dirs, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2). False where the system cannot."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result != 0:
        errno = ctypes.get_errno()
        if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this filesystem cannot exchange
            return False
        raise OSError(errno, os.strerror(errno), str(b))
    return True


def publish_directory(staged: Path, year: int) -> Path:
    """Move a complete staged publication into `publication/<year>/` in one step."""
    target = publication_dir(year)
    target.parent.mkdir(parents=True, exist_ok=True)
    _fsync_tree(staged)
    if not target.exists():
        os.rename(staged, target)
    elif _exchange(staged, target):
        shutil.rmtree(staged)  # now holds the previous publication
    else:
        # Fallback: two renames; a crash between them leaves the previous version beside it.
        previous = staged.with_name(staged.name + ".previous")
        os.rename(target, previous)
        os.rename(staged, target)
        shutil.rmtree(previous)
    _fsync_dir(target.parent)
    return target


def mart_tables() -> list[tuple[str, str]]:
    """(table, partition column) of every mart model."""
    return [(m.table, m.year_column) for m in discover_models().values() if m.layer == "marts"]


def write_bi_snapshot(con: duckdb.DuckDBPyConnection, year: int, run_id: str) -> Path:
    """Replace one year's rows of the BI snapshot's marts; other years stay as last published."""
    target = bi_snapshot_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = work_dir() / "snapshot" / f"iom_marts-{run_id}.duckdb"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (scratch, scratch.with_suffix(".duckdb.wal")):
        leftover.unlink(missing_ok=True)
    if target.exists():
        shutil.copyfile(target, scratch)
    con.execute("attach ? as snapshot", [str(scratch)])
    try:
        con.execute("create schema if not exists snapshot.marts")
        for table, year_column in mart_tables():
            # the same year-scoped replace as the warehouse's own models
            replace_year_rows(
                con,
                f"snapshot.{table}",
                f"select * from {table} where {ident(year_column)} = {int(year)}",
                year,
                year_column,
            )
        con.execute("checkpoint snapshot")
    finally:
        con.execute("detach snapshot")
    with open(scratch, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(scratch, target)
    _fsync_dir(target.parent)
    return target
