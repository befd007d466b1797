"""The survey source without a server: URLs and their secrets, and pulls between local folders
(`file://`), the default being the landing folder itself. The SFTP server tests are in
test_source_sftp.py."""

from __future__ import annotations

import hashlib
import os
import tomllib
from pathlib import Path

import pytest

from exports import row, write_landing
from iom_pipeline.landing import landed_year
from iom_pipeline.paths import PROJECT_ROOT, landing_dir
from iom_pipeline.source import (
    FsspecSource,
    SourceConfigError,
    SourceError,
    _checksum,
    default_url,
    open_source,
    pull_year,
    redact,
)

ROWS = [row(1, "E22000001", "", q1_iom_in_place="Yes", a1_agency_police="Police")]


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("IOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("IOM_SOURCE_URL", raising=False)
    monkeypatch.delenv("IOM_SOURCE_OPTIONS", raising=False)
    return tmp_path / "data"


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every file under `folder`: its bytes, inode and change time (a rewrite changes them)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            out[str(path.relative_to(folder))] = (path.read_bytes(), stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns)
    return out


# -- URLs and secrets ----------------------------------------------------------------------------
def test_a_password_is_shown_as_stars_and_nothing_else_changes():
    assert redact("sftp://iom:s3cret@host:2222/exports/{year}") == "sftp://iom:***@host:2222/exports/{year}"
    assert redact("sftp://iom@host/exports/{year}") == "sftp://iom@host/exports/{year}"
    assert redact("s3://bucket/iom/{year}") == "s3://bucket/iom/{year}"
    assert redact("file:///srv/iom/{year}") == "file:///srv/iom/{year}"


def test_every_message_of_a_source_is_scrubbed_of_its_secrets():
    source = FsspecSource("sftp://iom:s3cret@host:2222/exports/{year}", {"passphrase": "open-sesame", "key_file": "/k"})
    assert source.url == "sftp://iom:***@host:2222/exports/{year}"
    text = source.scrub("failed for sftp://iom:s3cret@host:2222/exports/{year} with s3cret and open-sesame\nagain")
    assert text == "failed for sftp://iom:***@host:2222/exports/{year} with *** and *** again"  # one line


@pytest.mark.parametrize("url, options, problem", [
    ("file:///srv/iom/exports", None, "needs {year}"),
    ("nosuchstorage:///srv/{year}", None, "not a storage"),
    ("sftp://iom@host/{year}", {"host_key_policy": "trust-me"}, "host_key_policy"),
])
def test_an_unusable_source_is_a_usage_problem(data, url, options, problem):
    with pytest.raises(SourceConfigError, match=problem):
        FsspecSource(url, options)


def test_options_come_from_the_environment_as_json(data, monkeypatch):
    monkeypatch.setenv("IOM_SOURCE_OPTIONS", "{not json")
    with pytest.raises(SourceConfigError, match="IOM_SOURCE_OPTIONS is not valid JSON"):
        open_source()
    monkeypatch.setenv("IOM_SOURCE_OPTIONS", '["a list"]')
    with pytest.raises(SourceConfigError, match="JSON object"):
        open_source()


def test_the_cli_refuses_an_unusable_source_with_exit_2(data, capsys):
    from iom_pipeline.cli import main

    assert main(["pull", "--year", "2013", "--source", "file:///srv/no-year-here"]) == 2
    assert "needs {year}" in capsys.readouterr().err
    assert not data.exists()  # nothing written: no warehouse, no instance


def test_s3_is_an_extra_of_the_project():
    extras = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(req.startswith("s3fs") for req in extras["s3"])
    try:
        import s3fs  # noqa: F401
    except ImportError:  # not installed by default: the message says how
        with pytest.raises(SourceConfigError, match="uv sync --extra s3"):
            FsspecSource("s3://bucket/iom/{year}")
    else:
        assert FsspecSource("s3://bucket/iom/{year}").url == "s3://bucket/iom/{year}"


def test_checksums_are_read_where_the_listing_offers_them():
    assert _checksum({"ETag": '"9e107d9d372bb6826bd81d3542a419d6"'}) == "md5:9e107d9d372bb6826bd81d3542a419d6"
    assert _checksum({"ETag": '"d41d8cd98f00b204e9800998ecf8427e-3"'}) == "etag:d41d8cd98f00b204e9800998ecf8427e-3"
    assert _checksum({"md5Hash": "1B2M2Y8AsgTpgAmY7PhCfg=="}) == "md5:d41d8cd98f00b204e9800998ecf8427e"
    assert _checksum({"size": 3, "mtime": 1.0}) is None


# -- the default: the landing folder itself -------------------------------------------------------
def test_the_default_source_is_the_landing_folder_and_pulling_copies_nothing(data):
    write_landing(landing_dir(2013), ROWS)
    (landing_dir(2013) / "SYNTHETIC.txt").write_text("marker\n")
    before = snapshot(landing_dir(2013))
    source = open_source()
    assert source.url == default_url() and source.is_landing_folder()
    result = pull_year(source, 2013)
    assert result.action == "in place"
    assert [f.name for f in result.files] == ["survey_export.csv", "frame.csv", "SYNTHETIC.txt"]
    assert result.files[0].sha256 == hashlib.sha256((landing_dir(2013) / "survey_export.csv").read_bytes()).hexdigest()
    assert snapshot(landing_dir(2013)) == before
    assert not (data / "work" / "pull").exists() or not any((data / "work" / "pull").iterdir())
    # The sensor's fingerprint of the source is landing.landed_year's, to the nanosecond.
    (listed,) = source.ready_years()
    assert listed.fingerprint == listed.landing_fingerprint == landed_year(landing_dir(2013)).fingerprint


# -- another folder: a pull copies ----------------------------------------------------------------
@pytest.fixture
def other_folder(tmp_path):
    """A survey tool's export folder on a mounted share, say: `<tmp>/share/2013/`."""
    share = tmp_path / "share"
    write_landing(share / "2013", ROWS)
    for name in ("survey_export.csv", "frame.csv"):
        os.utime(share / "2013" / name, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    return share


def test_a_pull_copies_the_sources_files_keeps_the_others_and_keeps_modification_times(data, other_folder):
    landing = landing_dir(2013)
    landing.mkdir(parents=True)
    (landing / "published.csv").write_text("from an earlier delivery\n")  # the source no longer has it
    (landing / "SYNTHETIC.txt").write_text("marker\n")
    (landing / "notes").mkdir()
    (landing / "notes" / "read-me.txt").write_text("kept\n")

    source = open_source(f"file://{other_folder}/{{year}}")
    assert not source.is_landing_folder() and source.list_years() == [2013]
    result = pull_year(source, 2013)

    assert result.action == "copied" and result.source == f"file://{other_folder}/2013"
    assert sorted(p.name for p in landing.iterdir()) == ["SYNTHETIC.txt", "frame.csv", "notes", "survey_export.csv"]
    assert (landing / "notes" / "read-me.txt").read_text() == "kept\n"
    for name in ("survey_export.csv", "frame.csv"):
        assert (landing / name).read_bytes() == (other_folder / "2013" / name).read_bytes()
        assert (landing / name).stat().st_mtime_ns == 1_700_000_000_123_456_789
    # (write_landing marks hand-made exports synthetic: the marker travels with them)
    assert {f.name: f.sha256 for f in result.files if f.name != "SYNTHETIC.txt"} == {
        n: hashlib.sha256((other_folder / "2013" / n).read_bytes()).hexdigest() for n in ("survey_export.csv", "frame.csv")
    }
    # What the run will read carries the fingerprint the sensor computes from the source.
    assert landed_year(landing).fingerprint == source.list_year(2013).landing_fingerprint
    assert not any((data / "work" / "pull").iterdir())  # the staging folder is gone


def test_an_unchanged_source_does_not_rewrite_the_landing_folder(data, other_folder):
    source = open_source(f"file://{other_folder}/{{year}}")
    assert pull_year(source, 2013).action == "copied"
    before = snapshot(landing_dir(2013))
    again = pull_year(source, 2013)
    assert again.action == "unchanged"
    assert snapshot(landing_dir(2013)) == before  # same inodes, same change times
    assert {f.name: f.sha256 for f in again.files} == {n: hashlib.sha256(v[0]).hexdigest() for n, v in before.items()}

    # A changed file at the source is a new delivery: copied again.
    (other_folder / "2013" / "frame.csv").write_bytes((other_folder / "2013" / "frame.csv").read_bytes() + b"E22000099,New\r\n")
    assert pull_year(source, 2013).action == "copied"
    assert (landing_dir(2013) / "frame.csv").read_bytes().endswith(b"E22000099,New\r\n")


def test_a_source_year_without_an_export_or_a_frame_is_refused_and_landing_untouched(data, other_folder):
    write_landing(landing_dir(2013), ROWS)
    before = snapshot(landing_dir(2013))
    (other_folder / "2013" / "frame.csv").unlink()
    with pytest.raises(SourceError, match=r"/2013: no frame.csv at the source"):
        pull_year(open_source(f"file://{other_folder}/{{year}}"), 2013)
    assert snapshot(landing_dir(2013)) == before


def test_year_folders_are_found_wherever_year_sits_in_the_path(data, tmp_path):
    for name in ("iom-2011", "iom-2013", "iom-draft", "other-2012"):
        write_landing(tmp_path / "exports" / name / "returns", ROWS)
    source = open_source(f"file://{tmp_path}/exports/iom-{{year}}/returns")
    assert source.list_years() == [2011, 2013]
    assert [y.year for y in source.ready_years()] == [2011, 2013]


def test_iom_run_with_a_source_and_a_selection_pulls_first_in_the_same_run(data, other_folder, monkeypatch, capsys):
    """`--source` implies `--pull`, which adds the pull to a `--select` subset; the landing folder
    need not exist beforehand."""
    from iom_pipeline.cli import main

    monkeypatch.setenv("DAGSTER_HOME", str(data / "dagster_home"))
    assert main(["run", "--year", "2013", "--source", f"file://{other_folder}/{{year}}", "--select", "group:raw or group:config",
                 "--quiet"]) == 0
    assert "selected asset(s) materialised" in capsys.readouterr().out
    assert (landing_dir(2013) / "frame.csv").read_bytes() == (other_folder / "2013" / "frame.csv").read_bytes()
    assert "IOM_SOURCE_URL" not in os.environ  # --source applied to that command only

    import dagster as dg

    from iom_pipeline.defs.survey.pull import PULLED

    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        assert set(instance.get_run_by_id(run.run_id).asset_selection) >= {PULLED, dg.AssetKey(["raw", "frame"])}
