"""Finding respondents' personal data where it must never be: published files, logs, metadata."""

from __future__ import annotations

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


def find_in_files(directory: Path, values: set[str]) -> list[tuple[str, str]]:
    """(file, value) for every personal value found in any file under directory."""
    hits = []
    lowered = {v.lower() for v in values}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        text = file_text(path).lower()
        hits.extend((str(path.relative_to(directory)), v) for v in lowered if v in text)
    return hits
