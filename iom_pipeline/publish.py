"""Atomic publication: a year's files and the BI snapshot change all at once, or not at all.

Everything is first written under `$IOM_DATA_DIR/work/` (same filesystem as `publication/`),
and only moved into place by the final publication step, after every blocking check passed:
- `publication/<year>/` is exchanged with the staged directory in one `renameat2` call
  (RENAME_EXCHANGE), so a reader sees the old or the new directory, never a mix or nothing;
- `publication/iom_marts.duckdb` is rebuilt as a new file, in a storage version every DuckDB
  1.x client reads (`SNAPSHOT_STORAGE_VERSION`), with each table's and column's description
  from the data dictionary, and renamed over the old one, so a BI tool holding the old file
  open keeps reading a consistent snapshot and never blocks a run;
- `publication/marts/<table>.parquet`, every mart with all years, is written from that new
  snapshot into a new directory, which is exchanged with `publication/marts/` like a year's
  directory.

Order: the snapshot and its Parquet files are staged (written and fsynced) first; then the
year's directory is swapped in (`publish_directory`); then the Parquet directory; and the
snapshot is renamed last (`commit_bi_snapshot`). The snapshot is what the next run carries the
other years over from, so its rename is the commit point: a run stopped before it leaves the
previous snapshot beside either publication of the year, never a snapshot ahead of the files;
the Parquet files are rewritten whole at every publication, so a stop between the last two
steps leaves them at most one publication ahead until the next run.

A stop signal (SIGINT, SIGTERM) that arrives during the swaps is held (`stops.stop_signals_held`,
in the publication step): a stopped run leaves the previous publication or this one, whole.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from iom_pipeline.dictionary import column_descriptions, table_description
from iom_pipeline.mart_digests import (
    PERSONAL_VALUES_CHECK,
    ROWS,
    checked,
    digests,
    mart_digests,
    mart_tables,
)
from iom_pipeline.paths import bi_snapshot_path, publication_dir, work_dir
from iom_pipeline.personal_data import (
    PersonalDataFound,
    comment_texts,
    describe_findings,
    find_in_located,
    parquet_metadata_texts,
)
from iom_pipeline.quality.sql_checks import discover_checks, evaluate
from iom_pipeline.sql_models import ident, lit
from iom_pipeline.warehouse import column_types, replace_year_rows, table_exists

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100

# Storage version 64, the only one DuckDB 1.0 and 1.1 read (and every later 1.x and 2.x, and
# 0.10): the DuckDB that BI tools embed lags the pipeline's. Newer versions (65 from 1.2, the
# 2.0 format) are refused by those clients.
SNAPSHOT_STORAGE_VERSION = "v1.0.0"
# Aliases of the snapshots while they are attached to the warehouse connection.
_NEW, _OLD = "bi_snapshot_new", "bi_snapshot_old"


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


def _swap_into_place(staged: Path, target: Path) -> Path:
    """Make the complete directory `staged` become `target` in one step; the old one is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _fsync_tree(staged)
    if not target.exists():
        os.rename(staged, target)
    elif _exchange(staged, target):
        shutil.rmtree(staged)  # now holds the previous version
    else:
        # Fallback: two renames; a crash between them leaves the previous version beside it.
        previous = staged.with_name(staged.name + ".previous")
        os.rename(target, previous)
        os.rename(staged, target)
        shutil.rmtree(previous)
    _fsync_dir(target.parent)
    return target


def publish_directory(staged: Path, year: int) -> Path:
    """Move a complete staged publication into `publication/<year>/` in one step."""
    return _swap_into_place(staged, publication_dir(year))


def _parquet_path(directory: Path, table: str) -> Path:
    """A mart's Parquet file: `marts.csp_return` -> `<directory>/csp_return.parquet`."""
    return directory / f"{table.split('.')[-1]}.parquet"


def marts_parquet_dir() -> Path:
    """`publication/marts/`: one Parquet file per mart, all years, beside the BI snapshot."""
    return publication_dir() / "marts"


def _detach(con: duckdb.DuckDBPyConnection, *aliases: str) -> None:
    for alias in aliases:
        con.execute(f"detach database if exists {alias}")


def _clear_leftovers(scratch_dir: Path) -> None:
    """Scratch files of publications that never finished (one writer at a time: none is running)."""
    for leftover in scratch_dir.glob("iom_marts-*"):
        leftover.unlink(missing_ok=True)
    for leftover in scratch_dir.glob("marts-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _describe(con: duckdb.DuckDBPyConnection, table: str, year_column: str, year: int) -> dict[str, str]:
    """Comment the snapshot's table and its columns from the data dictionary; returns the columns'."""
    qualified = f"{_NEW}.{table}"
    con.execute(f"comment on table {qualified} is {lit(table_description(table))}")
    # Question texts as the newest year published asked them, whichever year this run is.
    newest = con.execute(f"select max({ident(year_column)}) from {qualified}").fetchall()[0][0]
    descriptions = column_descriptions(con, qualified, max(int(year), int(newest or year)))
    for column, text in descriptions.items():
        if text:
            con.execute(f"comment on column {qualified}.{ident(column)} is {lit(text)}")
    return descriptions


def _write_parquet(con: duckdb.DuckDBPyConnection, table: str, descriptions: dict[str, str], path: Path) -> None:
    # Parquet has no column comments: the descriptions travel as the file's key-value metadata.
    # Format version 1 and snappy: what the widest range of readers (BI tools included) accept.
    con.execute(
        f"copy (select * from {_NEW}.{table}) to {lit(str(path))} "
        "(format parquet, compression snappy, parquet_version v1, "
        "kv_metadata {description: ?, column_descriptions: ?})",
        [table_description(table), json.dumps(descriptions, ensure_ascii=False)],
    )


@dataclass(frozen=True)
class StagedSnapshot:
    """A new BI snapshot and its Parquet files, written and fsynced under work/, not yet in place."""

    scratch: Path
    parquet: Path


class CopyDiffers(RuntimeError):
    """A copy about to be published (the BI snapshot, a Parquet file) is not the marts' rows that
    the blocking checks passed: it is not published."""


def _compare(con: duckdb.DuckDBPyConnection, table: str, expected: dict, copy: str, year_column: str, year: int) -> list[str]:
    """Columns of `copy` whose year rows differ from `expected` (digests of the warehouse's
    `table`; '(rows)': how many). A column only the copy has (another year's question) must be
    empty in the year's rows."""
    ours = column_types(con, table)
    theirs = column_types(con, copy)
    differing = [c for c in expected if c != ROWS and c not in theirs]
    common = {c: ours.get(c, theirs[c]) for c in expected if c != ROWS and c in theirs}
    got = digests(con, copy, common, year_column, year)
    differing += [c for c in got if got[c] != expected.get(c)]
    extra = [c for c in theirs if c not in expected]
    if extra:
        filled = con.execute(
            f"select {', '.join(f'count({ident(c)})' for c in extra)} from {copy} where {ident(year_column)} = ?",
            [int(year)]).fetchall()[0]
        differing += [c for c, n in zip(extra, filled) if n]
    return differing


def _checked_marts(con: duckdb.DuckDBPyConnection, year: int, run_id: str) -> dict[str, dict]:
    """The digests this run's personal-data check recorded when it passed; when it did not run
    in this run (the publication launched on its own), it runs now, on the marts as they are."""
    recorded = checked(con, year, run_id)
    if recorded is not None:
        return recorded
    check = next(c for c in discover_checks() if c.name == PERSONAL_VALUES_CHECK)
    outcome = evaluate(con, check, year)
    if not outcome.passed:
        raise PersonalDataFound(f"not published: the marts do not pass {check.name} "
                                f"({outcome.offending_rows} finding(s)); run the year's checks")
    return mart_digests(con, year)


def _differences(con: duckdb.DuckDBPyConnection, expected: dict[str, dict], year: int, copy_of) -> list[str]:
    """`place.column` for each column of each mart's copy that differs from `expected`;
    `copy_of(table)` gives the copy's place (as reported) and the relation to read it from."""
    places = []
    for table, year_column in mart_tables():
        place, relation = copy_of(table)
        places += [f"{place}.{column}" for column in _compare(con, table, expected.get(table, {}), relation, year_column, year)]
    return places


def write_bi_snapshot(con: duckdb.DuckDBPyConnection, year: int, run_id: str) -> Path:
    """Stage the year's new BI snapshot and move it into place at once (see stage_bi_snapshot)."""
    return commit_bi_snapshot(stage_bi_snapshot(con, year, run_id))


def stage_bi_snapshot(con: duckdb.DuckDBPyConnection, year: int, run_id: str) -> StagedSnapshot:
    """Replace one year's rows of the BI snapshot's marts; other years stay as last published.

    The new snapshot is a new file: the other years are copied from the previous snapshot (not
    the warehouse, which may hold rows of runs that failed their checks), the year's rows from
    the warehouse. A previous snapshot in another storage version (the 2.0 format written before)
    is read like any other, so it is upgraded on the way. The Parquet files are written from the
    new snapshot, then both are moved into place (see the module's docstring for the order).
    """
    target = bi_snapshot_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch_dir = work_dir() / "snapshot"
    scratch_dir.mkdir(parents=True, exist_ok=True)
    _clear_leftovers(scratch_dir)
    scratch = scratch_dir / f"iom_marts-{run_id}.duckdb"
    parquet_staged = scratch_dir / f"marts-{run_id}"
    parquet_staged.mkdir()

    _detach(con, _NEW, _OLD)  # left by an earlier attempt in this session that failed
    con.execute(f"attach ? as {_NEW} (storage_version {lit(SNAPSHOT_STORAGE_VERSION)})", [str(scratch)])
    try:
        previous = target.exists()
        if previous:
            con.execute(f"attach ? as {_OLD} (read_only)", [str(target)])
        con.execute(f"create schema {_NEW}.marts")
        descriptions = {}
        for table, year_column in mart_tables():
            if previous and table_exists(con, f"{_OLD}.{table}"):
                con.execute(
                    f"create table {_NEW}.{table} as select * from {_OLD}.{table} "
                    f"where {ident(year_column)} is distinct from {int(year)}"
                )
            # the same year-scoped replace as the warehouse's own models
            replace_year_rows(
                con,
                f"{_NEW}.{table}",
                f"select * from {table} where {ident(year_column)} = {int(year)}",
                year,
                year_column,
            )
            descriptions[table] = _describe(con, table, year_column, year)
        _detach(con, _OLD)
        con.execute(f"checkpoint {_NEW}")
        for table, _year_column in mart_tables():
            _write_parquet(con, table, descriptions[table], _parquet_path(parquet_staged, table))
        # Rule 7, the last look before anything is renamed into place. The year's rows of the
        # snapshot and of its Parquet files must be the marts' rows that the blocking checks just
        # scanned (no_personal_values_outside_raw): shown column by column with digests, which
        # costs a fraction of scanning the copies again and catches any change, not only a
        # personal value. What the copies add, the descriptions, is scanned.
        parquet_files = sorted(parquet_staged.glob("*.parquet"))
        expected = _checked_marts(con, year, run_id)

        def parquet_copy(table: str) -> tuple[str, str]:
            path = _parquet_path(parquet_staged, table)
            return path.name, f"read_parquet({lit(str(path))})"

        changed = [f"the BI snapshot: {place}"
                   for place in _differences(con, expected, year, lambda table: (table, f"{_NEW}.{table}"))]
        changed += [f"the Parquet marts: {place}" for place in _differences(con, expected, year, parquet_copy)]
        found = find_in_located(con, [comment_texts(_NEW), parquet_metadata_texts(parquet_files)], year)
    finally:
        _detach(con, _NEW, _OLD)
    if changed or found:
        scratch.unlink(missing_ok=True)
        shutil.rmtree(parquet_staged, ignore_errors=True)
    if changed:
        raise CopyDiffers("not published: " + "; ".join(changed) + " (not the rows the blocking checks passed)")
    if found:
        snapshot = [f for f in found if not str(f[0]).endswith(".parquet")]
        parquet = [f for f in found if str(f[0]).endswith(".parquet")]
        where = [f"the BI snapshot: {describe_findings(snapshot)}"] if snapshot else []
        where += [f"the Parquet marts: {describe_findings(parquet)}"] if parquet else []
        raise PersonalDataFound(f"not published, respondents' personal data (rule 7) in {'; '.join(where)}")
    with open(scratch, "rb") as fh:
        os.fsync(fh.fileno())
    return StagedSnapshot(scratch, parquet_staged)


def commit_bi_snapshot(staged: StagedSnapshot) -> Path:
    """Move a staged snapshot into place: the Parquet files first, the snapshot's rename last (the
    commit point: the next run copies the other years from whatever snapshot is in place)."""
    target = bi_snapshot_path()
    _swap_into_place(staged.parquet, marts_parquet_dir())
    os.replace(staged.scratch, target)
    _fsync_dir(target.parent)
    return target
