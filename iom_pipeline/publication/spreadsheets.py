"""Every published table in one accessible spreadsheet per year, as XLSX and as ODS.

Laid out as the Government Statistical Service asks for spreadsheets: a cover sheet, a
contents sheet, a notes sheet, then one table per sheet. Each sheet starts with its title in
A1 and its notes in the rows below (no blank rows, no merged cells); the table follows with a
single header row. Shorthand such as [c] sits in the cells and is explained on the Notes sheet.

Both files are written from the same sheet layout (`workbook_layout`), so their content is
the same; ODS is written with odfpy directly. Every cell passes through `safe_cell`. Numbers are
stored as numbers and shown through one set of formats (`FORMATS`): the XLSX number format, the
ODS data style and the text an ODS cell carries are all derived from it, so a change of +1
reads "+1" in both files, and a count of 1234 "1,234".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from iom_pipeline.publication.config import Settings, load_settings
from iom_pipeline.publication.release import release_for
from iom_pipeline.publication.safe_text import safe_cell, write_csv
from iom_pipeline.publication.tables import (
    Column,
    PublishedTable,
    build_tables,
    note_numbers,
    resolve_heading,
)
from iom_pipeline.publication.text import render_text



@dataclass(frozen=True)
class NumberFormat:
    """How a column's numbers are shown: decimal places, thousands separators, and whether a
    positive number carries a plus sign (changes). `places=None` is the spreadsheet's General."""

    places: int | None
    grouping: bool = False
    signed: bool = False

    @property
    def excel(self) -> str:
        """The XLSX number format code: '0', '#,##0', '0.0', '+0;-0;0'."""
        if self.places is None:
            return "General"
        body = ("#,##0" if self.grouping else "0") + ("." + "0" * self.places if self.places else "")
        return f"+{body};-{body};{body}" if self.signed else body

    def text(self, value: int | float) -> str:
        """The number as the format shows it; what an ODS cell carries as its text."""
        if self.places is None:
            return str(value) if isinstance(value, int) else f"{value:.10g}"
        magnitude = f"{abs(value):,.{self.places}f}" if self.grouping else f"{abs(value):.{self.places}f}"
        if float(magnitude.replace(",", "")) == 0:
            return magnitude
        if value < 0:
            return "-" + magnitude
        return ("+" if self.signed else "") + magnitude


GENERAL = NumberFormat(None)
FORMATS = {
    "year": NumberFormat(0),
    "int": NumberFormat(0, grouping=True),
    "pct": NumberFormat(0),
    "ci": NumberFormat(1),
    "change": NumberFormat(0, signed=True),
}
# The XLSX codes, by column kind (text and flag columns hold text: General).
NUMBER_FORMATS = {kind: fmt.excel for kind, fmt in FORMATS.items()}


def number_format(kind: str) -> NumberFormat:
    return FORMATS.get(kind, GENERAL)


def cell_value(value: Any) -> Any:
    """A value as both files store it: formulas neutralised, numbers as numbers, flags as words."""
    value = safe_cell(value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return value


@dataclass
class Sheet:
    """One worksheet: lines above the table (title first), then the table."""

    name: str
    title: str
    lines: list[tuple[str, str]]  # (text, role): role is "text" or "heading"
    header: list[str]
    rows: list[list[Any]]
    kinds: list[str]  # per column: text | year | int | pct | ci | change | flag
    widths: list[int]
    links: dict[int, str] = field(default_factory=dict)  # column index -> link target sheet (by cell text)
    table_name: str | None = None

    @property
    def header_row(self) -> int:
        """1-based row of the table's header."""
        return 1 + len(self.lines) + 1


def _flags(settings: Settings, tables: list[PublishedTable], synthetic: bool) -> dict[str, bool]:
    return {
        "suppression_enabled": settings.suppress_below_base > 0,
        "has_comparison": any(t.id == "comparison" for t in tables),
        "synthetic": bool(synthetic),
    }


def workbook_layout(
    year: int, tables: list[PublishedTable], settings: Settings, synthetic: bool
) -> list[Sheet]:
    """Cover, Contents, Notes and one sheet per table, as plain data."""
    ctx = {"year": year, "suppress_below_base": settings.suppress_below_base}
    notes = [(note_id, render_text(text, ctx)) for note_id, text in note_numbers(settings, _flags(settings, tables, synthetic))]
    numbering = {note_id: i + 1 for i, (note_id, _) in enumerate(notes)}
    symbol = settings.suppression_symbol
    title = render_text(settings.title, ctx)

    release = release_for(year, synthetic, settings)
    cover_lines: list[tuple[str, str]] = [
        (f"This spreadsheet holds the tables published with the report for the {year} survey year.", "text"),
    ]
    if synthetic:
        cover_lines += [("Warning: synthetic data", "heading"), (render_text(settings.synthetic_warning, ctx), "text")]
    cover_lines += [("Statistics status", "heading"), (release.status, "text")]
    if release.status_description:
        cover_lines.append((release.status_description, "text"))
    cover_lines += [
        ("Publication date", "heading"),
        (release.published, "text"),
        ("Next update", "heading"),
        (release.next_update, "text"),
        ("Period covered", "heading"),
        (render_text(settings.period, ctx), "text"),
        ("Source", "heading"),
        (render_text(settings.source, ctx), "text"),
        ("Publisher", "heading"),
        (settings.publisher, "text"),
        ("Contact", "heading"),
        *[(part, "text") for part in (release.contact_name, release.contact_email) if part],
        ("Notes and shorthand", "heading"),
        (f"Notes are on the Notes sheet; it explains shorthand such as {symbol}.", "text"),
    ]
    cover = Sheet("Cover", title, cover_lines, [], [], [], [110])

    table_sheets: list[Sheet] = []
    for table in tables:
        lines: list[tuple[str, str]] = [("This worksheet contains one table.", "text")]
        lines += [(note, "text") for note in table.notes]
        values = table.values()
        if any(v == symbol for row in values for v in row) and "suppression" in numbering:
            lines.append(
                (f"Cells marked {symbol} are not shown because the base is fewer than "
                 f"{settings.suppress_below_base} [note {numbering['suppression']}].", "text")
            )
        if synthetic and "synthetic" in numbering:
            lines.append((f"Synthetic data, not official statistics [note {numbering['synthetic']}].", "text"))
        source_ctx = {**ctx, "year": table.source_years or year}
        lines.append(("Source: " + render_text(settings.source, source_ctx), "text"))
        if any("[note" in c.heading for c in table.shown_columns):
            lines.append(("Some column headings refer to notes; the notes are on the Notes sheet.", "text"))
        columns: list[Column] = table.shown_columns
        table_sheets.append(
            Sheet(
                name=table.sheet_name,
                title=table.title,
                lines=lines,
                header=[resolve_heading(c.heading, numbering) for c in columns],
                rows=values,
                kinds=[c.kind for c in columns],
                widths=[c.width for c in columns],
                table_name=f"tbl_{table.sheet_name}",
            )
        )

    contents = Sheet(
        "Contents",
        "Table of contents",
        [("This worksheet contains one table. Select a sheet name to go to that sheet.", "text")],
        ["Sheet name", "Table title"],
        [["Notes", "Notes used in this spreadsheet"], *[[s.name, s.title] for s in table_sheets]],
        ["text", "text"],
        [16, 90],
        links={0: "sheet"},
        table_name="tbl_Contents",
    )
    notes_sheet = Sheet(
        "Notes",
        "Notes",
        [("This worksheet contains one table. Notes are cited as [note N] in table headings and text.", "text")],
        ["Note number", "Note text"],
        [[f"note {numbering[note_id]}", text] for note_id, text in notes],
        ["text", "text"],
        [14, 110],
        table_name="tbl_Notes",
    )
    return [cover, contents, notes_sheet, *table_sheets]


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def write_xlsx(sheets: list[Sheet], path: Path, title: str, publisher: str) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.table import Table, TableStyleInfo

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = title
    wb.properties.creator = publisher
    wb.properties.language = "en-GB"
    title_font = Font(bold=True, size=15)
    heading_font = Font(bold=True, size=12)
    header_font = Font(bold=True)
    link_font = Font(color="1D70B8", underline="single")
    wrap = Alignment(wrap_text=True, vertical="top")
    right = Alignment(horizontal="right", vertical="top")

    for sheet in sheets:
        ws = wb.create_sheet(sheet.name)
        ws.sheet_properties.tabColor = None
        ws["A1"] = safe_cell(sheet.title)
        ws["A1"].font = title_font
        for i, (text, role) in enumerate(sheet.lines, start=2):
            cell = ws.cell(row=i, column=1, value=safe_cell(text))
            if role == "heading":
                cell.font = heading_font
        for col, width in enumerate(sheet.widths, start=1):
            ws.column_dimensions[_column_letter(col)].width = width
        if not sheet.header:
            for row in ws.iter_rows(min_row=2, max_col=1):
                row[0].alignment = wrap
            continue
        hr = sheet.header_row
        for col, heading in enumerate(sheet.header, start=1):
            cell = ws.cell(row=hr, column=col, value=safe_cell(heading))
            cell.font = header_font
            cell.alignment = Alignment(wrap_text=True, vertical="bottom",
                                       horizontal="right" if sheet.kinds[col - 1] not in ("text", "flag") else "left")
        for r, values in enumerate(sheet.rows, start=hr + 1):
            for col, value in enumerate(values, start=1):
                kind = sheet.kinds[col - 1]
                cell = ws.cell(row=r, column=col, value=cell_value(value))
                if isinstance(cell.value, (int, float)):
                    cell.number_format = number_format(kind).excel
                elif kind not in ("text", "flag"):
                    cell.alignment = right  # shorthand such as [c] in a numeric column
                if sheet.links.get(col - 1) and isinstance(value, str):
                    cell.hyperlink = f"#'{value}'!A1"
                    cell.font = link_font
        if sheet.rows:  # an Excel table needs a data row; an empty one keeps its header only
            ref = f"A{hr}:{_column_letter(len(sheet.header))}{hr + len(sheet.rows)}"
            table = Table(displayName=sheet.table_name or f"tbl_{sheet.name}", ref=ref)
            table.tableStyleInfo = TableStyleInfo(
                name="TableStyleLight1", showRowStripes=False, showColumnStripes=False
            )
            ws.add_table(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_ods(sheets: list[Sheet], path: Path, title: str, publisher: str) -> Path:
    from odf import dc, meta
    from odf.number import Number, NumberStyle, Text as NumberText
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.style import Map, ParagraphProperties, Style, TableCellProperties, TableColumnProperties, TextProperties
    from odf.table import Table, TableColumn, TableRow, TableCell
    from odf.text import A, P

    doc = OpenDocumentSpreadsheet()
    doc.meta.addElement(dc.Title(text=title))
    doc.meta.addElement(dc.Language(text="en-GB"))
    doc.meta.addElement(meta.InitialCreator(text=publisher))

    def cell_style(name: str, bold: bool = False, size: str | None = None, wrap: bool = False,
                   align: str | None = None, data_style: str | None = None) -> Style:
        kwargs = {"name": name, "family": "table-cell"}
        if data_style:
            kwargs["datastylename"] = data_style
        style = Style(**kwargs)
        text_props = {}
        if bold:
            text_props["fontweight"] = "bold"
        if size:
            text_props["fontsize"] = size
        if text_props:
            style.addElement(TextProperties(**text_props))
        if wrap:
            style.addElement(TableCellProperties(wrapoption="wrap", verticalalign="top"))
        if align:
            style.addElement(ParagraphProperties(textalign=align))
        doc.automaticstyles.addElement(style)
        return style

    # Number formats, from the same FORMATS as the XLSX's. A signed format is three styles, as
    # spreadsheet programs write "+0;-0;0": the plain one (zero), mapped to a "+" style for
    # positive numbers and a "-" style for negative ones.
    def number_style(name: str, fmt: NumberFormat, prefix: str = "", maps: tuple = ()) -> NumberStyle:
        ns = NumberStyle(name=name)
        if prefix:
            ns.addElement(NumberText(text=prefix))
        ns.addElement(Number(decimalplaces=str(fmt.places), minintegerdigits="1",
                             grouping="true" if fmt.grouping else "false"))
        for condition, target in maps:
            ns.addElement(Map(condition=condition, applystylename=target))
        # Common styles: odfpy drops automatic styles that only a style:map refers to.
        doc.styles.addElement(ns)
        return ns

    data_styles: dict[str, str] = {}
    for kind, fmt in FORMATS.items():
        name = f"N_{kind}"
        if fmt.signed:
            number_style(f"{name}_pos", fmt, "+")
            number_style(f"{name}_neg", fmt, "-")
            number_style(name, fmt, maps=(("value()>0", f"{name}_pos"), ("value()<0", f"{name}_neg")))
        else:
            number_style(name, fmt)
        data_styles[kind] = name
    number_cells = {kind: cell_style(f"ce_{kind}", data_style=ds) for kind, ds in data_styles.items()}
    title_style = cell_style("ce_title", bold=True, size="15pt")
    heading_style = cell_style("ce_heading", bold=True, size="12pt")
    header_style = cell_style("ce_header", bold=True, wrap=True)
    wrap_style = cell_style("ce_wrap", wrap=True)
    right_style = cell_style("ce_right", align="end")

    column_styles: dict[int, Style] = {}

    def column_style(width_chars: int) -> Style:
        if width_chars not in column_styles:
            style = Style(name=f"co{width_chars}", family="table-column")
            style.addElement(TableColumnProperties(columnwidth=f"{width_chars * 0.075:.3f}in"))
            doc.automaticstyles.addElement(style)
            column_styles[width_chars] = style
        return column_styles[width_chars]

    def text_cell(text: str, style: Style | None = None, link: str | None = None) -> TableCell:
        cell = TableCell(valuetype="string", stylename=style) if style else TableCell(valuetype="string")
        para = P()
        if link:
            para.addElement(A(href=link, text=text))
        else:
            para.addText(text)
        cell.addElement(para)
        return cell

    def value_cell(value: Any, kind: str, link: str | None = None) -> TableCell:
        value = cell_value(value)
        if value is None:
            return TableCell()
        if isinstance(value, (int, float)):
            style = number_cells.get(kind)
            cell = TableCell(valuetype="float", value=str(value), stylename=style) if style else TableCell(
                valuetype="float", value=str(value))
            cell.addElement(P(text=number_format(kind).text(value)))
            return cell
        style = right_style if kind not in ("text", "flag") else None
        return text_cell(str(value), style, link)

    for sheet in sheets:
        table = Table(name=sheet.name)
        for width in sheet.widths:
            table.addElement(TableColumn(stylename=column_style(width)))
        row = TableRow()
        row.addElement(text_cell(safe_cell(sheet.title), title_style))
        table.addElement(row)
        for text, role in sheet.lines:
            row = TableRow()
            style = heading_style if role == "heading" else (wrap_style if not sheet.header else None)
            row.addElement(text_cell(safe_cell(text), style))
            table.addElement(row)
        if sheet.header:
            row = TableRow()
            for heading in sheet.header:
                row.addElement(text_cell(safe_cell(heading), header_style))
            table.addElement(row)
            for values in sheet.rows:
                row = TableRow()
                for col, value in enumerate(values):
                    link = f"#{value}.A1" if sheet.links.get(col) and isinstance(value, str) else None
                    row.addElement(value_cell(value, sheet.kinds[col], link))
                table.addElement(row)
        doc.spreadsheet.addElement(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def write_table_csvs(tables: list[PublishedTable], out_dir: Path, skip: set[str]) -> list[Path]:
    paths = []
    for table in tables:
        if table.id in skip:
            continue
        paths.append(write_csv(Path(out_dir) / f"{table.id}.csv", table.header(csv=True), table.values(csv=True)))
    return paths


def write_spreadsheets(
    year: int,
    marts: dict[str, pd.DataFrame],
    out_dir: Path,
    synthetic: bool,
    *,
    settings: Settings | None = None,
) -> list[Path]:
    """Write `iom_<year>_tables.xlsx` and `.ods` (and a CSV of each table that is not a figure).

    Returns the paths written: the XLSX, the ODS, then the CSVs (table_1.csv, comparison.csv,
    response.csv, bases.csv, submissions.csv, warnings.csv, as the year's data allow).
    """
    settings = settings or load_settings()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = build_tables(year, marts, settings)
    sheets = workbook_layout(year, tables, settings, synthetic)
    title = render_text(settings.title, {"year": year})
    xlsx = write_xlsx(sheets, out_dir / f"iom_{year}_tables.xlsx", title, settings.publisher)
    ods = write_ods(sheets, out_dir / f"iom_{year}_tables.ods", title, settings.publisher)
    from iom_pipeline.publication.config import figure_specs

    figure_ids = {s.id for s in figure_specs() if s.is_figure}
    return [xlsx, ods, *write_table_csvs(tables, out_dir, skip=figure_ids)]
