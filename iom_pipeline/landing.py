"""What `landing/` holds: which survey years are ready, and a fingerprint of their files."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

from iom_pipeline.paths import landing_dir

_YEAR_NAME = re.compile(r"[0-9]{4}")  # ASCII digits only: "²" is a digit to Python, not a year


def survey_year_of(directory: Path) -> int | None:
    """The survey year a landing folder is named after, or None when its name is not a year."""
    return int(directory.name) if _YEAR_NAME.fullmatch(directory.name) else None


def survey_year_problem(year: int) -> str | None:
    """Why `year` cannot be a survey year, or None: it must fall between the first questionnaire's
    year and next year (a survey is prepared a year ahead at most)."""
    from iom_pipeline.questionnaire import all_questionnaires

    first = min(q.first_survey_year for q in all_questionnaires())
    latest = dt.date.today().year + 1
    if not first <= int(year) <= latest:
        return (f"{year} is not a survey year this pipeline can run: the first questionnaire is for {first} "
                f"and the latest year accepted is {latest}")
    return None


def landing_years_and_strays(base: Path | None = None) -> tuple[list[int], list[str]]:
    """The survey years that have a folder in landing/, and the folders whose name is not a year."""
    base = base or landing_dir()
    if not base.is_dir():
        return [], []
    years, strays = [], []
    for directory in sorted(p for p in base.iterdir() if p.is_dir()):
        year = survey_year_of(directory)
        if year is None:
            strays.append(str(directory))
        else:
            years.append(year)
    return years, strays

REQUIRED = ("frame.csv",)
EXPORTS = ("survey_export.csv", "survey_export.xlsx")
OPTIONAL = ("published.csv",)


@dataclass(frozen=True)
class LandedYear:
    year: int
    fingerprint: str  # changes whenever any of the year's files changes
    newest_change: float  # seconds since the epoch


def landed_year(directory: Path) -> LandedYear | None:
    """A year's landing folder with its fingerprint, or None until it has an export and a frame."""
    year = survey_year_of(directory)
    if year is None or survey_year_problem(year):
        return None  # never launched by itself; `iom run --year` says why
    files = [directory / name for name in (*EXPORTS, *REQUIRED, *OPTIONAL) if (directory / name).is_file()]
    if not any(f.name in EXPORTS for f in files) or not all((directory / r).is_file() for r in REQUIRED):
        return None
    stats = [(f.name, f.stat()) for f in files]
    digest = hashlib.sha256(repr([(n, s.st_size, s.st_mtime_ns) for n, s in stats]).encode()).hexdigest()[:16]
    return LandedYear(year, digest, max(s.st_mtime for _, s in stats))


def landed_years(base: Path | None = None) -> list[LandedYear]:
    """Years whose directory has an export and a frame, with a fingerprint of the files."""
    base = base or landing_dir()
    if not base.is_dir():
        return []
    found = (landed_year(p) for p in sorted(base.iterdir()) if p.is_dir())
    return [year for year in found if year is not None]


def settled(year: LandedYear, settle_seconds: float, now: float | None = None) -> bool:
    return ((now or time.time()) - year.newest_change) >= settle_seconds
