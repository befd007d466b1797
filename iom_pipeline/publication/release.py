"""Release metadata: the statistics status, release dates and contact a publication shows.

Read from assets/publication/releases.yaml, one entry per survey year. A publication of the
synthetic reconstruction shows the file's `synthetic` entry whatever the year (synthetic data
are never released, so no year's real dates or contact go with them). A real year without an
entry shows the `unreleased` placeholders.

Rendering never fails for missing or unfinished metadata: `release_problems` reports it, and the
pipeline's gate refuses to publish while it reports anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from iom_pipeline.publication.config import CODE_KINDS, RELEASE_FIELDS, Settings, load_settings

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
# Deliberately loose: a typo such as a missing "@" or domain is what it catches.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FIELD_NAMES = {
    "status": "statistics status",
    "published": "publication date",
    "next_update": "next update",
    "contact_name": "contact name",
    "contact_email": "contact email address",
}


@dataclass(frozen=True)
class Release:
    """What the report and the spreadsheet's cover sheet show about the release."""

    year: int
    status: str
    status_description: str
    published: str  # "24 March 2016", or the entry's words
    next_update: str
    contact_name: str
    contact_email: str  # "" when there is none
    synthetic: bool
    has_entry: bool  # the year has its own entry in releases.yaml

    @property
    def contact(self) -> str:
        """'Name, email' for one line of text."""
        return ", ".join(part for part in (self.contact_name, self.contact_email) if part)


def format_date(value: Any) -> str:
    """date(2016, 3, 24) -> '24 March 2016' (GOV.UK style); text is returned as written."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.day} {MONTHS[value.month - 1]} {value.year}"
    return "" if value is None else " ".join(str(value).split())


def is_placeholder(value: Any) -> bool:
    """Nothing given, or text in square brackets such as "[Contact to be added before publication]"."""
    if value is None:
        return True
    text = str(value).strip()
    return not text or (text.startswith("[") and text.endswith("]"))


def _entry(year: int, synthetic: bool, settings: Settings) -> tuple[dict[str, Any], bool]:
    releases = settings.release_config()
    if synthetic:
        return releases.synthetic, int(year) in releases.years
    if int(year) in releases.years:
        return releases.years[int(year)], True
    return releases.unreleased, False


def release_for(year: int, synthetic: bool, settings: Settings | None = None) -> Release:
    """The release metadata to show for a year's publication. Never raises for missing data."""
    settings = settings or load_settings()
    entry, has_entry = _entry(year, synthetic, settings)
    status = format_date(entry.get("status"))
    return Release(
        year=int(year),
        status=status,
        status_description=settings.release_config().statuses.get(status, ""),
        published=format_date(entry.get("published")),
        next_update=format_date(entry.get("next_update")),
        contact_name=format_date(entry.get("contact_name")),
        contact_email=format_date(entry.get("contact_email")),
        synthetic=bool(synthetic),
        has_entry=has_entry,
    )


def unlabelled_codes(marts: dict, year: int, settings: Settings | None = None) -> list[tuple[str, str]]:
    """(kind, code) for each code in the year's marts that readers would see without a label
    in publication.yaml (it would be shown made readable, "unknown_csp" as "Unknown csp")."""
    import pandas as pd

    settings = settings or load_settings()
    columns = {
        "outcome": ("submission_outcome", "outcome"),
        "reason": ("submission_outcome", "reason"),
        "warning": ("quality_warning", "warning"),
        "unit": ("question_summary", "unit"),
    }
    missing: list[tuple[str, str]] = []
    for kind in CODE_KINDS:
        mart, column = columns[kind]
        df = marts.get(mart)
        if df is None or len(df) == 0 or column not in df.columns:
            continue
        if "survey_year" in df.columns:
            df = df[pd.to_numeric(df["survey_year"]).astype(int) == int(year)]
        for code in sorted({str(c) for c in df[column].dropna()}):
            if not settings.has_label(kind, code):
                missing.append((kind, code))
    return missing


def release_problems(
    year: int,
    synthetic: bool,
    *,
    marts: dict | None = None,
    settings: Settings | None = None,
) -> list[str]:
    """Why the year's publication is not ready to release; empty when it is.

    A real (not synthetic) publication needs its own entry in releases.yaml with a known
    statistics status, a publication date, a next update and a named contact with an email
    address, none of them a placeholder. A synthetic publication is never released, so its
    release metadata is not checked. With `marts`, codes readers would see without a label in
    publication.yaml are named too, synthetic or not.
    """
    settings = settings or load_settings()
    releases = settings.release_config()
    problems: list[str] = []
    if not synthetic:
        entry = releases.years.get(int(year))
        if entry is None:
            problems.append(
                f"no release entry for {year} in {releases.source}: add its statistics status, "
                "publication date, next update and contact before publishing real data"
            )
        else:
            for name in RELEASE_FIELDS:
                value = entry.get(name)
                if is_placeholder(value):
                    shown = f" ({format_date(value)!r})" if value is not None and str(value).strip() else ""
                    problems.append(
                        f"release {year}: the {FIELD_NAMES[name]} is still a placeholder{shown}"
                        if shown
                        else f"release {year}: no {FIELD_NAMES[name]}"
                    )
            status = entry.get("status")
            if not is_placeholder(status) and format_date(status) not in releases.statuses:
                problems.append(
                    f"release {year}: statistics status {format_date(status)!r} is not one of "
                    f"{sorted(releases.statuses)}"
                )
            published = entry.get("published")
            if not is_placeholder(published) and not isinstance(published, date):
                problems.append(f"release {year}: the publication date {published!r} is not a date (YYYY-MM-DD)")
            email = entry.get("contact_email")
            if not is_placeholder(email) and not EMAIL.match(str(email).strip()):
                problems.append(f"release {year}: the contact email address {email!r} is not an email address")
    if marts is not None:
        for kind, code in unlabelled_codes(marts, year, settings):
            problems.append(
                f"{kind} code {code!r} has no reader label in assets/publication/publication.yaml "
                f"(labels.{kind}); it would be shown as {settings.label(kind, code)!r}"
            )
    return problems
