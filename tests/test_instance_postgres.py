"""The PostgreSQL instance (dagster.postgres.yaml) with a real PostgreSQL server.

Starts a throwaway server from the Debian packages (/usr/lib/postgresql/<version>/bin) on
127.0.0.1 and a free port, with its data and unix socket in a temporary directory; as root it runs
as the `postgres` user (or `nobody`), since initdb refuses to run as root. A DAGSTER_HOME holding
dagster.postgres.yaml, configured only through the DAGSTER_PG_* variables, then serves a whole
`iom run` of one survey year, and the run, its partition, its asset materialisations and its
check results must be found in PostgreSQL, with no SQLite database written.

Skipped, with the cause, only where the PostgreSQL server is genuinely absent and cannot be
installed: its binaries are missing and the tests do not run as root (`make system-deps`
installs the `postgresql` package as root) and CI is not set. Anywhere else (installed, or root,
or CI=true) a server that fails to start fails the test. The server is stopped whatever happens.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from exports import row, write_landing
from iom_pipeline.paths import PROJECT_ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

YEAR = "2013"
DATABASE = "dagster_iom"
SUPERUSER = "iom"
READY_TIMEOUT = 60  # seconds for the server to accept connections


class ServerUnavailable(Exception):
    """No PostgreSQL server could be started on this machine."""


def _server_installed() -> bool:
    if glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return True
    return bool(shutil.which("initdb") and shutil.which("postgres"))


def may_skip_without_server() -> bool:
    """Only where the package is genuinely absent and this user could not have installed it:
    no server binaries, not root, and not CI (CI=true never skips)."""
    return not _server_installed() and os.geteuid() != 0 and os.environ.get("CI", "").lower() not in ("true", "1", "yes")


@dataclass
class Server:
    host: str
    port: int
    user: str
    password: str
    socket_dir: Path

    def connect(self, dbname: str = "postgres"):
        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                dbname=dbname, connect_timeout=5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bindir() -> Path:
    """The newest installed server's bin directory (Debian keeps initdb and postgres off the PATH)."""
    def version(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", Path(path).parent.parent.name))

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb and shutil.which("postgres"):
        return Path(initdb).resolve().parent
    raise ServerUnavailable("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb); "
                            "`make system-deps` installs the `postgresql` package")


def _server_account() -> dict:
    """Popen arguments to run the server as an unprivileged user when the tests run as root."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [],
                "_uid": account.pw_uid, "_gid": account.pw_gid}
    raise ServerUnavailable("running as root and neither a `postgres` nor a `nobody` account exists for initdb")


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def _stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Fast shutdown (SIGINT) of the postmaster, then SIGKILL to whatever is left of its group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _wait_ready(server: Server, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            server.connect().close()
            return True
        except psycopg2.OperationalError:
            time.sleep(0.3)
    return False


@contextmanager
def postgres_server():
    bindir = _pg_bindir()
    account = _server_account()
    uid, gid = account.pop("_uid", None), account.pop("_gid", None)
    # Not under pytest's tmp_path: its parents are private to the user running the tests.
    base = Path(tempfile.mkdtemp(prefix="iom-pg-"))
    proc = None
    try:
        if uid is not None:
            os.chown(base, uid, gid)
        data, sockets, log = base / "data", base / "sockets", base / "server.log"
        password = secrets.token_urlsafe(16)
        pwfile = base / "pwfile"
        pwfile.write_text(password + "\n")
        sockets.mkdir()
        for path in (pwfile, sockets):
            if uid is not None:
                os.chown(path, uid, gid)
        pwfile.chmod(0o600)

        init = subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--pwfile", str(pwfile),
             "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
            capture_output=True, text=True, timeout=180, cwd=base, **account,
        )
        if init.returncode != 0:
            raise ServerUnavailable(f"initdb failed ({init.returncode}): {init.stderr.strip()[-1500:]}")

        for _attempt in range(3):  # another process may take the free port before the server binds it
            port = _free_port()
            log_start = log.stat().st_size if log.exists() else 0
            with log.open("ab") as log_fh:
                proc = subprocess.Popen(
                    [str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
                     "-k", str(sockets), "-c", "fsync=off", "-c", "synchronous_commit=off",
                     "-c", "full_page_writes=off"],
                    stdin=subprocess.DEVNULL, stdout=log_fh, stderr=subprocess.STDOUT,
                    start_new_session=True, cwd=base, **account,
                )
            server = Server("127.0.0.1", port, SUPERUSER, password, sockets)
            if _wait_ready(server, proc, READY_TIMEOUT):
                break
            output = log.read_bytes()[log_start:].decode(errors="replace")
            if proc.poll() is None:
                _stop(proc)
                raise ServerUnavailable(f"PostgreSQL did not accept connections within {READY_TIMEOUT} s:\n"
                                        f"{output[-3000:]}")
            if "could not bind" not in output and "could not create any TCP/IP sockets" not in output:
                raise ServerUnavailable(f"PostgreSQL exited with status {proc.returncode}:\n{output[-3000:]}")
        else:
            raise ServerUnavailable(f"PostgreSQL could not bind a free port:\n{_tail(log)}")
        yield server
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres():
    """A running server with an empty database for Dagster. A server that cannot start fails the
    test; it skips (with the cause) only where `may_skip_without_server()`."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(postgres_server())
        except ServerUnavailable as exc:
            if may_skip_without_server():
                pytest.skip(f"PostgreSQL is not installed and this user (not root, not CI) cannot install it: {exc}")
            pytest.fail(f"cannot start a PostgreSQL server (installed: {_server_installed()}, "
                        f"root: {os.geteuid() == 0}, CI: {os.environ.get('CI', '')!r}): {exc}", pytrace=False)
        conn = server.connect()
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {DATABASE}")
        finally:
            conn.close()
        yield server


def test_pipeline_run_is_recorded_in_postgres(postgres, tmp_path, monkeypatch):
    server = postgres
    data = tmp_path / "data"
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.postgres.yaml", home / "dagster.yaml")
    write_landing(data / "landing" / YEAR, [row(1, "E22000001", "", q1_iom_in_place="Yes", a1_agency_police="Police")])

    pg_env = {
        "DAGSTER_PG_USERNAME": server.user,
        "DAGSTER_PG_PASSWORD": server.password,
        "DAGSTER_PG_HOST": server.host,
        "DAGSTER_PG_DB": DATABASE,
        "DAGSTER_PG_PORT": str(server.port),
    }
    env = {**os.environ, **pg_env, "IOM_DATA_DIR": str(data), "DAGSTER_HOME": str(home)}
    # The command operators use; it reads the instance from DAGSTER_HOME.
    result = subprocess.run([str(Path(sys.executable).parent / "iom"), "run", "--year", YEAR],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"iom run failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    assert (data / "publication" / YEAR / "report.html").is_file()

    # Read the history back through a Dagster instance built from the same configuration.
    for key, value in {**pg_env, "IOM_DATA_DIR": str(data), "DAGSTER_HOME": str(home)}.items():
        monkeypatch.setenv(key, value)
    from dagster import AssetRecordsFilter, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    from iom_pipeline.definitions import defs, survey_year_job

    asset_keys = set(defs.resolve_all_asset_keys())
    check_keys = set(defs.resolve_asset_graph().asset_check_keys)
    with DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert instance.get_dynamic_partitions("survey_year") == [YEAR]

        runs = instance.get_runs(RunsFilter(job_name=survey_year_job.name, tags={"dagster/partition": YEAR}))
        assert len(runs) == 1
        run = runs[0]
        assert run.status == DagsterRunStatus.SUCCESS
        assert run.tags.get("iom/warehouse") == "writer"

        for key in asset_keys:
            records = instance.fetch_materializations(
                AssetRecordsFilter(asset_key=key, asset_partitions=[YEAR]), limit=1
            ).records
            assert records, f"no materialisation of {key.to_user_string()} recorded"
            assert records[0].run_id == run.run_id
        checks = instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION, limit=1000
        ).records
        evaluated = {r.event_log_entry.dagster_event.event_specific_data.asset_check_key for r in checks}
        assert evaluated == check_keys

    # And it really is PostgreSQL holding it, not a SQLite file beside the instance.
    conn = server.connect(DATABASE)
    try:
        with conn.cursor() as cur:
            cur.execute("select status from runs where run_id = %s", [run.run_id])
            assert cur.fetchall() == [("SUCCESS",)]
            cur.execute("select count(distinct asset_key) from event_logs "
                        "where run_id = %s and dagster_event_type = 'ASSET_MATERIALIZATION'", [run.run_id])
            assert cur.fetchone()[0] == len(asset_keys)
    finally:
        conn.close()
    assert not [p for p in home.rglob("*.db")], "SQLite storage was written beside the PostgreSQL instance"
