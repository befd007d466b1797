"""The marts as the publication reads them: one survey year, typed, with published values.

`SummaryView` wraps marts.question_summary for one year and answers "what is published for
(question, option)": counts, the half-up whole percentage from the mart (`pct_rounded`),
the confidence interval, labels for charts and sentences, and whether the small-base rule
suppresses it. `comparison_rows` does the same for marts.year_comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from iom_pipeline.publication.config import OptionText, Settings, humanise, load_settings, option_texts
from iom_pipeline.publication.numbers import half_up, is_missing, pct_half_up
from iom_pipeline.publication.suppression import is_suppressed

QUESTION_SUMMARY_COLUMNS = (
    "survey_year",
    "question_id",
    "option_id",
    "unit",
    "base_n",
    "n",
    "pct",
    "pct_rounded",
    "ci_lower",
    "ci_upper",
    "question_text",
    "option_label",
    "question_order",
    "option_order",
    "is_derived",
)
YEAR_COMPARISON_COLUMNS = (
    "year_from",
    "year_to",
    "question_id",
    "option_id",
    "base_n_from",
    "n_from",
    "pct_from",
    "base_n_to",
    "n_to",
    "pct_to",
    "change_pp",
    "significant",
)


class MissingData(LookupError):
    """The year's marts hold no row for something a template or figure asks for."""


def _require(df: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} lacks columns {missing}")


def _as_bool(value) -> bool:
    if is_missing(value):
        return False
    if isinstance(value, str):
        return value.strip().lower() in ("true", "t", "1", "yes")
    return bool(value)


def _text_or(value, default: str) -> str:
    return default if is_missing(value) or not str(value).strip() else str(value)


def _as_int(value) -> int | None:
    return None if is_missing(value) else int(value)


def _as_float(value) -> float | None:
    return None if is_missing(value) else float(value)


def lower_first(text: str) -> str:
    """'Housing services' -> 'housing services', for use inside a sentence.

    Acronyms ('IDIOM', 'NHS England ...') and proper names, whose later words are capitalised
    too ('Crown Prosecution Service'), keep their capitals.
    """
    if not text:
        return text
    words = text.split()
    if len(words[0]) > 1 and words[0][:2].isupper():
        return text
    if any(w[:1].isupper() for w in words[1:]):
        return text
    return text[0].lower() + text[1:]


def prepare_question_summary(question_summary: pd.DataFrame, year: int) -> pd.DataFrame:
    """The year's rows, ids as text (`2`, `3` are option ids, not numbers)."""
    _require(question_summary, QUESTION_SUMMARY_COLUMNS, "question_summary")
    df = question_summary.copy()
    df = df[pd.to_numeric(df["survey_year"]).astype(int) == int(year)]
    df["question_id"] = df["question_id"].astype(str)
    df["option_id"] = df["option_id"].astype(str)
    return df.sort_values(["question_order", "option_order"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class Stat:
    """One (question, option) as published."""

    question_id: str
    option_id: str
    unit: str
    label: str  # for charts and tables
    text: str  # inside a sentence
    plural: bool
    question_text: str
    base_n: int | None
    n: int | None
    pct: float | None  # unrounded, for sorting and thresholds only
    pct_rounded: int | None  # half up, from the mart
    ci_lower: float | None
    ci_upper: float | None
    option_order: int
    question_order: int
    is_derived: bool
    suppressed: bool

    @property
    def available(self) -> bool:
        return not self.suppressed and self.pct_rounded is not None

    @property
    def published_pct(self) -> int:
        """The whole percentage readers see: the key of size order."""
        return self.pct_rounded

    @property
    def ci_lower_1dp(self) -> float | None:
        return half_up(self.ci_lower, 1)

    @property
    def ci_upper_1dp(self) -> float | None:
        return half_up(self.ci_upper, 1)


def _option_text(question_id: str, option_id: str) -> OptionText:
    return option_texts().get(question_id, {}).get(option_id, OptionText())


class SummaryView:
    """marts.question_summary for one survey year, as published."""

    def __init__(self, question_summary: pd.DataFrame, year: int, settings: Settings | None = None):
        self.year = int(year)
        self.settings = settings or load_settings()
        self.df = prepare_question_summary(question_summary, year)

    @cached_property
    def _stats(self) -> dict[tuple[str, str], Stat]:
        out: dict[tuple[str, str], Stat] = {}
        for row in self.df.itertuples(index=False):
            q, o = str(row.question_id), str(row.option_id)
            override = _option_text(q, o)
            label = override.label or str(row.option_label)
            base_n = _as_int(row.base_n)
            out[(q, o)] = Stat(
                question_id=q,
                option_id=o,
                unit=str(row.unit),
                label=label,
                text=override.text or lower_first(label),
                plural=override.plural,
                question_text=str(row.question_text),
                base_n=base_n,
                n=_as_int(row.n),
                pct=_as_float(row.pct),
                pct_rounded=_as_int(row.pct_rounded),
                ci_lower=_as_float(row.ci_lower),
                ci_upper=_as_float(row.ci_upper),
                option_order=int(row.option_order),
                question_order=int(row.question_order),
                is_derived=_as_bool(row.is_derived),
                suppressed=is_suppressed(base_n, self.settings),
            )
        return out

    def has(self, question_id: str, option_id: str | None = None) -> bool:
        if option_id is None:
            return any(q == question_id for q, _ in self._stats)
        return (question_id, str(option_id)) in self._stats

    def get(self, question_id: str, option_id: str) -> Stat:
        try:
            return self._stats[(question_id, str(option_id))]
        except KeyError:
            raise MissingData(f"{self.year}: question_summary has no row for {question_id}/{option_id}") from None

    def options(self, question_id: str, include_derived: bool = False) -> list[Stat]:
        stats = [s for (q, _), s in self._stats.items() if q == question_id]
        if not stats:
            raise MissingData(f"{self.year}: question_summary has no rows for {question_id}")
        stats.sort(key=lambda s: s.option_order)
        return [s for s in stats if include_derived or not s.is_derived]

    def base(self, question_id: str) -> int:
        bases = {s.base_n for s in self.options(question_id, include_derived=True)}
        if len(bases) != 1:
            raise ValueError(f"{self.year}: {question_id} has several bases {sorted(bases)}")
        return bases.pop()

    def question_text(self, question_id: str) -> str:
        return self.options(question_id, include_derived=True)[0].question_text

    @property
    def question_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for q, _ in self._stats:
            seen.setdefault(q, None)
        return list(seen)

    def select(
        self,
        question_id: str,
        options: tuple[str, ...] | None,
        order: str = "questionnaire",
        keep_last: tuple[str, ...] = (),
    ) -> list[Stat]:
        """The options a figure shows, in its order.

        `size` puts the largest published percentage first; options whose published
        percentages are equal keep questionnaire order. Suppressed rows keep questionnaire
        order after the others (their percentages are not published, so they cannot rank), and
        `keep_last` options go at the very end in the order listed.
        """
        if options is None:
            stats = self.options(question_id)
        else:
            stats = [self.get(question_id, o) for o in options if self.has(question_id, o)]
            if not stats:
                raise MissingData(f"{self.year}: none of {question_id}/{list(options)} is in question_summary")
        return in_order(stats, order, keep_last)


def in_order(rows: list, order: str, keep_last: tuple[str, ...] = ()) -> list:
    """Rows (Stat or ComparisonRow, given in questionnaire order) in a figure's order.

    Size order ranks by the published (rounded) percentage, so that bars a reader sees as
    equal stay in questionnaire order. `descending`, the earlier name of `size`, is accepted.
    """
    if order not in ("size", "descending", "questionnaire"):
        raise ValueError(f"unknown order {order!r}")
    last = [r for o in keep_last for r in rows if r.option_id == o]
    body = [r for r in rows if r.option_id not in keep_last]
    if order in ("size", "descending"):
        shown = [r for r in body if r.available]
        hidden = [r for r in body if not r.available]
        shown.sort(key=lambda r: -r.published_pct)  # stable: ties keep questionnaire order
        body = shown + hidden
    return body + last


@dataclass(frozen=True)
class ComparisonRow:
    """One (question, option) of marts.year_comparison, as published.

    Each year's figures are suppressed for that year's own base (`suppressed_from`,
    `suppressed_to`). The change and its significance are published only when both years'
    figures are: with one of them shown, the change would give the other away.
    """

    question_id: str
    option_id: str
    label: str
    text: str
    plural: bool
    year_from: int
    year_to: int
    base_n_from: int | None
    n_from: int | None
    pct_from: float | None
    pct_from_rounded: int | None
    base_n_to: int | None
    n_to: int | None
    pct_to: float | None
    pct_to_rounded: int | None
    change_pp: float | None
    significant: bool
    suppressed_from: bool
    suppressed_to: bool
    option_order: int
    question_text: str = ""

    @property
    def suppressed(self) -> bool:
        """Either year suppressed: the change (and so the comparison) is not published."""
        return self.suppressed_from or self.suppressed_to

    @property
    def available(self) -> bool:
        return not self.suppressed and self.pct_to_rounded is not None and self.pct_from_rounded is not None

    @property
    def pct(self) -> float | None:  # sorting key, as for Stat
        return self.pct_to

    @property
    def published_pct(self) -> int:
        return self.pct_to_rounded

    @property
    def change_rounded(self) -> int | None:
        return half_up(self.change_pp, 0)

    @property
    def direction(self) -> str:
        if self.change_pp is None or not self.significant:
            return "no significant change"
        return "increase" if self.change_pp > 0 else "decrease"


def comparison_rows(
    year_comparison: pd.DataFrame | None,
    year: int,
    question_id: str | None = None,
    settings: Settings | None = None,
    view: SummaryView | None = None,
) -> list[ComparisonRow]:
    """The comparison rows ending in `year` (latest earlier year only), questionnaire order."""
    settings = settings or load_settings()
    if year_comparison is None or len(year_comparison) == 0:
        return []
    _require(year_comparison, YEAR_COMPARISON_COLUMNS, "year_comparison")
    df = year_comparison[pd.to_numeric(year_comparison["year_to"]).astype(int) == int(year)].copy()
    if question_id is not None:
        df = df[df["question_id"].astype(str) == question_id]
    if df.empty:
        return []
    latest_from = int(pd.to_numeric(df["year_from"]).max())
    df = df[pd.to_numeric(df["year_from"]).astype(int) == latest_from]
    rows = []
    for position, row in enumerate(df.itertuples(index=False)):
        q, o = str(row.question_id), str(row.option_id)
        stat = view.get(q, o) if view is not None and view.has(q, o) else None
        override = _option_text(q, o)
        label = override.label or (stat.label if stat else None) or _text_or(getattr(row, "option_label", None), humanise(o))
        base_from, base_to = _as_int(row.base_n_from), _as_int(row.base_n_to)
        n_from, n_to = _as_int(row.n_from), _as_int(row.n_to)
        rows.append(
            ComparisonRow(
                question_id=q,
                option_id=o,
                label=label,
                text=override.text or lower_first(label),
                plural=override.plural,
                year_from=latest_from,
                year_to=int(year),
                base_n_from=base_from,
                n_from=n_from,
                pct_from=_as_float(row.pct_from),
                pct_from_rounded=pct_half_up(n_from, base_from) if n_from is not None else half_up(row.pct_from),
                base_n_to=base_to,
                n_to=n_to,
                pct_to=_as_float(row.pct_to),
                pct_to_rounded=(
                    stat.pct_rounded
                    if stat is not None and stat.base_n == base_to and stat.n == n_to
                    else (pct_half_up(n_to, base_to) if n_to is not None else half_up(row.pct_to))
                ),
                change_pp=_as_float(row.change_pp),
                significant=_as_bool(row.significant),
                suppressed_from=is_suppressed(base_from, settings),
                suppressed_to=is_suppressed(base_to, settings),
                option_order=stat.option_order if stat else 1000 + position,
                question_text=stat.question_text if stat else _text_or(getattr(row, "question_text", None), humanise(q)),
            )
        )
    rows.sort(key=lambda r: r.option_order)
    return rows


MART_NAMES = ("question_summary", "submission_outcome", "quality_warning", "year_comparison")
# A mart read as counts (one row per value, with how many rows have it) carries them in this
# column: the pipeline reads submission_outcome and quality_warning that way, so a million-row
# export never becomes a frame; an extract of whole rows (tests, previews) has no such column.
ROW_COUNT = "row_count"


def counts_by(df: pd.DataFrame, columns: list[str]) -> dict[tuple, int]:
    """Rows per value of `columns` (a tuple each), from whole rows or from counts (ROW_COUNT)."""
    if df is None or len(df) == 0:
        return {}
    keys = df[columns].astype(object).where(df[columns].notna(), None)
    weights = df[ROW_COUNT] if ROW_COUNT in df.columns else pd.Series(1, index=df.index)
    counts: dict[tuple, int] = {}
    for key, weight in zip(keys.itertuples(index=False, name=None), weights):
        counts[key] = counts.get(key, 0) + int(weight)
    return counts


_TEXT_COLUMNS = {
    "question_id", "option_id", "unit", "question_text", "option_label", "questionnaire_version",
    "csp_code", "outcome", "reason", "warning", "item", "detail", "method", "status", "matched_by",
}


def read_marts_csv(directory) -> dict[str, pd.DataFrame]:
    """Mart extracts saved as `<mart>.csv` in a directory, typed as the marts are.

    For previews and tests; the pipeline passes DataFrames read from DuckDB. A missing file
    gives an empty frame (year_comparison is often empty).
    """
    from pathlib import Path

    directory = Path(directory)
    marts: dict[str, pd.DataFrame] = {}
    for name in MART_NAMES:
        path = directory / f"{name}.csv"
        if not path.exists():
            marts[name] = pd.DataFrame()
            continue
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
        for column in df.columns:
            if column in _TEXT_COLUMNS:
                continue
            if column in ("is_derived", "significant", "responded"):
                df[column] = df[column].map(_as_bool)
            else:
                converted = pd.to_numeric(df[column], errors="coerce")
                if converted.notna().sum() == df[column].notna().sum():
                    df[column] = converted
        marts[name] = df
    return marts
