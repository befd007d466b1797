"""What `landing/` holds: which survey years are ready, and a fingerprint of their files."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from iom_pipeline.paths import landing_dir

REQUIRED = ("frame.csv",)
EXPORTS = ("survey_export.csv", "survey_export.xlsx")
OPTIONAL = ("published.csv",)


@dataclass(frozen=True)
class LandedYear:
    year: int
    fingerprint: str  # changes whenever any of the year's files changes
    newest_change: float  # seconds since the epoch


def landed_years(base: Path | None = None) -> list[LandedYear]:
    """Years whose directory has an export and a frame, with a fingerprint of the files."""
    base = base or landing_dir()
    if not base.is_dir():
        return []
    found = []
    for directory in sorted(p for p in base.iterdir() if p.is_dir() and p.name.isdigit()):
        files = [directory / name for name in (*EXPORTS, *REQUIRED, *OPTIONAL) if (directory / name).is_file()]
        if not any(f.name in EXPORTS for f in files) or not all((directory / r).is_file() for r in REQUIRED):
            continue
        stats = [(f.name, f.stat()) for f in files]
        digest = hashlib.sha256(repr([(n, s.st_size, s.st_mtime_ns) for n, s in stats]).encode()).hexdigest()[:16]
        found.append(LandedYear(int(directory.name), digest, max(s.st_mtime for _, s in stats)))
    return found


def settled(year: LandedYear, settle_seconds: float, now: float | None = None) -> bool:
    return ((now or time.time()) - year.newest_change) >= settle_seconds
