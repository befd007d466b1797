"""The published tables, built once and written three ways (HTML, CSV, XLSX/ODS).

Each `PublishedTable` holds its title, notes, columns and rows with published values: whole
percentages from the mart, `[c]` where the small-base rule suppresses a figure, confidence
limits rounded half up to one decimal place. The report, the CSV files and both spreadsheets
read the same objects, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from iom_pipeline.publication.config import FigureSpec, Settings, figure_specs, load_settings
from iom_pipeline.publication.data import ComparisonRow, MissingData, Stat, SummaryView, comparison_rows, counts_by, in_order
from iom_pipeline.publication.numbers import is_missing
from iom_pipeline.publication.text import render_text


@dataclass(frozen=True)
class Column:
    key: str  # CSV header (snake_case)
    heading: str  # spreadsheet and HTML header
    kind: str = "text"  # text | year | int | pct | ci | change | flag
    csv_only: bool = False  # identifiers for machines, not shown to readers
    width: int = 14  # spreadsheet column width, in characters
    row_header: bool = False  # HTML: <th scope="row">
    short: str | None = None  # HTML heading, when the spreadsheet's is long


@dataclass
class PublishedTable:
    id: str  # file stem and anchor: table_1, figure_1, response, ...
    sheet_name: str  # Table_1, Figure_1, ...
    title: str  # descriptive, with the number: "Table 1: ..."
    columns: list[Column]
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)  # lines shown above the table
    note_refs: list[str] = field(default_factory=list)  # publication.yaml note ids it cites
    caption: str = ""  # HTML caption (defaults to the title)
    group_by: str | None = None  # HTML: a column shown once per group (Table 1's question)
    source_years: str | None = None  # the years its source covers, when not just the survey year

    @property
    def shown_columns(self) -> list[Column]:
        return [c for c in self.columns if not c.csv_only]

    def header(self, csv: bool = False) -> list[str]:
        cols = self.columns if csv else self.shown_columns
        return [c.key if csv else c.heading for c in cols]

    def values(self, csv: bool = False) -> list[list[Any]]:
        cols = self.columns if csv else self.shown_columns
        return [[row.get(c.key) for c in cols] for row in self.rows]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


def _published(stat: Stat, value: Any, settings: Settings) -> Any:
    if stat.suppressed:
        return settings.suppression_symbol
    if is_missing(value):
        return settings.not_available_symbol
    return value


def stat_cells(stat: Stat, settings: Settings) -> dict[str, Any]:
    """A Stat's published cells: percentage, number, base and 95% CI."""
    return {
        "survey_year": None,
        "question_id": stat.question_id,
        "option_id": stat.option_id,
        "category": stat.label,
        "percentage": _published(stat, stat.pct_rounded, settings),
        "number": _published(stat, stat.n, settings),
        "base": stat.base_n,
        "ci_lower_95": _published(stat, stat.ci_lower_1dp, settings),
        "ci_upper_95": _published(stat, stat.ci_upper_1dp, settings),
    }


ID_COLUMNS = [
    Column("survey_year", "Survey year", "year", csv_only=True),
    Column("question_id", "Question id", csv_only=True),
    Column("option_id", "Option id", csv_only=True),
]
STAT_COLUMNS = [
    Column("percentage", "Percentage [note {rounding}]", "pct", width=16),
    Column("number", "Number", "int", width=10),
    Column("base", "Base [note {bases}]", "int", width=12),
    Column("ci_lower_95", "Lower 95% confidence limit [note {confidence_intervals}]", "ci", width=18,
           short="Lower 95% limit"),
    Column("ci_upper_95", "Upper 95% confidence limit [note {confidence_intervals}]", "ci", width=18,
           short="Upper 95% limit"),
]


def context(year: int, settings: Settings, **extra: Any) -> dict[str, Any]:
    return {"year": year, "suppress_below_base": settings.suppress_below_base, **extra}


def _title(spec: FigureSpec, year: int, settings: Settings, **extra: Any) -> str:
    return f"{spec.number}: {render_text(spec.title, context(year, settings, **extra))}"


def spec_notes(spec: FigureSpec, year: int, settings: Settings, **extra: Any) -> list[str]:
    notes = []
    for template in spec.notes:
        text = render_text(template, context(year, settings, **extra))
        if text:
            notes.append(text)
    return notes


def question_table(spec: FigureSpec, view: SummaryView, settings: Settings) -> PublishedTable | None:
    """A `kind: table` entry (Table 1): every option of each listed question."""
    rows = []
    for question_id in spec.questions:
        if not view.has(question_id):
            continue
        stats = view.select(question_id, spec.options, order="questionnaire")
        for stat in stats:
            rows.append({"question": stat.question_text, "answer": stat.label, **stat_cells(stat, settings)})
    if not rows:
        return None
    for row in rows:
        row["survey_year"] = view.year
    notes = spec_notes(spec, view.year, settings)
    return PublishedTable(
        id=spec.id,
        sheet_name=spec.sheet_name,
        title=_title(spec, view.year, settings),
        columns=[
            *ID_COLUMNS,
            Column("question", "Question", width=48, row_header=True),
            Column("answer", "Answer", width=44),
            *STAT_COLUMNS,
        ],
        rows=rows,
        notes=notes,
        note_refs=["rounding", "bases", "confidence_intervals"],
        group_by="question",
    )


def figure_rows(spec: FigureSpec, view: SummaryView) -> list[Stat]:
    return view.select(spec.question_id, spec.options, order=spec.order, keep_last=spec.keep_last)


def figure_table(spec: FigureSpec, view: SummaryView, settings: Settings) -> PublishedTable | None:
    """The data behind a `kind: bar` figure, in the figure's order."""
    if not view.has(spec.question_id):
        return None
    try:
        stats = figure_rows(spec, view)
    except MissingData:
        return None
    rows = [{**stat_cells(s, settings), "survey_year": view.year} for s in stats]
    base = stats[0].base_n if stats else None
    extra = {"base": base}
    return PublishedTable(
        id=spec.id,
        sheet_name=spec.sheet_name,
        title=_title(spec, view.year, settings, **extra),
        columns=[*ID_COLUMNS, Column("category", "Category", width=48, row_header=True), *STAT_COLUMNS],
        rows=rows,
        notes=spec_notes(spec, view.year, settings, **extra),
        note_refs=["rounding", "bases", "confidence_intervals"],
    )


def comparison_data(
    spec: FigureSpec, view: SummaryView, year_comparison: pd.DataFrame | None, settings: Settings
) -> list[ComparisonRow]:
    rows = comparison_rows(year_comparison, view.year, spec.question_id, settings, view)
    if spec.options is not None:
        rows = [r for r in rows if r.option_id in spec.options]
    return in_order(rows, spec.order, spec.keep_last)


def comparison_context(rows: list[ComparisonRow], year: int) -> dict[str, Any]:
    first = rows[0]
    return {
        "year_from": first.year_from,
        "base_from": first.base_n_from,
        "base": first.base_n_to,
    }


def comparison_cells(r: ComparisonRow, settings: Settings) -> dict[str, Any]:
    """A comparison row's published cells. Each year's percentage and count are suppressed for
    that year's own base; the change and its significance whenever either year's is (a change
    beside one published percentage would give the other away)."""
    symbol, missing = settings.suppression_symbol, settings.not_available_symbol

    def cell(suppressed: bool, value: Any) -> Any:
        return symbol if suppressed else (missing if is_missing(value) else value)

    return {
        "year_from": r.year_from,
        "year_to": r.year_to,
        "question_id": r.question_id,
        "option_id": r.option_id,
        "percentage_from": cell(r.suppressed_from, r.pct_from_rounded),
        "percentage_to": cell(r.suppressed_to, r.pct_to_rounded),
        "change_pp": cell(r.suppressed, r.change_rounded),
        "significant": cell(r.suppressed, "Yes" if r.significant else "No"),
        "number_from": cell(r.suppressed_from, r.n_from),
        "number_to": cell(r.suppressed_to, r.n_to),
        "base_from": r.base_n_from,
        "base_to": r.base_n_to,
    }


def comparison_columns(y0: int, y1: int) -> list[Column]:
    """The columns after the row's label, shared by Figure 7's table and the Comparison table."""
    return [
        Column("percentage_from", f"Percentage, {y0} [note {{rounding}}]", "pct", width=16),
        Column("percentage_to", f"Percentage, {y1} [note {{rounding}}]", "pct", width=16),
        Column("change_pp", "Change (percentage points) [note {comparison}]", "change", width=18),
        Column("significant", "Statistically significant change [note {comparison}]", "flag", width=18),
        Column("number_from", f"Number, {y0}", "int", width=12),
        Column("number_to", f"Number, {y1}", "int", width=12),
        Column("base_from", f"Base, {y0} [note {{bases}}]", "int", width=12),
        Column("base_to", f"Base, {y1} [note {{bases}}]", "int", width=12),
    ]


COMPARISON_ID_COLUMNS = [
    Column("year_from", "Previous survey year", "year", csv_only=True),
    Column("year_to", "Survey year", "year", csv_only=True),
    Column("question_id", "Question id", csv_only=True),
    Column("option_id", "Option id", csv_only=True),
]


def with_change_note(notes: list[str], settings: Settings) -> list[str]:
    """A table of changes says they come from unrounded percentages ("13, 13, +1")."""
    return [*notes, settings.change_note] if settings.change_note else list(notes)


def comparison_table(
    spec: FigureSpec, view: SummaryView, year_comparison: pd.DataFrame | None, settings: Settings
) -> PublishedTable | None:
    rows = comparison_data(spec, view, year_comparison, settings)
    if not rows:
        return None
    ctx = comparison_context(rows, view.year)
    y0, y1 = ctx["year_from"], view.year
    table_rows = [{**comparison_cells(r, settings), "category": r.label} for r in rows]
    return PublishedTable(
        id=spec.id,
        sheet_name=spec.sheet_name,
        title=_title(spec, view.year, settings, **ctx),
        columns=[
            *COMPARISON_ID_COLUMNS,
            Column("category", "Category", width=48, row_header=True),
            *comparison_columns(y0, y1),
        ],
        rows=table_rows,
        notes=with_change_note(spec_notes(spec, view.year, settings, **ctx), settings),
        note_refs=["rounding", "bases", "comparison"],
        source_years=f"{y0} and {y1}",
    )


def comparison_all_table(
    view: SummaryView, year_comparison: pd.DataFrame | None, settings: Settings
) -> PublishedTable | None:
    """Every question and option asked in both surveys, as marts.year_comparison has them."""
    rows = comparison_rows(year_comparison, view.year, None, settings, view)
    if not rows:
        return None
    question_order = {q: i for i, q in enumerate(view.question_ids)}
    rows.sort(key=lambda r: (question_order.get(r.question_id, 10_000), r.option_order))
    y0, y1 = rows[0].year_from, view.year
    table_rows = [{**comparison_cells(r, settings), "question": r.question_text, "answer": r.label} for r in rows]
    return PublishedTable(
        id="comparison",
        sheet_name="Comparison",
        title=f"Changes between the {y0} and {y1} surveys",
        columns=[
            *COMPARISON_ID_COLUMNS,
            Column("question", "Question", width=48, row_header=True),
            Column("answer", "Answer", width=36),
            *comparison_columns(y0, y1),
        ],
        rows=table_rows,
        notes=with_change_note(["Only questions and answers asked in both surveys are compared."], settings),
        note_refs=["rounding", "bases", "comparison"],
        group_by="question",
        source_years=f"{y0} and {y1}",
    )


def bases_table(view: SummaryView, settings: Settings) -> PublishedTable:
    """Each question's base: who is in it, and how many."""
    try:
        from iom_pipeline.questionnaire import questionnaire_for_year

        questionnaire = questionnaire_for_year(view.year)
    except Exception:  # a year without a questionnaire file still gets its bases
        questionnaire = None
    rows = []
    for question_id in view.question_ids:
        stats = view.options(question_id, include_derived=True)
        first = stats[0]
        if question_id == "response":
            who = "CSPs in the survey frame"
        else:
            try:
                who = questionnaire.question(question_id).base if questionnaire else ""
            except KeyError:
                who = ""
        who = who[:1].upper() + who[1:] if who else ""
        rows.append(
            {
                "survey_year": view.year,
                "question_id": question_id,
                "question": first.question_text,
                "who": who,
                "unit": settings.label("unit", first.unit),
                "base": first.base_n,
            }
        )
    return PublishedTable(
        id="bases",
        sheet_name="Bases",
        title=f"The base of each question, {view.year}",
        columns=[
            Column("survey_year", "Survey year", "year", csv_only=True),
            Column("question_id", "Question id", csv_only=True),
            Column("question", "Question", width=56, row_header=True),
            Column("who", "Who is in the base", width=60),
            Column("unit", "Counted in", width=18),
            Column("base", "Base", "int", width=10),
        ],
        rows=rows,
        notes=["Percentages for a question are of its base: those asked the question who answered it."],
        note_refs=["bases"],
    )


def response_table(view: SummaryView, settings: Settings) -> PublishedTable | None:
    if not view.has("response", "responded"):
        return None
    stat = view.get("response", "responded")
    return PublishedTable(
        id="response",
        sheet_name="Response",
        title=f"Response to the {view.year} survey",
        columns=[
            Column("survey_year", "Survey year", "year", width=12, row_header=True),
            Column("csps_surveyed", "CSPs surveyed (the survey frame)", "int", width=20),
            Column("csps_responding", "CSPs whose return could be analysed", "int", width=22),
            Column("response_rate", "Response rate (percentage) [note {rounding}]", "pct", width=20),
        ],
        rows=[
            {
                "survey_year": view.year,
                "csps_surveyed": stat.base_n,
                "csps_responding": stat.n,
                "response_rate": _published(stat, stat.pct_rounded, settings),
            }
        ],
        notes=["A CSP has responded when one of its submissions is counted (see the Submissions table)."],
        note_refs=["rounding"],
    )


def _year_rows(df: pd.DataFrame | None, year: int) -> pd.DataFrame:
    if df is None or len(df) == 0:
        return pd.DataFrame()
    if "survey_year" in df.columns:
        df = df[pd.to_numeric(df["survey_year"]).astype(int) == int(year)]
    return df


def _rank(codes: list[str], order: list[str]) -> dict[str, int]:
    """Configured codes in their configured order, others after them alphabetically."""
    known = [c for c in order if c in codes]
    return {c: i for i, c in enumerate(known + sorted(c for c in codes if c not in order))}


def submissions_table(submission_outcome: pd.DataFrame | None, year: int, settings: Settings) -> PublishedTable | None:
    df = _year_rows(submission_outcome, year)
    if df.empty:
        return None
    counts: dict[tuple[str, str | None], int] = {}
    for (outcome, reason), n in counts_by(df, ["outcome", "reason"]).items():
        key = (str(outcome), None if is_missing(reason) else str(reason))
        counts[key] = counts.get(key, 0) + n
    outcome_rank = _rank(sorted({o for o, _ in counts}), list(settings.labels.get("outcome", {})))
    reason_rank = _rank(sorted({r for _, r in counts if r is not None}), list(settings.labels.get("reason", {})))
    keys = sorted(counts, key=lambda k: (outcome_rank[k[0]], -1 if k[1] is None else reason_rank[k[1]]))
    rows = [
        {
            "survey_year": year,
            "outcome": outcome,
            "reason": reason or "",
            "outcome_label": settings.label("outcome", outcome),
            "reason_label": settings.label("reason", reason) if reason else settings.no_reason_label,
            "description": settings.description("reason", reason) if reason else settings.description("outcome", outcome),
            "submissions": counts[(outcome, reason)],
        }
        for outcome, reason in keys
    ]
    return PublishedTable(
        id="submissions",
        sheet_name="Submissions",
        title=f"Survey submissions by outcome and reason, {year}",
        columns=[
            Column("survey_year", "Survey year", "year", csv_only=True),
            Column("outcome", "Outcome code", csv_only=True),
            Column("reason", "Reason code", csv_only=True),
            Column("outcome_label", "Outcome", width=22, row_header=True),
            Column("reason_label", "Reason", width=34),
            Column("description", "Description", width=70),
            Column("submissions", "Number of submissions", "int", width=14),
        ],
        rows=rows,
        notes=[
            f"Every row of the survey export ends in exactly one outcome; the {sum(counts.values()):,} submissions "
            "received are all accounted for here."
        ],
    )


def warnings_table(quality_warning: pd.DataFrame | None, year: int, settings: Settings) -> PublishedTable:
    df = _year_rows(quality_warning, year)
    counts: dict[str, int] = {}
    if not df.empty:
        counts = {str(k[0]): v for k, v in counts_by(df, ["warning"]).items()}
    rank = _rank(sorted(counts), list(settings.labels.get("warning", {})))
    rows = [
        {
            "survey_year": year,
            "warning": w,
            "warning_label": settings.label("warning", w),
            "description": settings.description("warning", w),
            "warnings": counts[w],
        }
        for w in sorted(counts, key=rank.get)
    ]
    return PublishedTable(
        id="warnings",
        sheet_name="Warnings",
        title=f"Data-quality warnings by type, {year}",
        columns=[
            Column("survey_year", "Survey year", "year", csv_only=True),
            Column("warning", "Warning code", csv_only=True),
            Column("warning_label", "Warning", width=34, row_header=True),
            Column("description", "Description", width=70),
            Column("warnings", "Number of warnings", "int", width=14),
        ],
        rows=rows,
        notes=["Warnings record problems that do not stop a return being used, such as answers the routing did not ask for."]
        if rows
        else ["No data-quality warnings were recorded."],
    )


def build_tables(
    year: int,
    marts: dict[str, pd.DataFrame],
    settings: Settings | None = None,
) -> list[PublishedTable]:
    """Every published table of the year, in publication order."""
    settings = settings or load_settings()
    view = SummaryView(marts["question_summary"], year, settings)
    tables: list[PublishedTable] = []
    for spec in figure_specs():
        if spec.kind == "table":
            table = question_table(spec, view, settings)
        elif spec.kind == "bar":
            table = figure_table(spec, view, settings)
        else:
            table = comparison_table(spec, view, marts.get("year_comparison"), settings)
        if table is not None:
            tables.append(table)
    for table in (
        comparison_all_table(view, marts.get("year_comparison"), settings),
        response_table(view, settings),
        bases_table(view, settings),
        submissions_table(marts.get("submission_outcome"), year, settings),
        warnings_table(marts.get("quality_warning"), year, settings),
    ):
        if table is not None:
            tables.append(table)
    return tables


def note_numbers(settings: Settings, flags: dict[str, bool]) -> list[tuple[str, str]]:
    """(note id, text) for the notes that apply, numbered in order from 1."""
    out = []
    for note in settings.notes:
        condition = note.get("when")
        if condition and not flags.get(condition, False):
            continue
        out.append((str(note["id"]), note["text"]))
    return out


def resolve_heading(heading: str, numbering: dict[str, int]) -> str:
    """'Percentage [note {rounding}]' -> 'Percentage [note 3]'; unknown notes drop the marker."""
    import re

    def repl(match: re.Match) -> str:
        note_id = match.group(1)
        return f"[note {numbering[note_id]}]" if note_id in numbering else ""

    return " ".join(re.sub(r"\[note \{(\w+)\}\]", repl, heading).split())


def plain_heading(heading: str) -> str:
    """The heading without note markers (for the HTML report)."""
    import re

    return " ".join(re.sub(r"\[note \{?\w+\}?\]", "", heading).split())

