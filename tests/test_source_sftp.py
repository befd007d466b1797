"""Pulling the returns over SFTP from a real OpenSSH server (tests/sshd_server.py) serving the
synthetic sample: `iom pull`, `iom run --pull` end to end against the local path, the provenance
in the instance and the warehouse, the landing sensor on the served files, each fault with its
one-line message, and no secret anywhere."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

import iom_pipeline.source as source_module
from iom_pipeline.cli import main
from iom_pipeline.defs.survey.pull import PULLED
from iom_pipeline.landing import landed_year
from sshd_server import TEST_PASSWORD, free_port, keygen, make_server

YEAR = 2013
DATA_FILES = ("survey_export.csv", "frame.csv", "published.csv")


# -- the server and what it serves --------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """sshd on 127.0.0.1; a server that is installed but does not start fails the tests."""
    ssh = make_server(tmp_path_factory.mktemp("sshd"))
    ssh.start()
    yield ssh
    ssh.stop()


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """`iom sample --year 2013` into a folder of its own: `<sample>/2013/`."""
    data = tmp_path_factory.mktemp("sample")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IOM_DATA_DIR", str(data))
        assert main(["sample", "--year", str(YEAR)]) == 0
    return data / "landing"


def serve(sample: Path, folder: Path) -> Path:
    """A copy of the sample to serve (file times kept), for a test that changes what is served."""
    shutil.copytree(sample, folder)
    return folder


def use(monkeypatch, data: Path, server, served: Path, password: str | None = TEST_PASSWORD, **options) -> str:
    """IOM_DATA_DIR, DAGSTER_HOME and the source (IOM_SOURCE_URL and IOM_SOURCE_OPTIONS) for a test."""
    url = server.url(served / "{year}", password)
    monkeypatch.setenv("IOM_DATA_DIR", str(data))
    monkeypatch.setenv("DAGSTER_HOME", str(data / "dagster_home"))
    monkeypatch.setenv("IOM_SOURCE_URL", url)
    monkeypatch.setenv("IOM_SOURCE_OPTIONS", json.dumps(server.options(**options)))
    monkeypatch.setenv("IOM_LANDING_SETTLE_SECONDS", "0")
    return url


def redacted(server) -> str:
    return f"sftp://{server.user}:***@127.0.0.1:{server.port}"


def files_of(folder: Path) -> dict[str, tuple]:
    """Every file under `folder` with its bytes, inode and times: a rewrite changes them."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_ctime_ns)
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def touch_later(folder: Path, seconds: int = 120) -> None:
    """A new delivery of the same files: every modification time moves on."""
    for path in folder.iterdir():
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 1_000_000_000))


# -- iom pull -------------------------------------------------------------------------------------
def test_iom_pull_copies_the_served_year_records_provenance_and_leaves_an_unchanged_source_alone(
    tmp_path, monkeypatch, capsys, server, sample,
):
    data = tmp_path / "data"
    served = serve(sample, tmp_path / "served")
    use(monkeypatch, data, server, served)
    landing = data / "landing" / str(YEAR)

    assert main(["pull", "--year", str(YEAR)]) == 0
    out = capsys.readouterr().out
    assert f"iom pull: {YEAR}: copied survey_export.csv, frame.csv, published.csv, SYNTHETIC.txt" in out
    assert f"from {redacted(server)}{served}/{YEAR} into {landing}" in out
    for name in (*DATA_FILES, "SYNTHETIC.txt"):
        assert (landing / name).read_bytes() == (served / str(YEAR) / name).read_bytes()
        # the source's modification time, to the second SFTP gives
        assert (landing / name).stat().st_mtime_ns // 10**9 == (served / str(YEAR) / name).stat().st_mtime_ns // 10**9

    # The provenance as the UI shows it: the pull asset's materialisation and its metadata.
    with dg.DagsterInstance.get() as instance:
        (record,) = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=PULLED, asset_partitions=[str(YEAR)]), limit=5
        ).records
        metadata = record.asset_materialization.metadata
    assert metadata["source"].value == f"{redacted(server)}{served}/{YEAR}"
    assert metadata["action"].value == "copied"
    assert metadata["pulled_at"].value > 0
    table = {r.data["file"]: r.data for r in metadata["files"].value.records}
    assert set(table) == {*DATA_FILES, "SYNTHETIC.txt"}
    for name, entry in table.items():
        assert entry["sha256"] == sha256(served / str(YEAR) / name)
        assert entry["size_bytes"] == (served / str(YEAR) / name).stat().st_size
        assert entry["modified"].startswith("20")
    assert metadata["landing_fingerprint"].value == landed_year(landing).fingerprint

    # ... and in the warehouse.
    with duckdb.connect(str(data / "warehouse" / "iom.duckdb"), read_only=True) as con:
        rows = con.execute("select file_name, size_bytes, sha256, source, action from audit.source_file "
                           "where survey_year = ? order by file_name", [YEAR]).fetchall()
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == sorted(
        (n, sha256(served / str(YEAR) / n), f"{redacted(server)}{served}/{YEAR}", "copied") for n in table
    )

    # An unchanged source leaves the landing folder exactly as it is.
    (landing / "notes.txt").write_text("the analyst's own notes\n")
    before = files_of(landing)
    assert main(["pull", "--year", str(YEAR)]) == 0
    assert "unchanged at" in capsys.readouterr().out
    assert files_of(landing) == before

    # A file changed at the source is pulled again; the analyst's notes stay.
    frame = served / str(YEAR) / "frame.csv"
    frame.write_bytes(frame.read_bytes() + b"E22999999,Somewhere New\r\n")
    assert main(["pull"]) == 0  # every year at the source
    assert "copied" in capsys.readouterr().out
    assert (landing / "frame.csv").read_bytes() == frame.read_bytes()
    assert (landing / "notes.txt").read_text() == "the analyst's own notes\n"
    assert not any((data / "work" / "pull").iterdir())


# -- iom run --pull: the same publication as the local path -------------------------------------
@pytest.fixture(scope="module")
def published(tmp_path_factory, server, sample):
    """The sample published twice: from landing/ as `make run` does, and pulled over SFTP by
    `IOM_SOURCE_URL=sftp://... iom run --year 2013 --pull`. Yields (local data, SFTP data, output)."""
    local = tmp_path_factory.mktemp("local") / "data"
    over_sftp = tmp_path_factory.mktemp("sftp") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("IOM_SOURCE_URL", raising=False)
        mp.delenv("IOM_SOURCE_OPTIONS", raising=False)
        mp.setenv("IOM_DATA_DIR", str(local))
        mp.setenv("DAGSTER_HOME", str(local / "dagster_home"))
        shutil.copytree(sample, local / "landing")
        assert main(["run", "--year", str(YEAR), "--quiet"]) == 0
    with pytest.MonkeyPatch.context() as mp:
        use(mp, over_sftp, server, sample)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["run", "--year", str(YEAR), "--pull"])
        assert status == 0, err.getvalue()
    yield local, over_sftp, out.getvalue() + err.getvalue()


@pytest.mark.slow
def test_iom_run_pull_over_sftp_publishes_exactly_what_the_local_path_publishes(published, server, monkeypatch):
    local, over_sftp, output = published
    assert "landing/pulled" in output  # the pull ran as a step of the run
    for name in (*DATA_FILES, "SYNTHETIC.txt"):
        assert (over_sftp / "landing" / str(YEAR) / name).read_bytes() == (local / "landing" / str(YEAR) / name).read_bytes()

    csvs = sorted(p.name for p in (local / "publication" / str(YEAR)).glob("*.csv"))
    assert csvs and csvs == sorted(p.name for p in (over_sftp / "publication" / str(YEAR)).glob("*.csv"))
    for name in csvs:
        assert (over_sftp / "publication" / str(YEAR) / name).read_bytes() == \
            (local / "publication" / str(YEAR) / name).read_bytes(), name

    def marts(data: Path) -> dict:
        with duckdb.connect(str(data / "publication" / "iom_marts.duckdb"), read_only=True) as con:
            tables = [t for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()]
            return {t: sorted(map(repr, con.execute(f"select * from marts.{t}").fetchall())) for t in tables}

    local_marts = marts(local)
    assert local_marts and marts(over_sftp) == local_marts

    # The run's pull asset carries its provenance, the run's landing step the same fingerprint.
    monkeypatch.setenv("DAGSTER_HOME", str(over_sftp / "dagster_home"))
    with dg.DagsterInstance.get() as instance:
        (record,) = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=PULLED, asset_partitions=[str(YEAR)]), limit=5).records
        metadata = record.asset_materialization.metadata
    assert metadata["action"].value == "copied" and metadata["source"].value.startswith(redacted(server))
    assert metadata["landing_fingerprint"].value == landed_year(over_sftp / "landing" / str(YEAR)).fingerprint


# -- the landing sensor watches the served files -----------------------------------------------
class Sensor:
    def __init__(self, instance):
        self.instance, self.cursor = instance, None

    def tick(self) -> dict[str, str]:
        from iom_pipeline.defs.survey.schedules import landing_sensor

        result = landing_sensor(dg.build_sensor_context(instance=self.instance, cursor=self.cursor))
        assert isinstance(result, dg.SensorResult), result
        assert not result.skip_reason, result.skip_reason
        self.cursor = result.cursor
        for request in result.dynamic_partitions_requests or []:
            self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        return {r.partition_key: r.run_key for r in result.run_requests or []}


def rewrite(path: Path, extra: bytes) -> None:
    """A re-upload at the source: new content, a later modification time (SFTP keeps seconds)."""
    stat = path.stat()
    path.write_bytes(path.read_bytes() + extra)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))


def test_the_sensor_launches_one_run_when_a_served_file_changes_and_none_when_nothing_changed(
    tmp_path, monkeypatch, server, sample,
):
    served = serve(sample, tmp_path / "served")
    use(monkeypatch, tmp_path / "data", server, served)
    with dg.instance_for_test() as instance:
        sensor = Sensor(instance)
        assert sensor.tick() == {}  # first sighting
        ready = sensor.tick()
        assert list(ready) == [str(YEAR)] and ready[str(YEAR)].startswith(f"landing-{YEAR}-")
        assert not (tmp_path / "data" / "landing").exists()  # the sensor only looks; the run pulls
        for _ in range(2):
            assert sensor.tick() == ready  # nothing changed: the same run key, which Dagster runs once

        rewrite(served / str(YEAR) / "frame.csv", b"E22999999,Somewhere New\r\n")
        assert sensor.tick() == {}  # changed since the last tick: not yet stable
        changed = sensor.tick()
        assert list(changed) == [str(YEAR)] and changed[str(YEAR)] != ready[str(YEAR)]
        assert sensor.tick() == changed


@pytest.mark.slow
def test_a_year_published_from_the_served_files_launches_nothing_until_one_changes(
    tmp_path, monkeypatch, server, sample, published,
):
    _local, over_sftp, _output = published
    served = serve(sample, tmp_path / "served")  # the same files, the same times
    use(monkeypatch, over_sftp, server, served)
    with dg.DagsterInstance.get() as instance:
        sensor = Sensor(instance)  # a daemon starting afresh
        for _ in range(3):
            assert sensor.tick() == {}
        rewrite(served / str(YEAR) / "published.csv", b"")  # re-uploaded: same bytes, new time
        assert sensor.tick() == {}
        ready = sensor.tick()
        assert list(ready) == [str(YEAR)]
        assert sensor.tick() == ready


def test_an_unreachable_source_makes_the_sensor_skip_and_keep_its_cursor(tmp_path, monkeypatch, server, sample):
    from iom_pipeline.defs.survey.schedules import landing_sensor

    use(monkeypatch, tmp_path / "data", server, sample)
    monkeypatch.setenv("IOM_SOURCE_URL", f"sftp://{server.user}:{TEST_PASSWORD}@127.0.0.1:{free_port()}/srv/{{year}}")
    with dg.instance_for_test() as instance:
        result = landing_sensor(dg.build_sensor_context(instance=instance, cursor='{"2013": "abc"}'))
    message = result.skip_reason.skip_message
    assert "cannot reach the host" in message and TEST_PASSWORD not in message
    assert result.cursor == '{"2013": "abc"}' and not result.run_requests


# -- faults: one line naming the source and the file, exit 1, nothing touched -------------------
def _vanish(served: Path):
    def hook(original, source, file, dest):
        if file.name == "frame.csv":
            (served / str(YEAR) / "frame.csv").unlink()  # deleted at the source after it was listed
        return original(source, file, dest)
    return hook


def _cut_short(served: Path):
    def hook(original, source, file, dest):
        if file.name == "survey_export.csv":
            path = served / str(YEAR) / "survey_export.csv"
            path.write_bytes(path.read_bytes()[: file.size // 3])  # only a third is there to read
        return original(source, file, dest)
    return hook


FAULTS = {
    # fault: (what is named, what the message says)
    "unreachable host": (f"/{YEAR}", "cannot reach the host"),
    "refused key": (f"/{YEAR}", "the server refused the login with the key file"),
    "missing year folder": (f"/{YEAR}", "no such folder at the source"),
    "file vanishing during the copy": (f"/{YEAR}/frame.csv", "vanished during the copy"),
    "copy cut short": (f"/{YEAR}/survey_export.csv", "copy cut short"),
}


@pytest.fixture(scope="module")
def previous(tmp_path_factory, server, sample, published) -> Path:
    """A data directory whose 2013 was pulled and published before: what a fault must not touch."""
    _local, over_sftp, _output = published
    data = tmp_path_factory.mktemp("previous") / "data"
    for folder in ("landing", "publication", "warehouse"):
        shutil.copytree(over_sftp / folder, data / folder)
    return data


@pytest.mark.parametrize("command", ["pull", "run"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_ends_with_one_line_naming_the_source_and_file_and_touches_nothing(
    tmp_path, monkeypatch, capsys, server, sample, previous, fault, command,
):
    data = tmp_path / "data"
    shutil.copytree(previous, data)
    served = serve(sample, tmp_path / "served")
    touch_later(served / str(YEAR))  # a new delivery, so that the pull copies
    options = {}
    url = use(monkeypatch, data, server, served)
    if fault == "unreachable host":
        url = url.replace(f":{server.port}/", f":{free_port()}/")  # nothing listens there
    elif fault == "refused key":
        options = server.options(key_file=keygen(tmp_path / "unknown_key", "not-authorised"))
        monkeypatch.setenv("IOM_SOURCE_OPTIONS", json.dumps(options))
    elif fault == "missing year folder":
        shutil.rmtree(served / str(YEAR))
    elif fault in ("file vanishing during the copy", "copy cut short"):
        hook = (_vanish if fault.startswith("file vanishing") else _cut_short)(served)
        original = source_module.copy_file
        monkeypatch.setattr(source_module, "copy_file", lambda *a: hook(original, *a))
    landing, publication = files_of(data / "landing"), files_of(data / "publication")

    argv = ["pull", "--year", str(YEAR), "--source", url] if command == "pull" else \
        ["run", "--year", str(YEAR), "--pull", "--source", url, "--quiet"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    named, says = FAULTS[fault]
    prefix = redacted(server).replace(f":{server.port}", "") if fault == "unreachable host" else redacted(server)
    lines = [line for line in captured.err.splitlines() if says in line]
    assert len(lines) == 1, captured.err
    (line,) = lines
    assert prefix in line and f"{named}:" in line, line
    if command == "pull":
        assert captured.err.strip() == line  # the whole message is that one line
        assert line.startswith(f"iom pull: {YEAR}: FAILED: sftp://")
    else:
        assert "step landing__pulled failed" in line and "FAILED" in captured.err
    assert TEST_PASSWORD not in captured.out + captured.err

    assert files_of(data / "landing") == landing
    assert files_of(data / "publication") == publication
    assert not any((data / "work" / "pull").iterdir()) if (data / "work" / "pull").exists() else True


# -- no secret anywhere ------------------------------------------------------------------------
@pytest.mark.slow
def test_no_password_or_key_appears_in_any_log_metadata_message_or_output(
    tmp_path, monkeypatch, capsys, server, sample, published, previous,
):
    """The Dagster storage (run and event databases, compute logs), the warehouse, the landing
    folder and the publication of runs that pulled, and failed to pull, with a password in the
    URL and a key file; and everything they printed."""
    key_lines = [line for line in server.client_key.read_text().splitlines() if "PRIVATE KEY" not in line and len(line) > 16]
    assert key_lines
    secrets = [TEST_PASSWORD.encode(), *(line.encode() for line in key_lines)]

    data = tmp_path / "data"
    shutil.copytree(previous, data)
    served = serve(sample, tmp_path / "served")
    touch_later(served / str(YEAR))
    use(monkeypatch, data, server, served)
    assert main(["pull", "--year", str(YEAR)]) == 0
    monkeypatch.setenv("IOM_SOURCE_OPTIONS", json.dumps(server.options(key_file=keygen(tmp_path / "other", "x"))))
    assert main(["pull", "--year", str(YEAR)]) == 1  # refused key: the failure is in the event log too
    assert main(["run", "--year", str(YEAR), "--pull"]) == 1
    printed = capsys.readouterr()

    _local, over_sftp, output = published
    for text in (printed.out, printed.err, output):
        assert TEST_PASSWORD not in text and not any(line in text for line in key_lines)
    stored_redacted = False
    for folder in (data, over_sftp):
        assert (folder / "dagster_home").is_dir() and (folder / "warehouse" / "iom.duckdb").is_file()
        for path in folder.rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                leaked = [s for s in secrets if s in content]
                assert not leaked, f"{path} holds a secret"
                stored_redacted |= b":***@127.0.0.1" in content
    assert stored_redacted  # the search did look where the provenance is kept


def test_a_host_key_not_in_known_hosts_is_refused_without_quoting_any_file(tmp_path, monkeypatch, capsys, server, sample):
    """A first connection to an unknown host (or a changed host key) is refused, not trusted;
    a wrong file given as known_hosts (here the private key) is named, never quoted."""
    url = use(monkeypatch, tmp_path / "data", server, sample)
    (tmp_path / "known_hosts").write_text("")
    for known_hosts, says in ((tmp_path / "known_hosts", "is not in the known_hosts file"),
                              (server.client_key, "is not a known_hosts file")):
        monkeypatch.setenv("IOM_SOURCE_OPTIONS", json.dumps({**server.options(), "known_hosts": str(known_hosts)}))
        assert main(["pull", "--year", str(YEAR), "--source", url]) == 1
        err = capsys.readouterr().err
        assert "the host key is not trusted" in err and says in err, err
        key_lines = [line for line in server.client_key.read_text().splitlines() if "PRIVATE KEY" not in line]
        assert not any(line in err for line in key_lines) and TEST_PASSWORD not in err
    assert not (tmp_path / "data" / "landing").exists()


def test_linked_year_folders_and_files_on_the_server_are_followed(tmp_path, monkeypatch, capsys, server, sample):
    """Suppliers often publish a year as links to their export area: SFTP lists links as links."""
    served = tmp_path / "served"
    served.mkdir()
    real = serve(sample, tmp_path / "export-area")
    (served / str(YEAR)).symlink_to(real / str(YEAR))
    frame = real / str(YEAR) / "frame.csv"
    frame.rename(tmp_path / "frame-v2.csv")
    frame.symlink_to(tmp_path / "frame-v2.csv")
    use(monkeypatch, tmp_path / "data", server, served)
    assert main(["pull"]) == 0
    landing = tmp_path / "data" / "landing" / str(YEAR)
    assert (landing / "frame.csv").read_bytes() == (tmp_path / "frame-v2.csv").read_bytes()
    assert not (landing / "frame.csv").is_symlink()
    assert "copied survey_export.csv, frame.csv, published.csv" in capsys.readouterr().out
