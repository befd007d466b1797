"""One generic renderer for every figure in figures.yaml.

`render_figures` turns each `bar` and `comparison` entry into an SVG, a PNG, the figure's data
as CSV, and an alt-text sentence. The chart follows the Government Analysis Function style:
accessible palette, a left-aligned headline that states the finding, a subtitle that states
the base, value-axis grid lines only, no top or right spines, direct data labels, wrapped
category labels and a source note. matplotlib is imported only when drawing.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from iom_pipeline.publication import style
from iom_pipeline.publication.config import FigureSpec, Settings, figure_specs, load_settings
from iom_pipeline.publication.data import ComparisonRow, MissingData, Stat, SummaryView, in_order, lower_first
from iom_pipeline.publication.safe_text import write_csv
from iom_pipeline.publication.tables import (
    PublishedTable,
    comparison_context,
    comparison_data,
    comparison_table,
    figure_rows,
    figure_table,
)
from iom_pipeline.publication.text import (
    ComparisonProxy,
    StatProxy,
    Tracker,
    make_helpers,
    render_text,
)


@dataclass
class Series:
    name: str
    values: list[int | None]  # published whole percentages; None: not drawn
    labels: list[str]  # data labels: "96%", or "[c]"
    colour: str


@dataclass
class FigureData:
    """Everything the renderer needs, already published (rounded, suppressed, worded)."""

    spec: FigureSpec
    year: int
    headline: str
    title: str  # descriptive, with the number
    subtitle: str
    categories: list[str]
    series: list[Series]
    axis_label: str
    source: str
    alt_text: str
    table: PublishedTable
    footnotes: list[str] = field(default_factory=list)
    finding: bool = True  # the headline states a finding (not the descriptive fallback)


# ---------------------------------------------------------------------------------------------
# Data: spec + marts -> FigureData


def _headline(spec: FigureSpec, ctx: dict[str, Any], fallback: str) -> tuple[str, bool]:
    """(headline, states_a_finding): the spec's headline, or the descriptive title when the
    headline would quote a suppressed figure or its data is missing."""
    tracker: Tracker = ctx["_tracker"]
    try:
        text = render_text(spec.headline, ctx)
    except (MissingData, IndexError, ZeroDivisionError, TypeError):
        return fallback, False
    if tracker.suppressed or not text:
        return fallback, False
    return text, True


def _bar_label(value: Any, suppressed: bool, settings: Settings) -> str:
    if suppressed:
        return settings.suppression_symbol
    if value is None:
        return settings.not_available_symbol
    return f"{value}%"


def _series_text(pairs: list[tuple[str, str]]) -> str:
    return "; ".join(f"{lower_first(label)} {value}" for label, value in pairs)


def bar_data(spec: FigureSpec, view: SummaryView, settings: Settings) -> FigureData | None:
    if not view.has(spec.question_id):
        return None
    try:
        stats: list[Stat] = figure_rows(spec, view)
    except MissingData:
        return None
    table = figure_table(spec, view, settings)
    base = stats[0].base_n
    tracker = Tracker()
    proxies = [StatProxy(s, tracker, settings) for s in stats]
    excluded = set(spec.headline_exclude)
    # The headline ranks as size order does, so it names the bars a reader sees first.
    by_size = in_order([s for s in stats if s.option_id not in excluded], "size")
    proxy_of = {id(s): p for s, p in zip(stats, proxies)}
    ranked = [proxy_of[id(s)] for s in by_size]
    ctx = {
        **make_helpers(view, tracker, settings),
        "year": view.year,
        "base": f"{base:,}" if base is not None else "",
        "rows": proxies,
        "lead": ranked[0] if ranked else None,
        "top": lambda k: ranked[: int(k)],
        "_tracker": tracker,
    }
    title = table.title
    plain = title.split(": ", 1)[1] if ": " in title else title
    headline, finding = _headline(spec, ctx, plain)
    labels = [_bar_label(s.pct_rounded, s.suppressed, settings) for s in stats]
    series = Series(
        name=str(view.year),
        values=[None if (s.suppressed or s.pct_rounded is None) else s.pct_rounded for s in stats],
        labels=labels,
        colour=style.SINGLE_SERIES,
    )
    simple = {"year": view.year, "base": f"{base:,}" if base is not None else ""}
    series_text = _series_text([(s.label, lab) for s, lab in zip(stats, labels)])
    alt = render_text(spec.alt_text, {**simple, "series": series_text}) if spec.alt_text else series_text
    footnotes = []
    if any(s.suppressed for s in stats):
        footnotes.append(
            f"{settings.suppression_symbol} Not shown: the base is fewer than {settings.suppress_below_base}."
        )
        alt += (
            f" Percentages are not shown ({settings.suppression_symbol}) because the base is fewer than"
            f" {settings.suppress_below_base}."
        )
    return FigureData(
        spec=spec,
        year=view.year,
        headline=headline,
        title=title,
        subtitle=render_text(spec.base, simple) if spec.base else "",
        categories=[s.label for s in stats],
        series=[series],
        axis_label=render_text(spec.axis_label, simple),
        source="Source: " + render_text(settings.source, simple),
        alt_text=alt,
        table=table,
        footnotes=footnotes,
        finding=finding,
    )


def comparison_figure_data(
    spec: FigureSpec, view: SummaryView, year_comparison: pd.DataFrame | None, settings: Settings
) -> FigureData | None:
    rows: list[ComparisonRow] = comparison_data(spec, view, year_comparison, settings)
    if not rows:
        return None
    table = comparison_table(spec, view, year_comparison, settings)
    ctx0 = comparison_context(rows, view.year)
    simple = {
        **ctx0,
        "year": view.year,
        "base": f"{ctx0['base']:,}" if ctx0["base"] is not None else "",
        "base_from": f"{ctx0['base_from']:,}" if ctx0["base_from"] is not None else "",
    }
    tracker = Tracker()
    proxies = [ComparisonProxy(r, tracker, settings) for r in rows]
    candidates = [p for p, r in zip(proxies, rows) if r.option_id not in spec.headline_exclude and r.available]
    by_change = sorted(
        ((p, r) for p, r in zip(proxies, rows) if r.option_id not in spec.headline_exclude and r.available),
        key=lambda pr: -(pr[1].change_pp or 0.0),
    )
    rises = [p for p, r in by_change if r.significant and (r.change_pp or 0) > 0]
    falls = [p for p, r in reversed(by_change) if r.significant and (r.change_pp or 0) < 0]
    ctx = {
        **make_helpers(view, tracker, settings),
        **simple,
        "rows": proxies,
        "lead": candidates[0] if candidates else None,
        "top": lambda k: candidates[: int(k)],
        "rises": rises,
        "falls": falls,
        "_tracker": tracker,
    }
    title = table.title
    plain = title.split(": ", 1)[1] if ": " in title else title
    headline, finding = _headline(spec, ctx, plain)
    y0, y1 = ctx0["year_from"], view.year
    # Each year's bar is suppressed for that year's own base.
    from_labels = [_bar_label(r.pct_from_rounded, r.suppressed_from, settings) for r in rows]
    to_labels = [_bar_label(r.pct_to_rounded, r.suppressed_to, settings) for r in rows]
    series = [
        Series(
            str(y0),
            [None if r.suppressed_from else r.pct_from_rounded for r in rows],
            from_labels,
            style.CATEGORICAL[1],
        ),
        Series(str(y1), [None if r.suppressed_to else r.pct_to_rounded for r in rows], to_labels, style.CATEGORICAL[0]),
    ]
    series_text = "; ".join(
        f"{lower_first(r.label)} {a} in {y0} and {b} in {y1}" for r, a, b in zip(rows, from_labels, to_labels)
    )
    alt = render_text(spec.alt_text, {**simple, "series": series_text}) if spec.alt_text else series_text
    footnotes = []
    if any(r.suppressed for r in rows):
        footnotes.append(
            f"{settings.suppression_symbol} Not shown: a base is fewer than {settings.suppress_below_base}."
        )
    return FigureData(
        spec=spec,
        year=view.year,
        headline=headline,
        title=title,
        subtitle=render_text(spec.base, simple) if spec.base else "",
        categories=[r.label for r in rows],
        series=series,
        axis_label=render_text(spec.axis_label, simple),
        source="Source: " + render_text(settings.source, {"year": f"{y0} and {y1}"}),
        alt_text=alt,
        table=table,
        footnotes=footnotes,
        finding=finding,
    )


def figure_data(
    spec: FigureSpec,
    view: SummaryView,
    year_comparison: pd.DataFrame | None,
    settings: Settings,
) -> FigureData | None:
    if spec.kind == "bar":
        return bar_data(spec, view, settings)
    if spec.kind == "comparison":
        return comparison_figure_data(spec, view, year_comparison, settings)
    return None


# ---------------------------------------------------------------------------------------------
# Drawing: FigureData -> matplotlib Figure


def _line_in(size_pt: float) -> float:
    return size_pt * style.LINE_IN_PER_PT


class _Measure:
    """Text widths in inches, from the Agg renderer (the same metrics the PNG uses).

    Widths are cached per word for the process: wrapping tries every prefix of a line, and
    measuring each trial afresh was a third of the time it takes to draw the figures.
    """

    _cache: dict[tuple, float] = {}

    def __init__(self, fig):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.font_manager import FontProperties

        self._renderer = FigureCanvasAgg(fig).get_renderer()
        self._dpi = fig.dpi
        self._props = FontProperties

    def width(self, text: str, size: float, weight: str = "normal") -> float:
        key = (text, size, weight, self._dpi)
        cached = self._cache.get(key)
        if cached is None:
            prop = self._props(family="sans-serif", size=size, weight=weight)
            w, _, _ = self._renderer.get_text_width_height_descent(text, prop, ismath=False)
            cached = self._cache[key] = w / self._dpi
        return cached

    def wrap(self, text: str, size: float, max_in: float, weight: str = "normal") -> list[str]:
        """Greedy word wrap to a width; a single word longer than the width stays whole."""
        space = self.width("x x", size, weight) - 2 * self.width("x", size, weight)
        lines: list[str] = []
        current: list[str] = []
        current_in = 0.0
        for word in text.split():
            word_in = self.width(word, size, weight)
            if current and current_in + space + word_in > max_in:
                lines.append(" ".join(current))
                current, current_in = [word], word_in
            else:
                current_in += (space if current else 0.0) + word_in
                current.append(word)
        if current:
            lines.append(" ".join(current))
        return lines or [""]


def draw(data: FigureData):
    """The matplotlib Figure for one FigureData (call inside style.rc_params())."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    width = style.FIGURE_WIDTH_IN
    pad = style.EDGE_PAD_IN
    fig = Figure(figsize=(width, 4))
    measure = _Measure(fig)
    text_width = width - 2 * pad
    horizontal = data.spec.orientation == "horizontal"
    n_series = len(data.series)

    title_lines = measure.wrap(data.headline, style.TITLE_SIZE, text_width, "bold")
    subtitle_lines = measure.wrap(data.subtitle, style.SUBTITLE_SIZE, text_width) if data.subtitle else []
    foot_lines: list[str] = []
    for note in [*data.footnotes, data.source]:
        foot_lines += measure.wrap(note, style.NOTE_SIZE, text_width)

    # Category labels: wrapped to a column (horizontal) or to the bar slot (vertical).
    if horizontal:
        cat_lines = [measure.wrap(c, style.LABEL_SIZE, style.MAX_CATEGORY_LABEL_IN) for c in data.categories]
        label_col = max(measure.width(line, style.LABEL_SIZE) for lines in cat_lines for line in lines) + 0.12
        slot = style.BAR_SLOT_IN if n_series == 1 else style.GROUP_SLOT_IN
        slots = [max(slot, len(lines) * _line_in(style.LABEL_SIZE) + 0.12) for lines in cat_lines]
        plot_h = sum(slots)
        axis_below = 0.3 + _line_in(style.LABEL_SIZE) + 0.05  # tick labels + axis label
        ax_left = pad + label_col
        ax_right = width - pad - 0.5  # room for data labels beyond 100
    else:
        ax_left = pad + 0.55  # value tick labels
        ax_right = width - pad
        slot_w = (ax_right - ax_left) / max(len(data.categories), 1)
        cat_lines = [measure.wrap(c, style.LABEL_SIZE, slot_w * 0.9) for c in data.categories]
        plot_h = 3.0
        axis_below = 0.12 + max(len(lines) for lines in cat_lines) * _line_in(style.LABEL_SIZE) + 0.05

    legend_h = 0.32 if n_series > 1 else 0.0
    axis_title_h = 0.0 if horizontal else _line_in(style.LABEL_SIZE) + 0.16  # vertical: title above
    top_h = (
        pad
        + len(title_lines) * _line_in(style.TITLE_SIZE)
        + 0.06
        + len(subtitle_lines) * _line_in(style.SUBTITLE_SIZE)
        + 0.18
        + legend_h
        + axis_title_h
    )
    foot_h = 0.12 + len(foot_lines) * _line_in(style.NOTE_SIZE) + pad
    height = top_h + plot_h + axis_below + foot_h
    fig.set_size_inches(width, height)

    def fy(inches_from_top: float) -> float:
        return 1 - inches_from_top / height

    # Headline and base, left-aligned to the figure's edge.
    y = pad
    for line in title_lines:
        fig.text(pad / width, fy(y), line, ha="left", va="top", fontsize=style.TITLE_SIZE,
                 fontweight="bold", color=style.TEXT, parse_math=False)
        y += _line_in(style.TITLE_SIZE)
    y += 0.06
    for line in subtitle_lines:
        fig.text(pad / width, fy(y), line, ha="left", va="top", fontsize=style.SUBTITLE_SIZE,
                 color=style.TEXT, parse_math=False)
        y += _line_in(style.SUBTITLE_SIZE)
    y += 0.18

    ax_bottom_in = foot_h + axis_below
    ax = fig.add_axes(
        (ax_left / width, ax_bottom_in / height, (ax_right - ax_left) / width, plot_h / height)
    )
    ax.set_axisbelow(True)

    if n_series > 1:
        handles = [Patch(facecolor=s.colour, label=s.name) for s in data.series]
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(pad / width, fy(y)), ncol=n_series,
                   frameon=False, fontsize=style.LABEL_SIZE, handlelength=1.0, handleheight=1.0,
                   borderaxespad=0, borderpad=0, columnspacing=1.5)

    if horizontal:
        _draw_horizontal(ax, data, cat_lines, slots)
    else:
        # The value axis's title reads horizontally, above the axis, rather than rotated.
        fig.text(pad / width, fy(y + legend_h), data.axis_label, ha="left", va="top", fontsize=style.LABEL_SIZE,
                 color=style.TEXT, parse_math=False)
        _draw_vertical(ax, data, cat_lines)

    # Footnotes and source, bottom left.
    y = height - foot_h + 0.12
    for line in foot_lines:
        fig.text(pad / width, fy(y), line, ha="left", va="top", fontsize=style.NOTE_SIZE,
                 color=style.SECONDARY_TEXT, parse_math=False)
        y += _line_in(style.NOTE_SIZE)
    return fig


# Data labels sit on a white ground so grid lines never run through them.
_LABEL_BOX = {"facecolor": style.BACKGROUND, "edgecolor": "none", "pad": 0.5, "alpha": 1.0}


def _value_axis(axis, label: str | None) -> None:
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    axis.set_major_locator(MultipleLocator(20))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0f}%"))
    if label:
        axis.set_label_text(label, fontsize=style.LABEL_SIZE, color=style.TEXT)


def _draw_horizontal(ax, data: FigureData, cat_lines: list[list[str]], slots: list[float]) -> None:
    n_series = len(data.series)
    # Category centres in inches from the top of the plot, converted to data units (1 = 1 inch).
    centres = []
    y = 0.0
    for s in slots:
        centres.append(y + s / 2)
        y += s
    total = y
    bar_h = 0.26 if n_series == 1 else 0.22
    for k, series in enumerate(data.series):
        offset = (k - (n_series - 1) / 2) * bar_h * 1.08
        for i, (value, label) in enumerate(zip(series.values, series.labels)):
            cy = centres[i] + offset
            if value is not None:
                ax.barh(cy, value, height=bar_h, color=series.colour, linewidth=0)
            x = (value or 0) + 1.0
            ax.text(x, cy, label, va="center", ha="left", fontsize=style.DATA_LABEL_SIZE if n_series == 1 else 10,
                    color=style.TEXT, clip_on=False, parse_math=False, bbox=_LABEL_BOX)
    ax.set_ylim(total, 0)
    ax.set_xlim(0, 100)
    ax.set_yticks(centres, ["\n".join(lines) for lines in cat_lines], fontsize=style.LABEL_SIZE, parse_math=False)
    ax.tick_params(axis="y", length=0, pad=6)
    ax.tick_params(axis="x", length=0, labelsize=style.LABEL_SIZE - 1, colors=style.SECONDARY_TEXT,
                   labelcolor=style.TEXT)
    _value_axis(ax.xaxis, data.axis_label)
    ax.grid(axis="x", visible=True)
    ax.grid(axis="y", visible=False)
    ax.spines["bottom"].set_visible(False)  # the grid line at 0 marks it; the bars start at the left spine


def _draw_vertical(ax, data: FigureData, cat_lines: list[list[str]]) -> None:
    n_series = len(data.series)
    positions = list(range(len(data.categories)))
    width = 0.6 / n_series
    for k, series in enumerate(data.series):
        offset = (k - (n_series - 1) / 2) * width
        for i, (value, label) in enumerate(zip(series.values, series.labels)):
            x = positions[i] + offset
            if value is not None:
                ax.bar(x, value, width=width * 0.95, color=series.colour, linewidth=0)
            ax.text(x, (value or 0) + 1.5, label, ha="center", va="bottom", fontsize=style.DATA_LABEL_SIZE,
                    color=style.TEXT, clip_on=False, parse_math=False, bbox=_LABEL_BOX)
    ax.set_xlim(-0.5, len(positions) - 0.5)
    ax.set_ylim(0, 100)
    ax.set_xticks(positions, ["\n".join(lines) for lines in cat_lines], fontsize=style.LABEL_SIZE, parse_math=False)
    ax.tick_params(axis="x", length=0, pad=6)
    ax.tick_params(axis="y", length=0, labelsize=style.LABEL_SIZE - 1, labelcolor=style.TEXT)
    _value_axis(ax.yaxis, None)
    ax.grid(axis="y", visible=True)
    ax.grid(axis="x", visible=False)
    ax.spines["left"].set_visible(False)


# ---------------------------------------------------------------------------------------------
# Files


def _accessible_svg(svg: str, figure_id: str, title: str, description: str) -> str:
    """Give the SVG a <title> and <desc> (its name and alt text) and role="img"."""
    start = svg.index("<svg ")
    end = svg.index(">", start)
    title_id, desc_id = f"{figure_id}-title", f"{figure_id}-desc"
    opening = svg[start:end] + f' role="img" aria-labelledby="{title_id} {desc_id}">'
    inner = (
        f'\n <title id="{title_id}">{html.escape(title, quote=False)}</title>'
        f'\n <desc id="{desc_id}">{html.escape(description, quote=False)}</desc>'
    )
    return svg[:start] + opening + inner + svg[end + 1 :]


def write_figure(data: FigureData, out_dir: Path, settings: Settings) -> dict:
    import io

    import matplotlib

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = data.spec.id
    svg_path, png_path, csv_path = out_dir / f"{stem}.svg", out_dir / f"{stem}.png", out_dir / f"{stem}.csv"
    with matplotlib.rc_context(style.rc_params()):
        fig = draw(data)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Title": data.headline, "Description": data.alt_text})
        svg_path.write_text(_accessible_svg(buffer.getvalue(), stem, data.headline, data.alt_text), encoding="utf-8")
        fig.savefig(
            png_path,
            format="png",
            dpi=settings.png_dpi,
            metadata={"Title": data.headline, "Description": data.alt_text},
        )
    table = data.table
    write_csv(csv_path, table.header(csv=True), table.values(csv=True))
    return {
        "id": stem,
        "number": data.spec.number,
        "kind": data.spec.kind,
        "title": data.headline,
        "description": data.title,
        "subtitle": data.subtitle,
        "svg": svg_path,
        "png": png_path,
        "csv": csv_path,
        "alt_text": data.alt_text,
        "finding": data.finding,
    }


def render_figures(
    year: int,
    question_summary: pd.DataFrame,
    out_dir: Path,
    year_comparison: pd.DataFrame | None = None,
    *,
    settings: Settings | None = None,
    only: list[str] | None = None,
) -> list[dict]:
    """Draw every figure of figures.yaml (those in `only`, if given) that the year's data supports.

    Writes `<id>.svg`, `<id>.png` and `<id>.csv` into out_dir for each, and returns one dict per
    figure: id, number, kind, title (the headline), description (the numbered descriptive
    title), subtitle (the base), svg, png, csv (paths), alt_text, and finding (False when the
    headline fell back to the descriptive title, e.g. because the figure is suppressed). Figures whose question the
    year did not ask are skipped; the comparison figure is drawn only when year_comparison has
    rows ending in `year`.
    """
    settings = settings or load_settings()
    view = SummaryView(question_summary, year, settings)
    results = []
    for spec in figure_specs():
        if not spec.is_figure or (only is not None and spec.id not in only):
            continue
        data = figure_data(spec, view, year_comparison, settings)
        if data is None:
            continue
        results.append(write_figure(data, Path(out_dir), settings))
    return results


def draw_figures(
    year: int, question_summary, year_comparison, out_dir: Path, synthetic: bool, only: list[str] | None = None
) -> dict[str, dict]:
    """render_figures on the marts' Arrow tables, with the synthetic source note when the year's
    data is the reconstruction: figure id -> write_figure's dict."""
    settings = load_settings()
    if synthetic:
        # A figure travels without the report's banner: its own source note must say so.
        settings = settings.with_overrides(source=settings.source + " (synthetic reconstruction, not official statistics)")
    drawn = render_figures(
        year, question_summary.to_pandas(), out_dir, year_comparison.to_pandas(), settings=settings, only=only
    )
    return {figure["id"]: figure for figure in drawn}
