"""Where a year's returns come from: the survey tool's export folder, wherever it is.

A source is an fsspec URL with `{year}` in its path: `file:///srv/exports/{year}`,
`sftp://iom@host:22/exports/{year}`, `s3://bucket/iom/{year}`. The default is the landing folder
itself (`file://$IOM_DATA_DIR/landing/{year}`), from which pulling copies nothing.

`pull_year` copies a year's `survey_export.csv` (or `.xlsx`), `frame.csv` and `published.csv`
(and the sample's SYNTHETIC.txt marker) into `landing/<year>/`: each file into a staging folder
(its size, and the source's checksum where it offers one, checked; its modification time kept),
then the folder renamed into place, so the landing folder is either as it was or complete. Its
export, frame and published figures are then exactly the source's (one the source no longer has
goes); any other file of the landing folder (SYNTHETIC.txt, notes) stays. An unchanged source
leaves the folder as it is.

Secrets come from the environment or a key file only. A URL's password never appears in a
message, metadata or the warehouse: `redact` shows it as `***`, and every error text is passed
through `SourceFiles.scrub` before it leaves this module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit, urlunsplit

from iom_pipeline.landing import EXPORTS, OPTIONAL, REQUIRED, survey_year_problem
from iom_pipeline.paths import landing_dir, work_dir
from iom_pipeline.stops import stop_signals_held

ENV_URL = "IOM_SOURCE_URL"
ENV_OPTIONS = "IOM_SOURCE_OPTIONS"
YEAR = "{year}"
# The files a pull manages, in the order the landing fingerprint lists them (landing.landed_year):
# landing/<year>/ then holds exactly the source's, so a run reads what the provenance names.
PULLED_NAMES = (*EXPORTS, *REQUIRED, *OPTIONAL)
# Copied when the source has them, never removed: the synthetic sample's marker travels with its
# files (the publication warns that it is synthetic while landing/<year>/ has it).
MARKERS = ("SYNTHETIC.txt",)
CHUNK = 1 << 20
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
# Option names whose values are secrets (scrubbed from every message).
_SECRET_OPTION = re.compile(r"pass|secret|token|credential|^key$|pkey", re.IGNORECASE)
_MD5 = re.compile(r"[0-9a-fA-F]{32}")


class SourceError(Exception):
    """A pull that cannot go on: one line naming the source (redacted) and the file."""


class SourceConfigError(SourceError):
    """The source's URL or options are unusable (a usage problem, not a fault of the source)."""


def redact(url: str) -> str:
    """`url` with its password, if any, shown as `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


def default_url() -> str:
    """The landing folder itself: pulling from it copies nothing."""
    return f"file://{landing_dir()}/{YEAR}"


def configured_url(url: str | None = None) -> str:
    return url or os.environ.get(ENV_URL) or default_url()


def configured_options(options: dict | None = None) -> dict:
    if options:
        return dict(options)
    text = os.environ.get(ENV_OPTIONS, "").strip()
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceConfigError(f"{ENV_OPTIONS} is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(parsed, dict):
        raise SourceConfigError(f"{ENV_OPTIONS} must be a JSON object of storage options")
    return parsed


def to_ns(when: dt.datetime) -> int:
    """A timestamp as integer nanoseconds since the epoch, exactly (no float rounding)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return (when - _EPOCH) // dt.timedelta(microseconds=1) * 1000


def from_ns(ns: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=ns // 1000)


# -- what a source holds ---------------------------------------------------------------------
@dataclass(frozen=True)
class SourceFile:
    name: str
    path: str  # where it is on the source's filesystem
    size: int
    mtime_ns: int
    checksum: str | None = None  # "md5:<hex>" (verifiable) or "etag:<value>" (a change token), where offered
    location: str = ""  # the file's URL, redacted, for messages


def _fingerprint(rows: list[tuple]) -> str:
    # The same digest as landing.landed_year's over (name, size, mtime_ns).
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SourceYear:
    year: int
    location: str  # the year's folder, redacted, for messages and provenance
    files: tuple[SourceFile, ...]  # the files a pull copies, in PULLED_NAMES then MARKERS order
    in_place: bool = False  # the source folder is landing/<year> itself

    @property
    def data_files(self) -> tuple[SourceFile, ...]:
        return tuple(f for f in self.files if f.name in PULLED_NAMES)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.data_files]

    @property
    def ready(self) -> bool:
        """An export and a frame: what a run needs (landing.landed_year's rule)."""
        return any(n in EXPORTS for n in self.names) and all(r in self.names for r in REQUIRED)

    @property
    def fingerprint(self) -> str:
        """Changes whenever a file's size, modification time or (where offered) checksum does."""
        return _fingerprint(
            [(f.name, f.size, f.mtime_ns, *((f.checksum,) if f.checksum else ())) for f in self.data_files]
        )

    @property
    def landing_fingerprint(self) -> str:
        """The fingerprint landing/<year>/ will have once these files are pulled (modification
        times are kept), which is what a publication records."""
        return _fingerprint([(f.name, f.size, f.mtime_ns) for f in self.data_files])

    @property
    def newest_change(self) -> float:
        return max((f.mtime_ns for f in self.data_files), default=0) / 1e9


class SourceFiles(Protocol):
    """What a pull needs of a source. `FsspecSource` is one; a survey tool's REST export would be
    another (list its exports for a year, stream one, tell a file's size and time again)."""

    url: str  # redacted

    def year_location(self, year: int) -> str: ...

    def is_landing(self, year: int) -> bool: ...

    def list_years(self) -> list[int]: ...

    def list_year(self, year: int) -> SourceYear: ...

    def open_file(self, file: SourceFile) -> BinaryIO: ...

    def stat_file(self, file: SourceFile) -> SourceFile | None: ...

    def scrub(self, text: str) -> str: ...

    def close(self) -> None: ...


def _checksum(info: dict) -> str | None:
    """The source's own checksum of a file, where its listing offers one."""
    etag = info.get("ETag") or info.get("etag")
    if isinstance(etag, str) and etag.strip('"'):
        etag = etag.strip('"')
        # A plain S3 ETag is the object's MD5; a multipart one ("…-3") only tells a change.
        return f"md5:{etag.lower()}" if _MD5.fullmatch(etag) else f"etag:{etag}"
    md5 = info.get("md5Hash")  # Google Cloud Storage, base64
    if isinstance(md5, str) and md5:
        import base64

        return f"md5:{base64.b64decode(md5).hex()}"
    return None


def _known_hosts_policy(known_hosts: Path):
    """Paramiko's answer to a host key it was not given: accept it only when the known_hosts
    file lists it for that host (and port), refuse it otherwise."""
    import paramiko

    class UntrustedHostKey(paramiko.SSHException):
        pass

    class KnownHostsPolicy(paramiko.MissingHostKeyPolicy):
        def missing_host_key(self, client, hostname, key):
            try:
                known = paramiko.HostKeys(str(known_hosts))
            except OSError as exc:
                raise UntrustedHostKey(f"cannot read the known_hosts file {known_hosts} ({exc.strerror})") from None
            except Exception:  # noqa: BLE001 - paramiko quotes the bad line, which must not be shown
                raise UntrustedHostKey(f"{known_hosts} is not a known_hosts file") from None
            entry = known.lookup(hostname)
            if entry is None:
                raise UntrustedHostKey(f"{hostname} is not in the known_hosts file {known_hosts}")
            if key.get_name() not in entry or entry[key.get_name()] != key:
                raise UntrustedHostKey(f"the key of {hostname} does not match the known_hosts file {known_hosts}")

    return KnownHostsPolicy()


def _sftp_options(options: dict) -> dict:
    """IOM_SOURCE_OPTIONS for SFTP in paramiko's terms, with safe defaults: connect, banner and
    authentication time-outs; only the key file or password given (no agent, no ~/.ssh keys);
    a host key accepted only when known_hosts lists it."""
    opts = dict(options)
    opts.pop("read_timeout", None)  # applied to the open connection (FsspecSource._filesystem)
    out = {"timeout": 10, "banner_timeout": 10, "auth_timeout": 10, "allow_agent": False, "look_for_keys": False}
    key_file = opts.pop("key_file", None)
    if key_file:
        out["key_filename"] = os.path.expanduser(str(key_file))
    known_hosts = Path(os.path.expanduser(str(opts.pop("known_hosts", "~/.ssh/known_hosts"))))
    policy = opts.pop("host_key_policy", "reject")
    if policy == "reject":
        out["host_key_policy"] = _known_hosts_policy(known_hosts)
    elif policy in ("auto_add", "warning"):
        out["host_key_policy"] = policy  # trusts an unknown host: for a first connection only
    else:
        raise SourceConfigError(f"host_key_policy must be reject, auto_add or warning, not {policy!r}")
    out.update(opts)
    return out


class FsspecSource:
    """A source addressed by an fsspec URL with `{year}` in its path."""

    def __init__(self, url: str | None = None, options: dict | None = None):
        self._url = configured_url(url)
        self._options = configured_options(options)
        self.url = redact(self._url)
        parts = urlsplit(self._url)
        self.protocol = parts.scheme or "file"
        if YEAR not in parts.path:
            raise SourceConfigError(f"{self.url}: the source URL needs {YEAR} in its path, where the survey year goes")
        self._verify_checksums = bool(self._options.pop("verify_checksum", True))
        self._secrets = [s for s in [parts.password] if s] + [
            str(v) for k, v in self._options.items() if _SECRET_OPTION.search(k) and v and not isinstance(v, bool)
        ]
        self._fs = None
        self._check_protocol()
        if self.protocol in ("sftp", "ssh"):
            _sftp_options(self._options)  # a wrong option is a usage problem, found before connecting

    # -- plumbing -----------------------------------------------------------------------------
    def _check_protocol(self) -> None:
        import fsspec

        try:
            fsspec.get_filesystem_class(self.protocol)
        except ValueError:
            raise SourceConfigError(f"{self.url}: {self.protocol}:// is not a storage this pipeline can read") from None
        except ImportError:
            extra = " (install the project's `s3` extra: uv sync --extra s3)" if self.protocol in ("s3", "s3a") else ""
            raise SourceConfigError(f"{self.url}: no package for {self.protocol}:// is installed{extra}") from None

    def scrub(self, text: str) -> str:
        text = str(text).replace(self._url, self.url)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return " ".join(text.split())  # one line

    def _with_year(self, year: int | str) -> str:
        return self._url.replace(YEAR, str(year))

    def year_location(self, year: int) -> str:
        return redact(self._with_year(year))

    def _filesystem(self, where: str | None = None):
        """The filesystem, connected on first use (SFTP connects here; S3 on the first call);
        `where` names what was being reached in a message."""
        if self._fs is None:
            import fsspec

            options = dict(self._options)
            if self.protocol in ("sftp", "ssh"):
                options = _sftp_options(options)
            try:
                # A fresh instance: fsspec's cache would hand back a connection to a server that
                # has since restarted.
                self._fs, _ = fsspec.url_to_fs(self._with_year("0"), skip_instance_cache=True, **options)
            except Exception as exc:  # noqa: BLE001 - every library has its own errors; all are one line here
                raise SourceError(f"{where or self.url}: {self._connect_problem(exc)}") from None
            sftp = getattr(self._fs, "ftp", None)  # fsspec's SFTP filesystem: paramiko's SFTP client
            if sftp is not None:
                # A server that stops answering mid-copy fails the read instead of hanging the run.
                sftp.get_channel().settimeout(float(self._options.get("read_timeout", 60)))
        return self._fs

    def _entry(self, info: dict) -> dict:
        """A listing entry, a symbolic link replaced by what it points to (SFTP lists links as such)."""
        if info.get("type") == "link":
            try:
                return {**self._filesystem().info(info["name"]), "name": info["name"]}
            except FileNotFoundError:
                return info  # a dangling link: neither a file nor a folder
        return info

    def _connect_problem(self, exc: BaseException) -> str:
        name = type(exc).__name__
        detail = self.scrub(str(exc)) or name
        key_file = self._options.get("key_file")
        if name == "UntrustedHostKey":
            return f"the host key is not trusted ({detail})"
        if "Authentication" in name or "NoCredentials" in name:
            with_key = f" with the key file {key_file}" if key_file else ""
            return f"the server refused the login{with_key} ({detail})"
        if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
            return f"cannot reach the host ({detail})"
        return f"cannot connect ({name}: {detail})"

    def _path(self, year: int | str) -> str:
        return urlsplit(self._with_year(year)).path if self.protocol == "file" else self._strip(self._with_year(year))

    def _strip(self, url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.netloc.rpartition('@')[2]}{parts.path}" if self.protocol in ("s3", "s3a", "gs", "gcs") else parts.path

    def _is_local(self) -> bool:
        return self.protocol == "file"

    def _mtime_ns(self, info: dict) -> int:
        if self._is_local():
            return os.stat(info["name"]).st_mtime_ns  # nanoseconds, as landing.landed_year reads them
        for key in ("mtime", "LastModified", "last_modified", "updated", "modified"):
            value = info.get(key)
            if isinstance(value, dt.datetime):
                return to_ns(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return int(value * 1_000_000) * 1000
            if isinstance(value, str):
                try:
                    return to_ns(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
                except ValueError:
                    pass
        return to_ns(self._filesystem().modified(info["name"]))

    def _file(self, info: dict, year: int) -> SourceFile:
        checksum = _checksum(info) if self._verify_checksums else None
        name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
        location = f"{self.year_location(year)}/{name}"
        return SourceFile(name, str(info["name"]), int(info["size"]), self._mtime_ns(info), checksum, location)

    # -- the interface ------------------------------------------------------------------------
    def is_landing(self, year: int) -> bool:
        if not self._is_local():
            return False
        return Path(self._path(year)).resolve() == landing_dir(year).resolve()

    def is_landing_folder(self) -> bool:
        """Whether the source is landing/ itself (the default): then a pull copies nothing."""
        return self.is_landing(0)  # any year: the template either maps onto landing/<year>/ or not

    def list_years(self) -> list[int]:
        """The survey years the source has a folder for (an empty list when it has none)."""
        head, tail = self._split_year_path()
        pattern = re.compile(re.escape(tail).replace(re.escape(YEAR), "([0-9]{4})"))
        fs = self._filesystem()
        try:
            entries = fs.ls(head, detail=True)
        except FileNotFoundError:
            return []
        except Exception as exc:  # noqa: BLE001
            raise SourceError(f"{self.url}: cannot list {self.scrub(head)} ({self.scrub(exc) or type(exc).__name__})") from None
        years = set()
        for entry in entries:
            match = pattern.fullmatch(str(entry["name"]).rstrip("/").rsplit("/", 1)[-1])
            if match and self._entry(entry).get("type") == "directory":
                years.add(int(match.group(1)))
        return sorted(years)

    def _split_year_path(self) -> tuple[str, str]:
        """The folder holding the year folders, and the year folder's name with `{year}` in it
        (`/exports/iom-{year}/returns` -> `/exports`, `iom-{year}`)."""
        before, _, after = self._path(YEAR).partition(YEAR)
        head, _, prefix = before.rpartition("/")
        return head or "/", prefix + YEAR + after.split("/", 1)[0]

    def list_year(self, year: int) -> SourceYear:
        """The managed files of the year's folder; a missing folder is a SourceError (but the
        landing folder itself, when it is the source, may be missing: the landing step says so)."""
        location = self.year_location(year)
        in_place = self.is_landing(year)
        fs = self._filesystem(location)
        try:
            entries = fs.ls(self._path(year), detail=True)
        except FileNotFoundError:
            if in_place:
                return SourceYear(year, location, (), in_place=True)
            raise SourceError(f"{location}: no such folder at the source") from None
        except Exception as exc:  # noqa: BLE001
            raise SourceError(f"{location}: cannot list the folder ({self._connect_problem(exc)})") from None
        found = {}
        for info in map(self._entry, entries):
            if info.get("type") != "file":
                continue
            file = self._file(info, year)
            if file.name in PULLED_NAMES or file.name in MARKERS:
                found[file.name] = file
        files = tuple(found[n] for n in (*PULLED_NAMES, *MARKERS) if n in found)
        return SourceYear(year, location, files, in_place=in_place)

    def ready_years(self) -> list[SourceYear]:
        """Every survey year at the source that has an export and a frame."""
        ready = []
        for year in self.list_years():
            if survey_year_problem(year):
                continue  # never launched by itself; `iom run --year` says why
            try:
                listing = self.list_year(year)
            except SourceError:
                continue  # gone between the two listings
            if listing.ready:
                ready.append(listing)
        return ready

    def open_file(self, file: SourceFile) -> BinaryIO:
        handle = self._filesystem().open(file.path, "rb")
        prefetch = getattr(handle, "prefetch", None)  # paramiko: pipelined reads of the whole file
        if callable(prefetch):
            prefetch(file.size)
        return handle

    def stat_file(self, file: SourceFile) -> SourceFile | None:
        try:
            info = self._filesystem().info(file.path)
        except FileNotFoundError:
            return None
        info = {**info, "name": file.path}
        checksum = _checksum(info) if self._verify_checksums else None
        return SourceFile(file.name, file.path, int(info["size"]), self._mtime_ns(info), checksum, file.location)

    def close(self) -> None:
        client = getattr(self._fs, "client", None)  # fsspec's SFTP filesystem: the SSH connection
        if client is not None and callable(getattr(client, "close", None)):
            client.close()
        self._fs = None

    def __enter__(self) -> "FsspecSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_source(url: str | None = None, options: dict | None = None) -> FsspecSource:
    """The configured source: `url` and `options`, else IOM_SOURCE_URL and IOM_SOURCE_OPTIONS,
    else the landing folder itself."""
    return FsspecSource(url, options)


# -- pulling a year ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PulledFile:
    name: str
    size: int
    mtime_ns: int
    sha256: str
    source_checksum: str | None

    @property
    def modified(self) -> dt.datetime:
        return from_ns(self.mtime_ns)


@dataclass(frozen=True)
class PullResult:
    year: int
    source: str  # the year's folder at the source, redacted
    action: str  # "copied", "unchanged" or "in place"
    pulled_at: dt.datetime
    landing: Path
    files: tuple[PulledFile, ...] = field(default_factory=tuple)
    landing_fingerprint: str = ""

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def _hash_local(path: Path, md5: bool = False) -> tuple[str, str | None]:
    sha, other = hashlib.sha256(), hashlib.md5(usedforsecurity=False) if md5 else None
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            if other:
                other.update(chunk)
    return sha.hexdigest(), other.hexdigest() if other else None


def _local_matches(file: SourceFile, local: Path) -> tuple[bool, str]:
    """Whether landing's copy is the source's file (size, time, and MD5 where the source offers
    one), and its SHA-256."""
    try:
        stat = local.stat()
    except FileNotFoundError:
        return False, ""
    md5_wanted = file.checksum[4:] if file.checksum and file.checksum.startswith("md5:") else None
    sha, md5 = _hash_local(local, md5=md5_wanted is not None)
    same = stat.st_size == file.size and stat.st_mtime_ns == file.mtime_ns and (md5_wanted is None or md5 == md5_wanted)
    return same, sha


def copy_file(source: SourceFiles, file: SourceFile, dest: Path) -> PulledFile:
    """One file from the source into `dest`, checked: every byte the listing promised arrived,
    the file did not vanish or change meanwhile, and its MD5 matches where the source offers one."""
    where = file.location or file.name
    sha = hashlib.sha256()
    md5_wanted = file.checksum[4:] if file.checksum and file.checksum.startswith("md5:") else None
    md5 = hashlib.md5(usedforsecurity=False) if md5_wanted else None
    copied = 0
    try:
        with source.open_file(file) as src, dest.open("wb") as out:
            while chunk := src.read(CHUNK):
                out.write(chunk)
                sha.update(chunk)
                if md5:
                    md5.update(chunk)
                copied += len(chunk)
    except FileNotFoundError:
        raise SourceError(f"{where}: vanished during the copy") from None
    except Exception as exc:  # noqa: BLE001 - a dropped connection, a read error: the copy is short
        detail = source.scrub(str(exc)) or type(exc).__name__
        raise SourceError(f"{where}: copy cut short after {copied:,} of {file.size:,} bytes ({detail})") from None
    after = source.stat_file(file)
    if after is None:
        raise SourceError(f"{where}: vanished during the copy")
    if copied < file.size:
        raise SourceError(f"{where}: copy cut short: {copied:,} of {file.size:,} bytes arrived")
    if copied != file.size or (after.size, after.mtime_ns) != (file.size, file.mtime_ns):
        raise SourceError(f"{where}: changed during the copy (pull again once the source has settled)")
    if md5 is not None and md5.hexdigest() != md5_wanted:
        raise SourceError(f"{where}: the copy's MD5 does not match the source's checksum")
    os.utime(dest, ns=(file.mtime_ns, file.mtime_ns))  # the landing fingerprint follows the source's files
    return PulledFile(file.name, copied, file.mtime_ns, sha.hexdigest(), file.checksum)


def _replace_folder(staged: Path, target: Path, spare: Path) -> None:
    """Rename `staged` to `target`, the old `target` (if any) moved aside first and removed after."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        staged.rename(target)
        return
    with stop_signals_held():  # a stop between the two renames would lose the old folder
        target.rename(spare)
        try:
            staged.rename(target)
        except BaseException:
            spare.rename(target)
            raise
    shutil.rmtree(spare, ignore_errors=True)


def pull_year(source: SourceFiles, year: int, landing: Path | None = None) -> PullResult:
    """Bring landing/<year>/ up to date with the source; see the module's docstring."""
    landing = landing or landing_dir(year)
    pulled_at = dt.datetime.now(dt.timezone.utc)
    listing = source.list_year(year)

    def result(action: str, files) -> PullResult:
        return PullResult(year, listing.location, action, pulled_at, landing, tuple(files), listing.landing_fingerprint)

    if listing.in_place:
        return result("in place", [
            PulledFile(f.name, f.size, f.mtime_ns, _hash_local(landing / f.name)[0], f.checksum) for f in listing.files
        ])
    for needed, what in ((EXPORTS, "survey_export.csv or survey_export.xlsx"), (REQUIRED, "frame.csv")):
        if not any(n in listing.names for n in needed):
            raise SourceError(f"{listing.location}: no {what} at the source")

    managed_here = {n for n in PULLED_NAMES if (landing / n).is_file()}
    if managed_here == set(listing.names):  # no file to add or remove: is each the same?
        checked = [(f, *_local_matches(f, landing / f.name)) for f in listing.files]
        if all(same for _, same, _ in checked):
            return result("unchanged", [PulledFile(f.name, f.size, f.mtime_ns, sha, f.checksum) for f, _, sha in checked])

    work = work_dir() / "pull" / f"{year}-{uuid.uuid4().hex[:12]}"
    staged = work / str(year)
    staged.mkdir(parents=True)
    try:
        copied = [copy_file(source, f, staged / f.name) for f in listing.files]
        if landing.is_dir():  # what the source does not provide stays (SYNTHETIC.txt, notes)
            for item in landing.iterdir():
                if item.name in PULLED_NAMES or (staged / item.name).exists():
                    continue
                if item.is_dir():
                    shutil.copytree(item, staged / item.name, symlinks=True)
                else:
                    shutil.copy2(item, staged / item.name, follow_symlinks=False)
        _replace_folder(staged, landing, work / "previous")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result("copied", copied)
