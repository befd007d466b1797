"""Finding respondents' personal data where it must never be: published files, logs, metadata."""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
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


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_text(data: bytes) -> str:
    """The text a PNG carries: its tEXt, zTXt and iTXt chunks (title, description and the like),
    decompressed where they are compressed. Its image data holds no text."""
    texts = []
    at = len(PNG_SIGNATURE)
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        chunk = data[at + 8 : at + 8 + length]
        at += 12 + length
        keyword, _, rest = chunk.partition(b"\0")
        if kind == b"tEXt":
            texts.append(keyword + b" " + rest)
        elif kind == b"zTXt":
            texts.append(keyword + b" " + zlib.decompress(rest[1:]))
        elif kind == b"iTXt":
            compressed, rest = rest[:1] == b"\x01", rest[2:]
            language, _, rest = rest.partition(b"\0")
            translated, _, text = rest.partition(b"\0")
            texts.append(b" ".join([keyword, translated, zlib.decompress(text) if compressed else text]))
        elif kind == b"IEND":
            break
    return "\n".join(t.decode("utf-8", "replace") for t in texts)


def file_text(path: Path) -> str:
    """A file's text; for XLSX and ODS (ZIP archives) the text of every member; for a PNG the
    text of its metadata chunks."""
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(path) as archive:
            return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    if data[:8] == PNG_SIGNATURE:
        return png_text(data)
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
