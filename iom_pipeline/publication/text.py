"""Sentences from the marts: the Jinja helpers behind every headline, sentence and alt text.

Templates live in assets/publication (figures.yaml, report.yaml). A template reads numbers
only through these helpers, so every number it prints comes from the marts, and every
suppressed number prints as `[c]` and marks the sentence as quoting a suppressed figure
(the caller may then use the sentence's `if_suppressed` wording, or the figure's plain title).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from iom_pipeline.publication.config import Settings
from iom_pipeline.publication.data import ComparisonRow, MissingData, Stat, SummaryView
from iom_pipeline.publication.numbers import fmt_int, is_missing

_NUMBER_WORDS = ["none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


class Tracker:
    """Records whether a rendering touched a suppressed figure."""

    def __init__(self) -> None:
        self.suppressed = False


def capfirst(text: Any) -> str:
    text = str(text)
    return text[:1].upper() + text[1:] if text else text


def join(items: Iterable[Any]) -> str:
    """['a', 'b', 'c'] -> 'a, b and c' (no serial comma, as the report writes)."""
    items = [str(i) for i in items]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def number_words(n: int) -> str:
    """Whole numbers below ten in words, others as numerals with thousands separators."""
    n = int(n)
    return _NUMBER_WORDS[n] if 0 <= n < 10 else fmt_int(n)


class StatProxy:
    """A Stat as templates see it: every number is published, or `[c]` when suppressed."""

    def __init__(self, stat: Stat, tracker: Tracker, settings: Settings):
        self._stat = stat
        self._tracker = tracker
        self._settings = settings

    def _guard(self) -> bool:
        if self._stat.suppressed:
            self._tracker.suppressed = True
            return False
        if self._stat.pct_rounded is None:
            raise MissingData(f"{self._stat.question_id}/{self._stat.option_id} has no percentage (base 0)")
        return True

    # words
    @property
    def label(self) -> str:
        return self._stat.label

    @property
    def text(self) -> str:
        return self._stat.text

    @property
    def plural(self) -> bool:
        return self._stat.plural

    @property
    def option_id(self) -> str:
        return self._stat.option_id

    # numbers
    @property
    def pct(self) -> str:
        """'98 per cent' (or '[c]')."""
        return f"{self._stat.pct_rounded} per cent" if self._guard() else self._settings.suppression_symbol

    @property
    def pct_short(self) -> str:
        """'98%' (or '[c]')."""
        return f"{self._stat.pct_rounded}%" if self._guard() else self._settings.suppression_symbol

    @property
    def pct_value(self) -> float:
        """The unrounded percentage, for comparisons in templates; suppressed: 0 and marked."""
        return float(self._stat.pct) if self._guard() else 0.0

    @property
    def n(self) -> str:
        return fmt_int(self._stat.n) if self._guard() else self._settings.suppression_symbol

    @property
    def n_value(self) -> int:
        return int(self._stat.n) if self._guard() else 0

    @property
    def n_words(self) -> str:
        return number_words(self._stat.n) if self._guard() else self._settings.suppression_symbol

    @property
    def base(self) -> str:
        return fmt_int(self._stat.base_n)

    @property
    def suppressed(self) -> bool:
        return self._stat.suppressed

    def __str__(self) -> str:
        return self.pct


class ComparisonProxy:
    """A ComparisonRow as templates see it."""

    def __init__(self, row: ComparisonRow, tracker: Tracker, settings: Settings):
        self._row = row
        self._tracker = tracker
        self._settings = settings

    def _guard(self) -> bool:
        if not self._row.available:
            self._tracker.suppressed = True
            return False
        return True

    label = property(lambda self: self._row.label)
    text = property(lambda self: self._row.text)
    plural = property(lambda self: self._row.plural)
    option_id = property(lambda self: self._row.option_id)
    significant = property(lambda self: self._row.significant)
    year_from = property(lambda self: self._row.year_from)

    @property
    def pct_from(self) -> str:
        return f"{self._row.pct_from_rounded} per cent" if self._guard() else self._settings.suppression_symbol

    @property
    def pct_to(self) -> str:
        return f"{self._row.pct_to_rounded} per cent" if self._guard() else self._settings.suppression_symbol

    @property
    def pct_value(self) -> float:
        return float(self._row.pct_to) if self._guard() else 0.0

    @property
    def change(self) -> str:
        """'16 percentage points' (size only; the sentence says which way)."""
        if not self._guard():
            return self._settings.suppression_symbol
        size = abs(self._row.change_rounded or 0)
        return f"{size} percentage point{'s' if size != 1 else ''}"

    @property
    def direction(self) -> str:
        """'rose', 'fell' or 'did not change significantly'."""
        if not self._guard():
            return self._settings.suppression_symbol
        if self._row.direction == "increase":
            return "rose"
        if self._row.direction == "decrease":
            return "fell"
        return "did not change significantly"

    def __str__(self) -> str:
        return self.pct_to


def quantifier_words(pct: float, settings: Settings) -> str:
    for rule in settings.quantifiers:
        if "at_least" in rule and pct >= float(rule["at_least"]):
            return str(rule["words"])
        if "above" in rule and pct > float(rule["above"]):
            return str(rule["words"])
    return "none of"


def make_helpers(view: SummaryView | None, tracker: Tracker, settings: Settings) -> dict[str, Any]:
    """The functions and filters a template may call."""

    def wrap(stat: Stat) -> StatProxy:
        return StatProxy(stat, tracker, settings)

    def need_view() -> SummaryView:
        if view is None:
            raise MissingData("no question_summary")
        return view

    def stat(question_id: str, option_id: str) -> StatProxy:
        return wrap(need_view().get(question_id, str(option_id)))

    def p(question_id: str, option_id: str) -> str:
        return stat(question_id, option_id).pct

    def n(question_id: str, option_id: str) -> str:
        return stat(question_id, option_id).n

    def base(question_id: str) -> str:
        return fmt_int(need_view().base(question_id))

    def ranked(question_id: str, exclude: Iterable[str] = (), options: Iterable[str] | None = None) -> list[StatProxy]:
        """The question's options by percentage, highest first (suppressed ones last)."""
        chosen = tuple(options) if options is not None else None
        stats = need_view().select(question_id, chosen, order="size")
        excluded = set(map(str, exclude))
        return [wrap(s) for s in stats if s.option_id not in excluded]

    def texts(rows: Iterable[Any]) -> list[str]:
        return [r.text for r in rows]

    def listing(rows: Iterable[Any]) -> str:
        """'local authorities (88 per cent), ... and housing services (80 per cent)'."""
        return join(f"{r.text} ({r.pct})" for r in rows)

    def quantifier(rows: Any) -> str:
        """Words for the smallest share among the rows: 'almost all', 'most', ..."""
        rows = list(rows) if isinstance(rows, (list, tuple)) else [rows]
        if not rows:
            raise MissingData("quantifier of nothing")
        if not all([r._guard() for r in rows]):  # marks the tracker when suppressed
            return settings.suppression_symbol
        return quantifier_words(min(r.pct_value for r in rows), settings)

    def agree(rows: Any, singular: str, plural: str) -> str:
        rows = list(rows) if isinstance(rows, (list, tuple)) else [rows]
        return plural if len(rows) > 1 or any(r.plural for r in rows) else singular

    def has(question_id: str, option_id: str | None = None) -> bool:
        return view is not None and view.has(question_id, option_id)

    return {
        "stat": stat,
        "p": p,
        "n": n,
        "base": base,
        "ranked": ranked,
        "texts": texts,
        "listing": listing,
        "quantifier": quantifier,
        "agree": agree,
        "join": join,
        "has": has,
        "words": number_words,
        "fmt_int": fmt_int,
        "capfirst": capfirst,
    }


_ENV = None


def environment():
    """A Jinja environment for sentences: plain text (HTML escaping happens in the report)."""
    global _ENV
    if _ENV is None:
        import jinja2

        env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
        env.filters["capfirst"] = capfirst
        env.filters["join_words"] = join
        env.filters["words"] = number_words
        _ENV = env
    return _ENV


def render_text(template: str, context: dict[str, Any]) -> str:
    """Render one template to a single tidy line (spaces collapsed, first letter capital)."""
    text = environment().from_string(template).render(**context)
    text = " ".join(text.split())
    for before, after in ((" ,", ","), (" .", "."), (" ;", ";"), ("( ", "("), (" )", ")")):
        text = text.replace(before, after)
    return capfirst(text)


def render_sentence(
    template: str,
    view: SummaryView | None,
    settings: Settings,
    extra: dict[str, Any] | None = None,
    if_suppressed: str | None = None,
    comparison: list[ComparisonRow] | None = None,
    year: int | None = None,
) -> tuple[str, bool] | None:
    """(text, quotes_suppressed) for a sentence, or None when its data is missing.

    A sentence that touches a suppressed figure is replaced by its `if_suppressed` wording
    when it has one; otherwise it keeps `[c]` where the numbers would be.
    """

    def context(tracker: Tracker) -> dict[str, Any]:
        ctx = make_helpers(view, tracker, settings)
        ctx.update(comparison_helpers(comparison or [], tracker, settings, year or (view.year if view else 0)))
        ctx.update(extra or {})
        return ctx

    tracker = Tracker()
    try:
        text = render_text(template, context(tracker))
    except (MissingData, IndexError):
        return None
    if tracker.suppressed and if_suppressed is not None:
        try:
            text = render_text(if_suppressed, context(Tracker()))  # "" drops the sentence
        except (MissingData, IndexError):
            return None
    if not text or is_missing(text):
        return None
    return text, tracker.suppressed


def comparison_helpers(
    rows: list[ComparisonRow], tracker: Tracker, settings: Settings, year: int
) -> dict[str, Any]:
    """Template helpers over marts.year_comparison (rows ending in `year`)."""

    def wrap(row: ComparisonRow) -> ComparisonProxy:
        return ComparisonProxy(row, tracker, settings)

    def cmp(question_id: str, option_id: str) -> ComparisonProxy:
        for row in rows:
            if row.question_id == question_id and row.option_id == str(option_id):
                return wrap(row)
        raise MissingData(f"year_comparison has no row for {question_id}/{option_id}")

    def cmp_rows(question_id: str, exclude: Iterable[str] = ("other",)) -> list[ComparisonProxy]:
        chosen = [wrap(r) for r in rows if r.question_id == question_id and r.option_id not in set(exclude)]
        if not chosen:
            raise MissingData(f"year_comparison has no rows for {question_id}")
        return chosen

    def _significant(question_id: str, sign: int, exclude: Iterable[str]) -> list[ComparisonProxy]:
        excluded = set(exclude)
        chosen = [
            r
            for r in rows
            if r.question_id == question_id
            and r.option_id not in excluded
            and r.available
            and r.significant
            and (r.change_pp or 0) * sign > 0
        ]
        chosen.sort(key=lambda r: -abs(r.change_pp or 0))
        return [wrap(r) for r in chosen]

    def rises(question_id: str, exclude: Iterable[str] = ("other",)) -> list[ComparisonProxy]:
        return _significant(question_id, 1, exclude)

    def falls(question_id: str, exclude: Iterable[str] = ("other",)) -> list[ComparisonProxy]:
        return _significant(question_id, -1, exclude)

    def from_to(items: Iterable[ComparisonProxy]) -> list[str]:
        return [f"{c.text} ({c.pct_from} in {c.year_from}, {c.pct_to} in {year})" for c in items]

    def change(c: ComparisonProxy, subject: str) -> str:
        y0 = c.year_from
        if c.direction == "rose":
            return (
                f"{subject} rose from {c.pct_from} in {y0} to {c.pct_to} in {year}, a statistically "
                f"significant increase of {c.change}"
            )
        if c.direction == "fell":
            return (
                f"{subject} fell from {c.pct_from} in {y0} to {c.pct_to} in {year}, a statistically "
                f"significant decrease of {c.change}"
            )
        if c.direction == settings.suppression_symbol:
            return f"{subject}: {settings.suppression_symbol}"
        return f"{subject} was {c.pct_to} in {year}, compared with {c.pct_from} in {y0}: not a statistically significant change"

    return {
        "cmp": cmp,
        "cmp_rows": cmp_rows,
        "rises": rises,
        "falls": falls,
        "from_to": from_to,
        "change": change,
        "year_from": rows[0].year_from if rows else None,
    }
