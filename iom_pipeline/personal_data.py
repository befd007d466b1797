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
UNREADABLE = "<unreadable>"  # never a found value: values are read as words without < or >


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
# Chunks that hold only image data, in a compressed or binary form no reader shows as text.
PNG_IMAGE_CHUNKS = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"pHYs", b"bKGD"}
MAX_TEXT_BYTES = 10_000_000  # a decompressed text chunk larger than this is refused, not read


class UnreadableFile(ValueError):
    """A file whose text cannot be read reliably: the gate refuses it rather than pass it unread."""


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    text = inflater.decompress(data, MAX_TEXT_BYTES)
    if inflater.unconsumed_tail:
        raise UnreadableFile(f"a compressed text chunk larger than {MAX_TEXT_BYTES} bytes")
    return text


def png_text(data: bytes) -> str:
    """The text a PNG carries: its tEXt, zTXt and iTXt chunks (title, description and the like),
    decompressed where they are compressed and decoded as the PNG standard says (Latin-1, and
    UTF-8 for iTXt's text), plus any other non-image chunk and anything after the end. Its image
    data holds no text. Raises UnreadableFile for a truncated or corrupt PNG."""
    texts: list[str] = []
    at = len(PNG_SIGNATURE)
    try:
        while at < len(data):
            if at + 8 > len(data):
                raise UnreadableFile("a truncated chunk header")
            length, kind = struct.unpack(">I4s", data[at : at + 8])
            if at + 12 + length > len(data):
                raise UnreadableFile(f"a truncated {kind.decode('latin-1')} chunk")
            chunk = data[at + 8 : at + 8 + length]
            at += 12 + length
            keyword, _, rest = chunk.partition(b"\0")
            if kind == b"tEXt":
                texts.append(f"{keyword.decode('latin-1')} {rest.decode('latin-1')}")
            elif kind == b"zTXt":
                texts.append(f"{keyword.decode('latin-1')} {_inflate(rest[1:]).decode('latin-1')}")
            elif kind == b"iTXt":
                compressed, rest = rest[:1] == b"\x01", rest[2:]
                _language, _, rest = rest.partition(b"\0")
                translated, _, text = rest.partition(b"\0")
                text = _inflate(text) if compressed else text
                texts.append(" ".join([keyword.decode("latin-1"), translated.decode("utf-8", "replace"),
                                       text.decode("utf-8", "replace")]))
            elif kind == b"IEND":
                break
            elif kind not in PNG_IMAGE_CHUNKS:
                texts.append(chunk.decode("latin-1"))  # EXIF and private chunks: read as they are
        texts.append(data[at:].decode("latin-1"))  # anything appended after the image
    except (struct.error, zlib.error) as exc:
        raise UnreadableFile(f"a corrupt chunk ({exc})") from exc
    return "\n".join(texts)


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
    """(file, value) for every personal value found in any file under directory, and
    (file, "unreadable: why") for a file whose text could not be read (a corrupt PNG).

    Linear in the files' size, whatever the number of values: every run of up to four words
    of a file is looked up in the set of values, rather than each value searched for.
    """
    wanted = {_normal(v) for v in values if v and v.strip()}
    longest = max((len(v.split()) for v in wanted), default=1)
    hits = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        try:
            text = file_text(path)
        except UnreadableFile as exc:  # refused, not passed unread
            hits.append((str(path.relative_to(directory)), f"{UNREADABLE}: {exc}"))
            continue
        words = _TOKEN.findall(text.lower())
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
