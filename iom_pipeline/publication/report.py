"""The year's report: one self-contained, accessible HTML file.

Sections and sentences come from assets/publication/report.yaml, the page layout from
report.html.j2; every number is read from the marts. Figures are inlined as SVG data URIs
with their alt text and, in a <details> block, their data table. The file has no scripts and
makes no requests: CSS is inline and images are embedded.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from iom_pipeline.publication.config import Settings, figure_spec, load_settings, report_config, template_path
from iom_pipeline.publication.data import SummaryView, comparison_rows, counts_by
from iom_pipeline.publication.numbers import fmt_int, fmt_signed, is_missing
from iom_pipeline.publication.release import EMAIL, is_placeholder, release_for
from iom_pipeline.publication.tables import PublishedTable, build_tables, plain_heading
from iom_pipeline.publication.text import render_sentence, render_text

MINUS = "\u2212"


# ---------------------------------------------------------------------------------------------
# Tables as HTML view models


@dataclass
class Cell:
    text: str
    header: bool = False
    numeric: bool = False


@dataclass
class HtmlTable:
    id: str
    caption: str
    headings: list[tuple[str, bool]]  # (text, numeric)
    groups: list[tuple[str | None, list[list[Cell]]]]
    notes: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return len(self.headings)


def _fmt(value: Any, kind: str) -> str:
    if value is None or is_missing(value):
        return ""
    if isinstance(value, str):
        return value
    if kind == "year":
        return str(int(value))
    if kind == "ci":
        return f"{float(value):.1f}"
    if kind == "change":
        return fmt_signed(value).replace("-", MINUS)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int) or (isinstance(value, float) and float(value).is_integer()):
        return fmt_int(int(value))
    return str(value)


def html_table(table: PublishedTable, caption: str | None = None) -> HtmlTable:
    columns = [c for c in table.shown_columns if c.key != table.group_by]
    numeric = {c.key: c.kind in ("int", "pct", "ci", "change") for c in columns}
    groups: list[tuple[str | None, list[list[Cell]]]] = []
    for row in table.rows:
        cells = [
            Cell(_fmt(row.get(c.key), c.kind), header=c.row_header or (i == 0), numeric=numeric[c.key])
            for i, c in enumerate(columns)
        ]
        group = row.get(table.group_by) if table.group_by else None
        if groups and groups[-1][0] == group:
            groups[-1][1].append(cells)
        else:
            groups.append((group, [cells]))
    return HtmlTable(
        id=table.id,
        caption=caption or table.title,
        headings=[(c.short or plain_heading(c.heading), numeric[c.key]) for c in columns],
        groups=groups,
        notes=list(table.notes),
    )


# ---------------------------------------------------------------------------------------------
# Figures


def _svg_size(svg_path: Path) -> tuple[int, int] | None:
    """The SVG's size in CSS pixels (matplotlib writes points)."""
    head = Path(svg_path).read_text(encoding="utf-8")[:2000]
    match = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"[^>]*\sheight="([\d.]+)pt"', head)
    if not match:
        return None
    return round(float(match.group(1)) * 4 / 3), round(float(match.group(2)) * 4 / 3)


def _data_uri(path: Path) -> str:
    path = Path(path)
    mime = {".svg": "image/svg+xml", ".png": "image/png"}[path.suffix.lower()]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _relative(path: Path, start: Path) -> str | None:
    """A link from the report to a sibling file, or None when it would leave the folder."""
    try:
        rel = os.path.relpath(Path(path).resolve(), Path(start).resolve())
    except ValueError:
        return None
    return None if rel.startswith("..") else rel.replace(os.sep, "/")


@dataclass
class FigureBlock:
    id: str
    number: str
    caption: str  # "Figure 1: Agencies involved ..., 2013"
    headline: str
    finding: bool
    src: str
    alt: str
    width: int | None
    height: int | None
    notes: list[str]
    table: HtmlTable | None
    downloads: list[tuple[str, str]]  # (label, href)


def _figure_block(figure: dict, tables: dict[str, PublishedTable], report_dir: Path) -> FigureBlock:
    svg = Path(figure["svg"])
    size = _svg_size(svg)
    table = tables.get(figure["id"])
    downloads = []
    for label, key in (("Data (CSV)", "csv"), ("Chart (SVG)", "svg"), ("Chart (PNG)", "png")):
        if figure.get(key):
            href = _relative(Path(figure[key]), report_dir)
            if href:
                downloads.append((label, href))
    number = figure.get("number") or figure["id"]
    return FigureBlock(
        id=figure["id"],
        number=number,
        caption=figure.get("description") or figure["title"],
        headline=figure["title"],
        finding=bool(figure.get("finding", True)),
        src=_data_uri(svg),
        alt=figure["alt_text"],
        width=size[0] if size else None,
        height=size[1] if size else None,
        notes=list(table.notes) if table else [],
        table=html_table(table, caption=f"Data for {number}: " + (table.title.split(": ", 1)[-1])) if table else None,
        downloads=downloads,
    )


# ---------------------------------------------------------------------------------------------
# Sentences


def _sentences(paragraphs: list, render) -> list[str]:
    out = []
    for paragraph in paragraphs or []:
        sentences = []
        for item in paragraph:
            if isinstance(item, dict):
                result = render(item["text"], item.get("if_suppressed"))
            else:
                result = render(item, None)
            if result is not None:
                sentences.append(result[0])
        if sentences:
            out.append(" ".join(sentences))
    return out


def _outcome_counts(submission_outcome: pd.DataFrame | None, year: int) -> dict[str, int]:
    if submission_outcome is None or len(submission_outcome) == 0:
        return {}
    df = submission_outcome
    if "survey_year" in df.columns:
        df = df[pd.to_numeric(df["survey_year"]).astype(int) == int(year)]
    return {str(k[0]): v for k, v in counts_by(df, ["outcome"]).items()}


def _warning_total(quality_warning: pd.DataFrame | None, year: int) -> int:
    if quality_warning is None or len(quality_warning) == 0:
        return 0
    df = quality_warning
    if "survey_year" in df.columns:
        df = df[pd.to_numeric(df["survey_year"]).astype(int) == int(year)]
    return sum(counts_by(df, ["warning"]).values())


def _method(year_comparison: pd.DataFrame | None, year: int, names: dict) -> str | None:
    if year_comparison is None or len(year_comparison) == 0 or "method" not in year_comparison.columns:
        return None
    df = year_comparison[pd.to_numeric(year_comparison["year_to"]).astype(int) == int(year)]
    methods = sorted({str(m) for m in df["method"].dropna()})
    if not methods:
        return None
    return "; ".join(names.get(m, m.replace("_", " ")) for m in methods)


# ---------------------------------------------------------------------------------------------
# The report


@dataclass
class Section:
    id: str
    heading: str
    paragraphs: list[str]
    blocks: list[tuple[str, Any]]  # ("figure", FigureBlock) | ("table", HtmlTable)


def render_report(
    year: int,
    marts: dict[str, pd.DataFrame],
    figures: list[dict],
    out_path: Path,
    synthetic: bool,
    *,
    settings: Settings | None = None,
) -> Path:
    """Write the year's report to out_path (one self-contained HTML file) and return the path.

    marts: question_summary, submission_outcome, quality_warning, year_comparison (may be
    empty). figures: what render_figures returned (their SVGs are inlined). synthetic: the
    input is the synthetic reconstruction, so the report carries a warning banner.

    The release metadata (status, dates, contact) comes from releases.yaml. Missing or
    placeholder metadata is shown as it stands and does not stop the report: the release
    check (`release.release_problems`) is what refuses to publish it.
    """
    import jinja2

    settings = settings or load_settings()
    config = report_config()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    view = SummaryView(marts["question_summary"], year, settings)
    tables = {t.id: t for t in build_tables(year, marts, settings)}
    comparison = comparison_rows(marts.get("year_comparison"), year, None, settings, view)
    outcomes = _outcome_counts(marts.get("submission_outcome"), year)
    warnings_total = _warning_total(marts.get("quality_warning"), year)
    year_from = comparison[0].year_from if comparison else None

    extra = {
        "year": year,
        "threshold": settings.suppress_below_base,
        "symbol": settings.suppression_symbol,
        "submissions": sum(outcomes.values()),
        "outcome": lambda o: outcomes.get(o, 0),
        "warnings_total": warnings_total,
        "method": _method(marts.get("year_comparison"), year, config.get("methods") or {}),
    }

    def render(template: str, if_suppressed: str | None):
        return render_sentence(
            template, view, settings, extra=extra, if_suppressed=if_suppressed, comparison=comparison, year=year
        )

    simple = {"year": year, "year_from": year_from}
    figures_by_id = {f["id"]: f for f in figures}

    def blocks(ids: list[str]) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        for block_id in ids or []:
            if block_id in figures_by_id:
                out.append(("figure", _figure_block(figures_by_id[block_id], tables, out_path.parent)))
            elif block_id in tables:
                out.append(("table", html_table(tables[block_id])))
        return out

    sections: list[Section] = []
    for spec in config["sections"]:
        if spec.get("requires") == "comparison" and not comparison:
            continue
        paragraphs = _sentences(spec.get("paragraphs"), render)
        shown = blocks(spec.get("show"))
        if not paragraphs and not shown:
            continue
        sections.append(Section(spec["id"], render_text(spec["heading"], simple), paragraphs, shown))

    methodology_cfg = config.get("methodology") or {}
    methodology = Section(
        "methodology",
        render_text(methodology_cfg.get("heading", "Methodology"), simple),
        _sentences(methodology_cfg.get("paragraphs"), render),
        [("table", html_table(tables["bases"]))] if methodology_cfg.get("bases_table") and "bases" in tables else [],
    )
    quality_cfg = config.get("data_quality") or {}
    data_quality = Section(
        "data-quality",
        render_text(quality_cfg.get("heading", "Data quality"), simple),
        _sentences(quality_cfg.get("paragraphs"), render) if outcomes else [],
        blocks(quality_cfg.get("show")),
    )

    release = release_for(year, synthetic, settings)

    # Main findings: each table's and figure's headline, in report order.
    findings: list[str] = []
    table_1 = tables.get("table_1")
    if table_1 is not None:
        result = render(figure_spec("table_1").headline, None)
        if result is not None and not result[1]:
            findings.append(result[0])
    for section in sections:
        for kind, block in section.blocks:
            if kind == "figure" and block.finding:
                findings.append(block.headline)

    context = {
        "year": year,
        "title": render_text(settings.title, simple),
        "lead": render_text(" ".join(str(config.get("lead", "")).split()), simple),
        "publisher": settings.publisher,
        "source": render_text(settings.source, simple),
        "release": release,
        "contact_href": (
            f"mailto:{release.contact_email}"
            if not is_placeholder(release.contact_email) and EMAIL.match(release.contact_email)
            else None
        ),
        "synthetic": bool(synthetic),
        "synthetic_warning": render_text(settings.synthetic_warning, simple),
        "findings": findings,
        "sections": [*sections, methodology, data_quality],
        "spreadsheets": [
            (label, href)
            for label, name in (("Tables (XLSX)", f"iom_{year}_tables.xlsx"), ("Tables (ODS)", f"iom_{year}_tables.ods"))
            if (href := name)
        ],
    }
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_path().parent)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    html = env.get_template(template_path().name).render(**context)
    out_path.write_text(html, encoding="utf-8")
    return out_path
