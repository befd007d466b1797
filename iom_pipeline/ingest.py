"""Landing files into the raw layer: every bad file gets one clear message, never a traceback.

The raw layer (`raw.survey_export_<year>`, `raw.frame_<year>`) is a faithful, all-text copy of
the landing files, personal data included; nothing downstream of staging holds personal data.
"""

from __future__ import annotations

import codecs
import csv
import io
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from iom_pipeline.questionnaire import Questionnaire
from iom_pipeline.sql_models import lit
from iom_pipeline.warehouse import current_setting, setting

EXPORT_STEMS = ("survey_export",)
FRAME_COLUMNS = ("csp_code", "csp_name")
RECORD_COLUMN = "source_row"  # added to the raw export: each row's record number in the file
PUBLISHED_COLUMNS = ("survey_year", "question_id", "option_id", "published_pct", "published_n", "source")
# Long enough for any real free-text answer; a longer cell is refused with its row, not truncated.
MAX_LINE_BYTES = 64 * 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_GZIP_MAGIC = b"\x1f\x8b"


class InputFileError(Exception):
    """A landing file the pipeline refuses, with where and why, for a person to act on.

    `row` is the record (0 = the header, 1 = the first submission); the message names the line
    of the file a person opens in an editor (the header is line 1), which differs from the record
    once a quoted value spans lines.
    """

    def __init__(self, path: Path | str, problem: str, row: int | None = None, column: str | None = None):
        self.path = str(path)
        self.problem = problem
        self.row = row
        self.column = column
        self.line = line_of_record(Path(self.path), row) if row is not None else None
        where = ", ".join(p for p in (f"line {self.line}" if self.line is not None else "",
                                      f"column {column}" if column else "") if p)
        super().__init__(f"{self.path}: {problem}" + (f" ({where})" if where else ""))


def line_of_record(path: Path, record: int) -> int:
    """The line on which record `record` starts (0 = the header, on line 1). Read only when a file
    is refused, so its cost is off every normal run. A workbook's row is its record plus one."""
    if record <= 0:
        return 1
    if path.suffix.lower() == ".xlsx":
        return record + 1
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
            reader = csv.reader(fh)
            ended_on = 0  # the line the previous record ended on
            for index, _ in enumerate(reader):
                if index == record:
                    return ended_on + 1
                ended_on = reader.line_num
    except (OSError, csv.Error):
        pass
    return record + 1  # the file cannot be followed further: as if no value spanned lines


@dataclass
class LandedFile:
    source: Path  # the landing file
    csv_path: Path  # what DuckDB reads: the source, or its UTF-8 / CSV conversion
    encoding: str
    columns: list[str]
    notes: list[str] = field(default_factory=list)


def find_export(landing: Path) -> Path:
    """The year's export: `survey_export.csv`, or `survey_export.xlsx` as survey tools also offer."""
    candidates = [landing / f"{stem}.{ext}" for stem in EXPORT_STEMS for ext in ("csv", "xlsx")]
    present = [p for p in candidates if p.exists()]
    if not present:
        raise InputFileError(landing, "no survey export found (expected survey_export.csv or survey_export.xlsx)")
    if len(present) > 1:
        raise InputFileError(landing, "both survey_export.csv and survey_export.xlsx are present; keep exactly one")
    return present[0]


def _kind_of(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "not a file"


def _sniff_kind(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(8)


def _check_not_spreadsheet(path: Path, head: bytes) -> None:
    if head.startswith(_ZIP_MAGIC):
        raise InputFileError(
            path, "this is a spreadsheet (XLSX or another ZIP file) with a .csv name; export it as CSV, or name it .xlsx"
        )
    if head.startswith(_OLE_MAGIC):
        raise InputFileError(path, "this is a legacy Excel (.xls) workbook, not CSV; save it as CSV UTF-8 or .xlsx")
    if head.startswith(_GZIP_MAGIC):
        raise InputFileError(path, "this file is gzip-compressed; decompress it into the landing directory first")


def _decode_head(path: Path, limit: int = 1 << 20) -> tuple[str, str]:
    """The start of a text file, and its encoding: UTF-8 (BOM or not), else Windows-1252."""
    with path.open("rb") as fh:
        raw = fh.read(limit)
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM):]
    try:
        # A multi-byte character may be cut at the limit: decode what is complete.
        return codecs.getincrementaldecoder("utf-8")().decode(raw, final=False), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"the file is neither UTF-8 nor Windows-1252 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None


def _transcode_to_utf8(path: Path, encoding: str, out: Path) -> None:
    """Stream a Windows-1252 file to UTF-8, refusing bytes that encoding leaves undefined."""
    out.parent.mkdir(parents=True, exist_ok=True)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    with path.open("rb") as src, out.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 22):
            try:
                dst.write(decoder.decode(chunk))
            except UnicodeDecodeError as exc:
                raise InputFileError(
                    path,
                    f"the file is not valid UTF-8, and byte 0x{chunk[exc.start]:02x} at offset {offset + exc.start} "
                    f"is not Windows-1252 either; re-export it as CSV UTF-8",
                ) from None
            offset += len(chunk)
        dst.write(decoder.decode(b"", final=True))


def _header(path: Path, text: str) -> list[str]:
    if not text.strip():
        raise InputFileError(path, "the file is empty")
    first_line = next(csv.reader(io.StringIO(text)))
    # Names are matched trimmed and in lower case: every name in the spec is lower case.
    columns = [c.strip(" \t\ufeff").lower() for c in first_line]
    if len(columns) == 1:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
            if sep in columns[0]:
                raise InputFileError(path, f"the header is separated by {name}, not commas; re-export as comma-separated CSV", row=0)
    seen = set()
    for c in columns:
        if c in seen:
            raise InputFileError(path, "a column name appears twice in the header", row=0, column=c)
        seen.add(c)
    return columns


def _xlsx_to_csv(path: Path, out: Path, timestamp_format: str) -> None:
    """Spreadsheet exports: read sheet one cell by cell (streamed) into the CSV the pipeline reads.

    Excel turns timestamps into dates and ids into numbers; both are written back as the export
    format has them, so the same validation applies to either kind of file.
    """
    import datetime as dt

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises a zoo of types for a damaged file
        raise InputFileError(path, f"the workbook cannot be read ({type(exc).__name__}: {exc})") from None
    out.parent.mkdir(parents=True, exist_ok=True)

    def text(value) -> str:
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            return value.strftime(timestamp_format)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    try:
        ws = wb.worksheets[0]
        with out.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            for row in ws.iter_rows(values_only=True):
                writer.writerow([text(v) for v in row])
    finally:
        wb.close()


def prepare(path: Path, work: Path, timestamp_format: str = "%d/%m/%Y %H:%M") -> LandedFile:
    """Check a landing file's kind, encoding and header; convert it to UTF-8 CSV if needed."""
    try:
        status = path.stat()  # never opened before it is known to be a regular file
    except FileNotFoundError:
        raise InputFileError(path, "the file is missing") from None
    if not stat.S_ISREG(status.st_mode):
        raise InputFileError(path, f"not a regular file (it is {_kind_of(status.st_mode)}); expected a CSV file")
    if status.st_size == 0:
        raise InputFileError(path, "the file is empty")
    head = _sniff_kind(path)
    notes: list[str] = []
    if path.suffix.lower() == ".xlsx":
        if not head.startswith(_ZIP_MAGIC):
            raise InputFileError(path, "named .xlsx but is not an XLSX workbook")
        csv_path = work / f"{path.stem}.from_xlsx.csv"
        _xlsx_to_csv(path, csv_path, timestamp_format)
        notes.append("read from an XLSX workbook (first sheet)")
        path_for_text, encoding = csv_path, "xlsx"
    else:
        _check_not_spreadsheet(path, head)
        path_for_text, encoding = path, None
    if head.startswith(_UTF16_BOMS):
        # Excel's "Unicode text" and some survey tools write UTF-16 with a byte-order mark.
        csv_path = work / f"{path.stem}.utf8.csv"
        _transcode_to_utf8(path, "utf-16", csv_path)
        notes.append("re-encoded from UTF-16 to UTF-8")
        path_for_text, encoding = csv_path, "utf-16"
    text, detected = _decode_head(path_for_text)
    columns = _header(path, text)
    if detected == "cp1252":
        csv_path = work / f"{path.stem}.utf8.csv"
        _transcode_to_utf8(path, "cp1252", csv_path)
        notes.append("re-encoded from Windows-1252 to UTF-8")
        encoding = "cp1252"
    elif encoding is None:
        csv_path, encoding = path, "utf-8"
    return LandedFile(path, csv_path, encoding, columns, notes)


def _diagnose(landed: LandedFile, exc: Exception) -> InputFileError:
    """After DuckDB refused a file, find the row a person should look at (slow path only)."""
    expected = len(landed.columns)
    row = 0
    try:
        with landed.csv_path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, strict=True)
            next(reader, None)
            for row, fields in enumerate(reader, start=1):
                if len(fields) != expected and fields:
                    return InputFileError(
                        landed.source, f"row has {len(fields)} fields where the header has {expected}", row=row
                    )
    except csv.Error as err:
        if "eof" in str(err).lower() or "end of data" in str(err).lower() or "new-line" in str(err).lower():
            return InputFileError(
                landed.source,
                "a quoted value is never closed: the file looks cut short, or a quote is unbalanced",
                row=row + 1,
            )
        return InputFileError(landed.source, f"the file is not valid CSV ({err})", row=row + 1)
    except UnicodeDecodeError:
        return InputFileError(landed.source, "the file is not valid UTF-8 text")
    message = str(exc)
    if "maximum line size" in message.lower():
        return InputFileError(landed.source, f"a row is longer than {MAX_LINE_BYTES // (1024 * 1024)} MB")
    return InputFileError(landed.source, f"the file cannot be read as CSV: {message.splitlines()[0]}")


def _read_csv_sql(landed: LandedFile) -> str:
    """DuckDB's reader over a prepared CSV: the header's columns given explicitly, every one as
    text (no type sniffing), and strict mode, so a row with a wrong number of fields is an error
    rather than a silently dropped row."""
    types = "{" + ", ".join(f"'{c.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for c in landed.columns) + "}"
    return (
        f"read_csv({lit(str(landed.csv_path))}, header = false, skip = 1, auto_detect = false, columns = {types}, "
        "delim = ',', quote = '\"', escape = '\"', strict_mode = true, null_padding = false, "
        f"max_line_size = {MAX_LINE_BYTES}, buffer_size = {2 * MAX_LINE_BYTES}, encoding = 'utf-8')"
    )


def _finish(landed: LandedFile) -> None:
    if landed.csv_path != landed.source:
        # A converted copy holds the same (personal) data as the raw table: keep only that.
        landed.csv_path.unlink(missing_ok=True)


def load_csv_table(con: duckdb.DuckDBPyConnection, landed: LandedFile, table: str) -> int:
    """Copy a prepared CSV into `table`, every column as text, in file order; returns rows.

    For the small files (the frame, the published figures): the copy keeps the file's order, so
    a row's `rowid + 1` is its record number.
    """
    try:
        with setting(con, "preserve_insertion_order", "true"):
            written = con.execute(f"create or replace table {table} as select * from {_read_csv_sql(landed)}").fetchall()
    except duckdb.Error as exc:
        raise _diagnose(landed, exc) from None
    finally:
        _finish(landed)
    return int(written[0][0])


def load_export_table(con: duckdb.DuckDBPyConnection, landed: LandedFile, table: str, key: str = "response_id") -> int:
    """Copy the export into `table`, every column as text, with `source_row`, the record number
    (1 = the first submission) of each row; returns rows.

    A copy that keeps the file's order runs on one thread and took twice as long at 1M rows as a
    parallel one. So the file is read twice: once in order for just the key and its record
    number, which is cheap, and once in parallel for every column, each row finding its record
    number by its key. The key must therefore be present and unique, as the export format
    requires of `response_id` anyway: a file where it is not is refused here, naming the row.
    """
    records = "_export_records"
    try:
        with setting(con, "preserve_insertion_order", "true"):
            # kept in file order, so a row's rowid + 1 is its record number
            con.execute(f"create or replace temp table {records} as select \"{key}\" as record_key from {_read_csv_sql(landed)}")
        _refuse_bad_keys(con, landed, records, key)
        # DuckDB guesses a CSV file's rows from a small sample and would build the join's hash table
        # from the wide file; the build side is left as written: the narrow record numbers.
        disabled = current_setting(con, "disabled_optimizers")
        with setting(con, "preserve_insertion_order", "false"), \
                setting(con, "disabled_optimizers", ",".join(filter(None, [disabled, "build_side_probe_side"]))):
            written = con.execute(
                f"create or replace table {table} as "
                f"select r.{RECORD_COLUMN}, e.* from {_read_csv_sql(landed)} e "
                f"join (select rowid + 1 as {RECORD_COLUMN}, record_key from {records}) r on r.record_key = e.\"{key}\""
            ).fetchall()
    except duckdb.Error as exc:
        raise _diagnose(landed, exc) from None
    finally:
        con.execute(f"drop table if exists {records}")
        _finish(landed)
    return int(written[0][0])


def _refuse_bad_keys(con: duckdb.DuckDBPyConnection, landed: LandedFile, records: str, key: str) -> None:
    """A key that is missing, not a whole number, or shared by two rows refuses the file: it
    identifies every outcome. The first missing one is named before any duplicate."""
    missing = con.execute(
        f"select min(rowid) + 1 from {records} where try_cast(trim(record_key) as bigint) is null"
    ).fetchall()[0][0]
    if missing is not None:
        raise InputFileError(landed.source, f"{key} is missing or not a whole number", row=int(missing), column=key)
    duplicate = con.execute(
        f"""select try_cast(trim(record_key) as bigint) as id, count(*), min(rowid) + 1 as first_row from {records}
            group by id having count(*) > 1 order by first_row limit 1"""
    ).fetchall()
    if duplicate:
        value, count, first = duplicate[0]
        raise InputFileError(landed.source, f"{key} {value} appears more than once ({count} rows share an id)",
                             row=int(first), column=key)


def land_export(con: duckdb.DuckDBPyConnection, landing: Path, qn: Questionnaire, year: int, work: Path) -> tuple[LandedFile, int]:
    path = find_export(landing)
    landed = prepare(path, work, qn.timestamp_format)
    missing = [c for c in qn.expected_columns if c not in landed.columns]
    if len(missing) == len(qn.expected_columns):
        first = ",".join(landed.columns)[:80]
        raise InputFileError(
            path, f"this does not look like a survey export: its first line ({first!r}) names none of the export's columns", row=0
        )
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        raise InputFileError(path, f"required column(s) missing from the header: {shown}", row=0, column=missing[0])
    if RECORD_COLUMN in landed.columns:
        raise InputFileError(path, f"the export has a column named {RECORD_COLUMN}, a name the pipeline keeps for each "
                                   "row's record number; rename it", row=0, column=RECORD_COLUMN)
    unknown = [c for c in landed.columns if c not in set(qn.expected_columns)]
    if unknown:
        landed.notes.append(f"{len(unknown)} column(s) not in questionnaire {qn.version} ignored: {', '.join(unknown[:10])}")
    table = f"raw.survey_export_{int(year)}"
    rows = load_export_table(con, landed, table)
    if rows == 0:
        raise InputFileError(path, "the export has a header but no submission rows")
    return landed, rows


def land_frame(con: duckdb.DuckDBPyConnection, landing: Path, year: int, work: Path) -> int:
    path = landing / "frame.csv"
    landed = prepare(path, work)
    missing = [c for c in FRAME_COLUMNS if c not in landed.columns]
    if missing:
        raise InputFileError(path, f"required column(s) missing from the header: {', '.join(missing)}", row=0, column=missing[0])
    table = f"raw.frame_{int(year)}"
    rows = load_csv_table(con, landed, table)
    if rows == 0:
        raise InputFileError(path, "the survey frame lists no CSPs")
    blank = con.execute(
        f"select rowid + 1 from {table} where nullif(trim(csp_code), '') is null or nullif(trim(csp_name), '') is null limit 1"
    ).fetchall()
    if blank:
        raise InputFileError(path, "a CSP has no code or no name", row=int(blank[0][0]))
    # The duplicated code met first in the file, with its rows: the row lists are built for that
    # one code only, not for every code of a frame that may list a million CSPs.
    duplicate = con.execute(
        f"""with first_duplicate as (
                select upper(trim(csp_code)) as code, count(*) as listed, min(rowid) as first_row from {table}
                group by 1 having count(*) > 1 order by first_row limit 1
            )
            select d.code, d.listed, list(t.rowid + 1 order by t.rowid)
            from first_duplicate d join {table} t on upper(trim(t.csp_code)) = d.code
            group by d.code, d.listed"""
    ).fetchall()
    if duplicate:
        code, count, rows = duplicate[0]
        raise InputFileError(
            path, f"CSP {code} is listed {count} times (lines {', '.join(str(line_of_record(path, r)) for r in rows)})",
            row=int(rows[1]), column="csp_code"
        )
    return rows


def land_published(con: duckdb.DuckDBPyConnection, landing: Path, year: int, work: Path) -> int | None:
    """Figures already published for the year (optional), to reconcile against."""
    path = landing / "published.csv"
    table = f"raw.published_{int(year)}"
    if not path.exists():
        # An empty table, so reconciliation has nothing to compare rather than nothing to read.
        columns = ", ".join(f"{c} VARCHAR" for c in PUBLISHED_COLUMNS)
        con.execute(f"create or replace table {table} ({columns})")
        return None
    landed = prepare(path, work)
    missing = [c for c in PUBLISHED_COLUMNS[:5] if c not in landed.columns]
    if missing:
        raise InputFileError(path, f"required column(s) missing from the header: {', '.join(missing)}", row=0, column=missing[0])
    rows = load_csv_table(con, landed, table)
    _refuse_unreadable_published_rows(con, path, table)
    return rows


def _refuse_unreadable_published_rows(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    """Every row of published.csv must be read exactly, or the file is refused with the row named:
    a figure that cannot be read would otherwise drop out of the reconciliation unseen."""
    from iom_pipeline.questionnaire import all_questionnaires

    known = sorted({("response", "responded")} | {
        (q.id, o.id) for qn in all_questionnaires() for q in qn.questions for o in [*q.options, *q.derived_options]
    })
    pairs = ", ".join(f"('{q}', '{o}')" for q, o in known)  # ids from the questionnaires: [a-z0-9_]
    bad = con.execute(
        f"""
        with known(question_id, option_id) as (values {pairs})
        select rowid + 1 as row, column_name, value, problem from (
            select rowid, 'survey_year' as column_name, survey_year as value, 'is not a year (four digits, e.g. 2013)' as problem
            from {table} where not regexp_full_match(coalesce(trim(survey_year), ''), '[0-9]{{4}}')
            union all
            select rowid, 'question_id, option_id', concat_ws('/', question_id, option_id),
                   'is not a question and option of any questionnaire'
            from {table} p where not exists (
                select 1 from known k where k.question_id = trim(p.question_id) and k.option_id = trim(p.option_id))
            union all
            select rowid, 'published_pct', published_pct, 'is not a whole percentage from 0 to 100'
            from {table} where nullif(trim(published_pct), '') is not null
              and not (regexp_full_match(trim(published_pct), '[0-9]{{1,3}}') and try_cast(trim(published_pct) as integer) <= 100)
            union all
            select rowid, 'published_n', published_n, 'is not a whole number'
            from {table} where nullif(trim(published_n), '') is not null and not regexp_full_match(trim(published_n), '[0-9]{{1,9}}')
        )
        order by rowid, column_name
        limit 1
        """
    ).fetchall()
    if bad:
        row, column, value, problem = bad[0]
        shown = "(empty)" if value is None or not str(value).strip() else repr(str(value)[:60])
        raise InputFileError(path, f"{column} {shown} {problem}", row=int(row), column=column.split(",")[0])


def clear_work(work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
