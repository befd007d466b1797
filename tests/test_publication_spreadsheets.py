"""Spreadsheets: one accessible workbook per year, as XLSX and ODS, with the same content."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from iom_pipeline.publication import write_spreadsheets
from iom_pipeline.publication.data import read_marts_csv

FIXTURES = Path(__file__).parent / "fixtures" / "publication"
TABLE_SHEETS = [
    "Table_1",
    "Figure_1",
    "Figure_2",
    "Figure_3",
    "Figure_4",
    "Figure_5",
    "Figure_6",
    "Figure_7",
    "Comparison",
    "Response",
    "Bases",
    "Submissions",
    "Warnings",
]


@pytest.fixture(scope="module")
def marts():
    marts = read_marts_csv(FIXTURES)
    # A label that would be a formula if written as is.
    qs = marts["question_summary"]
    qs.loc[(qs.question_id == "monitoring") & (qs.option_id == "idiom"), "option_label"] = '=HYPERLINK("x")'
    qs.loc[(qs.question_id == "iom_in_place"), "question_text"] = "@Does your CSP have IOM arrangements in place?"
    return marts


@pytest.fixture(scope="module")
def written(marts, tmp_path_factory):
    out = tmp_path_factory.mktemp("sheets")
    return write_spreadsheets(2013, marts, out, synthetic=True)


def xlsx_sheets(path: Path) -> dict[str, list[list]]:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def ods_sheets(path: Path) -> dict[str, list[list]]:
    """Cell values from an ODS: floats for numbers, text otherwise, None for empty."""
    from odf import teletype
    from odf.namespaces import TABLENS
    from odf.opendocument import load
    from odf.table import Table, TableCell, TableRow

    doc = load(str(path))
    sheets = {}
    for table in doc.spreadsheet.getElementsByType(Table):
        rows = []
        for row in table.getElementsByType(TableRow):
            cells = []
            for cell in row.getElementsByType(TableCell):
                repeat = int(cell.attributes.get((TABLENS, "number-columns-repeated"), 1))
                kind = cell.attributes.get(("urn:oasis:names:tc:opendocument:xmlns:office:1.0", "value-type"))
                if kind == "float":
                    value = float(cell.attributes[("urn:oasis:names:tc:opendocument:xmlns:office:1.0", "value")])
                elif kind == "string":
                    value = teletype.extractText(cell)
                else:
                    value = None
                cells.extend([value] * repeat)
            rows.append(cells)
        sheets[table.getAttribute("name")] = rows
    return sheets


def trimmed(rows: list[list]) -> list[list]:
    """Rows without trailing empty cells, numbers as floats (XLSX ints vs ODS floats)."""
    out = []
    for row in rows:
        row = [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in row]
        while row and row[-1] is None:
            row.pop()
        out.append(row)
    return out


def test_files_written(written):
    names = [p.name for p in written]
    assert names[:2] == ["iom_2013_tables.xlsx", "iom_2013_tables.ods"]
    assert {"table_1.csv", "response.csv", "submissions.csv", "warnings.csv", "comparison.csv"} <= set(names)


def test_sheets_in_order(written):
    xlsx = xlsx_sheets(written[0])
    assert list(xlsx) == ["Cover", "Contents", "Notes", *TABLE_SHEETS]
    assert list(ods_sheets(written[1])) == list(xlsx)


def test_same_content_in_xlsx_and_ods(written):
    xlsx, ods = xlsx_sheets(written[0]), ods_sheets(written[1])
    for name in xlsx:
        assert trimmed(xlsx[name]) == trimmed(ods[name]), name


def test_layout_follows_the_guidance(written):
    from openpyxl import load_workbook

    wb = load_workbook(written[0])
    sheets = xlsx_sheets(written[0])
    assert sheets["Cover"][0][0].startswith("Integrated Offender Management")
    cover = [r[0] for r in sheets["Cover"]]
    assert "Warning: synthetic data" in cover and "Contact" in cover and "Source" in cover
    for ws in wb.worksheets:
        assert not ws.merged_cells.ranges, ws.title
        assert ws["A1"].value, f"{ws.title} has no title in A1"
        assert ws["A1"].font.bold
    # Contents links to every table sheet.
    contents = wb["Contents"]
    links = {c.value: c.hyperlink.location if c.hyperlink.location else c.hyperlink.target
             for c in contents["A"] if c.hyperlink}
    assert set(TABLE_SHEETS) <= set(links)
    # Each table sheet: title, notes, then one table with a header row and no blank rows.
    for name in TABLE_SHEETS:
        ws = wb[name]
        assert len(ws.tables) == 1, name
        table = next(iter(ws.tables.values()))
        first_row = int("".join(ch for ch in table.ref.split(":")[0] if ch.isdigit()))
        rows = list(ws.iter_rows(min_row=1, values_only=True))
        assert all(any(v is not None for v in row) for row in rows), f"{name} has a blank row"
        assert all(row[0] for row in rows[:first_row - 1]), name
        header = rows[first_row - 1]
        assert all(isinstance(h, str) and h for h in header), name


def test_values_match_the_csv_and_mart(written, marts):
    sheets = xlsx_sheets(written[0])
    rows = sheets["Table_1"]
    header_at = next(i for i, r in enumerate(rows) if r[0] == "Question")
    body = rows[header_at + 1:]
    yes = next(r for r in body if r[1] == "Yes")
    assert yes[2:5] == [98, 181, 184]
    with (written[0].parent / "table_1.csv").open(encoding="utf-8", newline="") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert [int(r["percentage"]) for r in csv_rows] == [r[2] for r in body]


def test_shorthand_explained_in_notes(written):
    sheets = xlsx_sheets(written[0])
    notes = [r[1] for r in sheets["Notes"][3:]]
    assert any(n.startswith("[c] means") for n in notes)
    assert any("synthetic" in n for n in notes)
    header = sheets["Table_1"][next(i for i, r in enumerate(sheets["Table_1"]) if r[0] == "Question")]
    assert any("[note" in h for h in header)


def test_formulas_neutralised_in_every_format(written):
    xlsx, ods = xlsx_sheets(written[0]), ods_sheets(written[1])
    assert "'=HYPERLINK(\"x\")" in [c for r in xlsx["Figure_5"] for c in r]
    assert "'=HYPERLINK(\"x\")" in [c for r in ods["Figure_5"] for c in r]
    table_1 = [c for r in xlsx["Table_1"] for c in r if isinstance(c, str)]
    assert "'@Does your CSP have IOM arrangements in place?" in table_1
    assert not any(c.startswith(("=", "@", "+")) for sheet in xlsx.values() for r in sheet for c in r if isinstance(c, str))
    assert not any(c.startswith(("=", "@", "+")) for sheet in ods.values() for r in sheet for c in r if isinstance(c, str))
    with (written[0].parent / "table_1.csv").open(encoding="utf-8", newline="") as fh:
        text = fh.read()
    assert "'@Does your CSP" in text


def test_negative_changes_stay_numeric(written):
    xlsx = xlsx_sheets(written[0])
    changes = [r[3] for r in xlsx["Figure_7"] if r and r[0] == "Police"]
    assert changes == [-1]
