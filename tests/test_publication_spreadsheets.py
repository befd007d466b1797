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


# -- what a reader sees: the displayed text of every cell -----------------------------------
#
# Both readers below interpret the files as a spreadsheet program would, independently of the
# writer: the XLSX number format code of each cell, and the ODS cell's data style (with its
# conditional maps, as LibreOffice writes "+0;-0;0"). The ODS text each cell carries must agree
# with its style, or the file would read differently in different programs.

OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
NUMBER = "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0"


def excel_display(value, code: str) -> str:
    """The text Excel shows for a value under a number format code (the codes used here)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if code == "General":
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    sections = code.split(";")
    if len(sections) == 1:
        section, minus = sections[0], value < 0
    elif value > 0 or (value == 0 and len(sections) == 2):
        section, minus = sections[0], False
    elif value < 0:
        section, minus = sections[1], False  # the negative section shows the magnitude
    else:
        section, minus = sections[2], False
    digits = [i for i, ch in enumerate(section) if ch in "0#"]
    prefix, body, suffix = section[: digits[0]], section[digits[0] : digits[-1] + 1], section[digits[-1] + 1 :]
    assert set(prefix + suffix) <= set("+-"), f"format code {code!r} not understood by this reader"
    places = len(body.split(".")[1]) if "." in body else 0
    number = format(abs(value), f"{',' if ',' in body else ''}.{places}f")
    return ("-" if minus else "") + prefix + number + suffix


def ods_number_styles(doc) -> dict[str, dict]:
    from odf.number import NumberStyle

    styles = {}
    for ns in doc.automaticstyles.getElementsByType(NumberStyle) + doc.styles.getElementsByType(NumberStyle):
        parts, maps = [], []
        for child in ns.childNodes:
            if child.qname == (NUMBER, "text"):
                parts.append(("text", "".join(str(t) for t in child.childNodes)))
            elif child.qname == (NUMBER, "number"):
                parts.append(("number", {
                    "places": int(child.attributes.get((NUMBER, "decimal-places"), 0)),
                    "grouping": child.attributes.get((NUMBER, "grouping")) == "true",
                }))
            elif child.qname == (STYLE, "map"):
                maps.append((child.attributes[(STYLE, "condition")], child.attributes[(STYLE, "apply-style-name")]))
        styles[ns.getAttribute("name")] = {"parts": parts, "maps": maps}
    return styles


def _condition(condition: str, value: float) -> bool:
    import re

    match = re.fullmatch(r"value\(\)\s*(<=|>=|<|>|=|!=)\s*(-?[\d.]+)", condition)
    assert match, f"map condition {condition!r} not understood by this reader"
    op, limit = match.group(1), float(match.group(2))
    return {"<": value < limit, ">": value > limit, "<=": value <= limit, ">=": value >= limit,
            "=": value == limit, "!=": value != limit}[op]


def ods_style_display(styles: dict, name: str | None, value: float, mapped: bool = False) -> str:
    """The text LibreOffice shows for a float under a data style: a style chosen by a map
    condition shows the magnitude with its own signs; otherwise a negative number gets '-'."""
    if name is None:  # no data style: the program's General format
        return str(int(value)) if value.is_integer() else repr(value)
    style = styles[name]
    for condition, target in style["maps"]:
        if _condition(condition, value):
            return ods_style_display(styles, target, value, mapped=True)
    out = "-" if value < 0 and not mapped else ""
    for kind, part in style["parts"]:
        if kind == "text":
            out += part
        else:
            out += format(abs(value), f"{',' if part['grouping'] else ''}.{part['places']}f")
    return out


def xlsx_displayed(path: Path) -> dict[str, list[list[str]]]:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    return {
        ws.title: [[excel_display(c.value, c.number_format) for c in row] for row in ws.iter_rows()]
        for ws in wb.worksheets
    }


def ods_displayed(path: Path) -> tuple[dict[str, list[list[str]]], list[tuple]]:
    """(sheet -> rows of displayed text, cells whose own text disagrees with their style)."""
    from odf import teletype
    from odf.namespaces import TABLENS
    from odf.opendocument import load
    from odf.style import Style
    from odf.table import Table, TableCell, TableRow

    doc = load(str(path))
    numbers = ods_number_styles(doc)
    data_style = {
        s.getAttribute("name"): s.attributes.get((STYLE, "data-style-name"))
        for s in doc.automaticstyles.getElementsByType(Style)
    }
    sheets, disagreements = {}, []
    for table in doc.spreadsheet.getElementsByType(Table):
        rows = []
        for row in table.getElementsByType(TableRow):
            cells = []
            for cell in row.getElementsByType(TableCell):
                repeat = int(cell.attributes.get((TABLENS, "number-columns-repeated"), 1))
                kind = cell.attributes.get((OFFICE, "value-type"))
                text = teletype.extractText(cell)
                if kind == "float":
                    value = float(cell.attributes[(OFFICE, "value")])
                    shown = ods_style_display(numbers, data_style.get(cell.attributes.get((TABLENS, "style-name"))), value)
                    if shown != text:
                        disagreements.append((table.getAttribute("name"), value, shown, text))
                else:
                    shown = text
                cells.extend([shown] * repeat)
            rows.append(cells)
        sheets[table.getAttribute("name")] = rows
    return sheets, disagreements


def trimmed_text(rows: list[list[str]]) -> list[list[str]]:
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


@pytest.fixture(scope="module")
def big_numbers(marts, tmp_path_factory):
    """The fixture with a frame of 1,234 CSPs, so counts need a thousands separator."""
    changed = {k: v.copy() for k, v in marts.items()}
    qs = changed["question_summary"]
    qs.loc[qs.question_id == "response", "base_n"] = 1234
    out = tmp_path_factory.mktemp("big")
    return write_spreadsheets(2013, changed, out, synthetic=False)


def test_readers_understand_signs_and_separators():
    """The two readers themselves, on values typed by hand."""
    assert excel_display(1, "+0;-0;0") == "+1"
    assert excel_display(-3, "+0;-0;0") == "-3"
    assert excel_display(0, "+0;-0;0") == "0"
    assert excel_display(1234, "#,##0") == "1,234"
    assert excel_display(-2, "0") == "-2"
    assert excel_display(4.5, "0.0") == "4.5"
    styles = {
        "plain": {"parts": [("number", {"places": 0, "grouping": False})], "maps": [("value()>0", "pos"), ("value()<0", "neg")]},
        "pos": {"parts": [("text", "+"), ("number", {"places": 0, "grouping": False})], "maps": []},
        "neg": {"parts": [("text", "-"), ("number", {"places": 0, "grouping": False})], "maps": []},
        "unsigned": {"parts": [("number", {"places": 0, "grouping": True})], "maps": []},
    }
    assert [ods_style_display(styles, "plain", v) for v in (1.0, -1.0, 0.0)] == ["+1", "-1", "0"]
    assert ods_style_display(styles, "unsigned", 1234.0) == "1,234"
    assert ods_style_display(styles, "unsigned", 1.0) == "1"  # the style the ODS used for changes


@pytest.mark.parametrize("which", ["written", "big_numbers"])
def test_xlsx_and_ods_show_the_same_text_in_every_cell(which, request):
    paths = request.getfixturevalue(which)
    xlsx = xlsx_displayed(paths[0])
    ods, disagreements = ods_displayed(paths[1])
    assert not disagreements, disagreements[:5]  # (sheet, value, shown by its style, its own text)
    assert list(xlsx) == list(ods)
    for name in xlsx:
        assert trimmed_text(xlsx[name]) == trimmed_text(ods[name]), name


def test_signs_and_separators_in_both_files(written, big_numbers):
    for displayed in (xlsx_displayed(written[0]), ods_displayed(written[1])[0]):
        figure_7 = {row[0]: row for row in displayed["Figure_7"] if row}
        # Other agencies: 13 and 13 per cent, a change of +1 computed from the unrounded figures.
        assert figure_7["Other agencies"][1:4] == ["13", "13", "+1"]
        assert figure_7["Police"][3] == "-1"
        assert figure_7["Housing services"][3] == "+16"
    for displayed in (xlsx_displayed(big_numbers[0]), ods_displayed(big_numbers[1])[0]):
        response = [row for row in displayed["Response"] if row and row[0] == "2013"]
        assert response[0][:2] == ["2013", "1,234"]


def test_change_note_on_each_sheet_of_changes(written):
    note = (
        "Changes are calculated from unrounded percentages, so they may differ from the difference "
        "between the rounded percentages shown."
    )
    for displayed in (xlsx_displayed(written[0]), ods_displayed(written[1])[0]):
        for name in ("Comparison", "Figure_7"):
            assert note in [row[0] for row in displayed[name] if row], name
        assert note not in [row[0] for row in displayed["Figure_1"] if row]


SOFFICE = Path("/usr/bin/soffice")


@pytest.mark.skipif(not SOFFICE.exists(), reason="LibreOffice (soffice) not installed")
def test_libreoffice_shows_the_same_text_from_both_files(written, tmp_path):
    """A spreadsheet program's own reading: LibreOffice saves every sheet of each file as the
    cells are shown, and the two agree."""
    import subprocess

    shown = {}
    for path in written[:2]:
        out = tmp_path / path.suffix.lstrip(".")
        subprocess.run(
            [str(SOFFICE), "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
             "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1",
             "--outdir", str(out), str(path)],
            check=True, capture_output=True, timeout=300,
        )
        shown[path.suffix] = {p.name.split("-", 1)[1]: p.read_text(encoding="utf-8") for p in out.glob("*.csv")}
    assert len(shown[".xlsx"]) == 16 and shown[".xlsx"].keys() == shown[".ods"].keys()
    for sheet, text in shown[".xlsx"].items():
        assert text == shown[".ods"][sheet], sheet
    assert "Other agencies,13,13,+1," in shown[".ods"]["Figure_7.csv"]
