"""Finding respondents' personal data where it must never be: published files, logs, metadata."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import duckdb

from iom_pipeline.questionnaire import questionnaire_for_year

MIN_LENGTH = 5  # shorter values ("Jo") would match ordinary words


def personal_values(con: duckdb.DuckDBPyConnection, year: int) -> set[str]:
    """Every respondent name, e-mail and phone number in the year's raw export."""
    qn = questionnaire_for_year(year)
    values: set[str] = set()
    for column in qn.personal_data_columns:
        rows = con.execute(
            f'select distinct trim("{column}") from raw.survey_export_{int(year)} where length(trim("{column}")) >= ?',
            [MIN_LENGTH],
        ).fetchall()
        values.update(r[0] for r in rows)
    return values


def file_text(path: Path) -> str:
    """A file's text; for XLSX and ODS (ZIP archives) the text of every member."""
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(path) as archive:
            return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return data.decode("utf-8", "replace")


_TOKEN = re.compile(r"[^\s<>\"=&;,()\[\]{}|]+")
MAX_WORDS = 4  # names, e-mails and phone numbers are at most a few words long


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def find_in_files(directory: Path, values: set[str]) -> list[tuple[str, str]]:
    """(file, value) for every personal value found in any file under directory.

    Linear in the files' size, whatever the number of values: every run of up to four words
    of a file is looked up in the set of values, rather than each value searched for.
    """
    wanted = {_normal(v) for v in values if v and v.strip()}
    longest = max((len(v.split()) for v in wanted), default=1)
    hits = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        words = _TOKEN.findall(file_text(path).lower())
        found = set()
        for size in range(1, min(longest, MAX_WORDS) + 1):
            for i in range(len(words) - size + 1):
                candidate = " ".join(words[i : i + size])
                if candidate in wanted:
                    found.add(candidate)
                # punctuation glued to a value ("j.smith@example.org.") must not hide it
                elif candidate.rstrip(".:") in wanted:
                    found.add(candidate.rstrip(".:"))
        hits.extend((str(path.relative_to(directory)), v) for v in sorted(found))
    return hits
