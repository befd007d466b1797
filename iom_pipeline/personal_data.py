"""Finding respondents' personal data where it must never be: published files, logs, metadata,
the BI snapshot and its Parquet files (rule 7)."""

from __future__ import annotations

import html
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import duckdb

from iom_pipeline.questionnaire import questionnaire_for_year
from iom_pipeline.sql_models import lit

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
MIN_PHONE_DIGITS = 6  # a phone number's digits without its prefix, at the least
# A run of digits as a phone number may be written: spaces, hyphens, brackets or slashes between
# them, not glued to a word, a decimal point or a decimal (so not part of a number like 0.163296).
_DIGIT_RUN = re.compile(r"(?<![\w.])\+?\d[\d \t\u00a0()\-\u2010-\u2013/]*\d(?!\w|\.\d)")
_PHONE_VALUE = re.compile(r"\+?[\d\s().\-/]+")


def _normal(text: str) -> str:
    """Case and Unicode form folded, and cut into the words the files are read as."""
    return " ".join(_TOKEN.findall(unicodedata.normalize("NFC", text).lower()))


def phone_digits(value: str) -> str:
    """A phone number's digits without its trunk or country prefix: 01632 960001, +44 1632 960001
    and 0044 (0)1632-960001 are all 1632960001 (as the SQL macro phone_digits)."""
    return re.sub(r"^(?:0044|44|0)", "", re.sub(r"\D", "", value))


class PersonalDataFinder:
    """The values of a year's respondents, looked up in any text in one pass, whatever their number.

    Text is decoded as a reader sees it (HTML and XML character references unescaped: the report
    writes O'Brien as O&#39;Brien, a spreadsheet & as &amp;), folded like the values, and every run
    of up to four of its words is looked up in the set of values. Phone numbers are compared as
    digit strings: every run of digits written as a number may be (spaces, hyphens, brackets) is
    looked up, a window at a time, in the set of the values' digits, so 01632 960 001,
    01632-960001 and +44 1632 960001 are all the same number.
    """

    def __init__(self, values: Iterable[str]):
        self.wanted: set[str] = set()
        self.phones: dict[str, str] = {}  # digits -> the value, as reported
        for value in values:
            if not value or not value.strip():
                continue
            normal = _normal(value)
            if normal:
                self.wanted.add(normal)
            digits = phone_digits(value)
            if _PHONE_VALUE.fullmatch(value.strip()) and len(digits) >= MIN_PHONE_DIGITS:
                self.phones[digits] = normal
        self.longest = min(max((len(v.split()) for v in self.wanted), default=1), MAX_WORDS)
        self.phone_lengths = sorted({len(d) for d in self.phones})

    def __len__(self) -> int:
        return len(self.wanted)

    def find(self, text: str) -> set[str]:
        """The values (folded) that `text` holds."""
        text = unicodedata.normalize("NFC", html.unescape(text))
        found: set[str] = set()
        words = _TOKEN.findall(text.lower())
        for size in range(1, self.longest + 1):
            for i in range(len(words) - size + 1):
                candidate = " ".join(words[i : i + size])
                if candidate in self.wanted:
                    found.add(candidate)
                # punctuation glued to a value ("j.smith@example.org.") must not hide it
                elif candidate.rstrip(".:") in self.wanted:
                    found.add(candidate.rstrip(".:"))
        if self.phones:
            for run in _DIGIT_RUN.findall(text):
                digits = re.sub(r"\D", "", run)
                for size in self.phone_lengths:
                    for i in range(len(digits) - size + 1):
                        if digits[i : i + size] in self.phones:
                            found.add(self.phones[digits[i : i + size]])
        return found


def find_in_text(text: str, values: set[str] | PersonalDataFinder) -> set[str]:
    finder = values if isinstance(values, PersonalDataFinder) else PersonalDataFinder(values)
    return finder.find(text)


def find_in_files(directory: Path, values: set[str] | PersonalDataFinder,
                  skip: frozenset[Path] | set[Path] = frozenset()) -> list[tuple[str, str]]:
    """(file, value) for every personal value found in any file under directory (but those in
    `skip`), and (file, "unreadable: why") for a file whose text could not be read (a corrupt PNG).

    Linear in the files' size, whatever the number of values (see PersonalDataFinder).
    """
    finder = values if isinstance(values, PersonalDataFinder) else PersonalDataFinder(values)
    hits = []
    if not directory.is_dir():
        return hits
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and p not in skip):
        try:
            text = file_text(path)
        except UnreadableFile as exc:  # refused, not passed unread
            hits.append((str(path.relative_to(directory)), f"{UNREADABLE}: {exc}"))
            continue
        hits.extend((str(path.relative_to(directory)), v) for v in sorted(finder.find(text)))
    return hits


# -- in databases: the BI snapshot and its Parquet files ----------------------------------------
# The SQL is sql/macros/personal_data.sql's, the same the warehouse check runs.


class PersonalDataFound(RuntimeError):
    """A table or file about to be published holds personal data: it is not published."""


def findings(con: duckdb.DuckDBPyConnection, texts_sql: str, located_sql: str, year: int) -> list[tuple]:
    """(table, column, what was found, distinct values) of `personal_data_findings` for the cells
    of `texts_sql`, against the year's raw export."""
    con.execute("set variable personal_data_texts = ?", [texts_sql])
    con.execute("set variable personal_data_located = ?", [located_sql])
    return con.execute(
        "select * from personal_data_findings(getvariable('personal_data_texts'), getvariable('personal_data_located'), "
        f"{lit(f'raw.survey_export_{int(year)}')}) order by all"
    ).fetchall()


def comment_texts(catalog: str) -> str:
    """The tables' and columns' comments of an attached database (what a BI tool shows as
    descriptions), located: table_name, column_name, cell."""
    return (
        f"select schema_name || '.' || table_name as table_name, 'comment' as column_name, comment as cell "
        f"from duckdb_tables() where database_name = {lit(catalog)} and comment is not null union all "
        f"select schema_name || '.' || table_name, column_name || ' (comment)', comment "
        f"from duckdb_columns() where database_name = {lit(catalog)} and comment is not null"
    )


def parquet_metadata_texts(paths: Iterable[Path]) -> str | None:
    """The key-value metadata of Parquet files, located: table_name (the file), column_name, cell."""
    parts = [f"select {lit(path.name)} as table_name, 'key-value metadata' as column_name, decode(value) as cell "
             f"from parquet_kv_metadata({lit(str(path))})" for path in paths]
    return " union all ".join(parts) or None


def find_in_located(con: duckdb.DuckDBPyConnection, located: list[str], year: int) -> list[tuple]:
    """Findings in located texts (queries of table_name, column_name, cell)."""
    located = [q for q in located if q]
    if not located:
        return []
    union = " union all ".join(f"select * from ({q})" for q in located)
    return findings(con, f"select cell from ({union})", union, year)


def describe_findings(rows: list[tuple]) -> str:
    """Where, and what kind of value, never the value itself."""
    return "; ".join(
        f"{table}{'.' + column if column else ''}: {found}" + (f" ({n} distinct value(s))" if n else "")
        for table, column, found, n in rows
    )
