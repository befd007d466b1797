"""The publication's configuration: `assets/publication/*.yaml`, loaded into plain objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any


from iom_pipeline.paths import ASSETS_DIR, load_yaml

PUBLICATION_ASSETS = ASSETS_DIR / "publication"
FIGURE_KINDS = ("table", "bar", "comparison")
ORDERS = ("size", "questionnaire")
# figures.yaml's earlier key `sort` and its values, still read.
LEGACY_SORTS = {"descending": "size", "questionnaire": "questionnaire"}
ORIENTATIONS = ("horizontal", "vertical")
# The kinds of code in the marts that readers could see, and so need a label (publication.yaml).
CODE_KINDS = ("outcome", "reason", "warning", "unit")


@dataclass(frozen=True)
class OptionText:
    label: str | None = None  # chart and table label; None: the questionnaire's label
    text: str | None = None  # inside a sentence; None: the label with a lower-case first letter
    plural: bool = False


@dataclass(frozen=True)
class FigureSpec:
    """One published table or figure (an entry of figures.yaml)."""

    id: str
    number: str
    kind: str
    title: str
    headline: str
    question_id: str | None = None
    questions: tuple[str, ...] = ()
    options: tuple[str, ...] | None = None
    order: str = "size"  # size (largest published percentage first) | questionnaire
    keep_last: tuple[str, ...] = ()
    orientation: str = "horizontal"
    base: str = ""
    axis_label: str = "Percentage"
    alt_text: str = ""
    notes: tuple[str, ...] = ()
    headline_exclude: tuple[str, ...] = ()

    @property
    def sheet_name(self) -> str:
        return self.number.replace(" ", "_")

    @property
    def sort(self) -> str:
        """The order under its earlier name: `descending` for size order."""
        return "descending" if self.order == "size" else self.order

    @property
    def is_figure(self) -> bool:
        return self.kind != "table"


@dataclass(frozen=True)
class Settings:
    """publication.yaml."""

    suppress_below_base: int
    suppression_symbol: str
    not_available_symbol: str
    title: str
    short_title: str
    publisher: str
    source: str
    period: str
    synthetic_warning: str
    png_dpi: int
    quantifiers: tuple[dict, ...]
    notes: tuple[dict, ...]
    # kind (outcome, reason, warning, unit) -> code -> {"label": ..., "description": ...}
    labels: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    no_reason_label: str = "None"
    change_note: str = ""
    releases: Releases | None = None  # releases.yaml; None: read it when asked

    def with_overrides(self, **overrides: Any) -> Settings:
        from dataclasses import replace

        return replace(self, **overrides)

    def has_label(self, kind: str, code: Any) -> bool:
        return str(code) in self.labels.get(kind, {})

    def label(self, kind: str, code: Any) -> str:
        """How a code reads in a table cell: its configured label, or the code made readable
        ("unknown_csp" -> "Unknown csp") so that no internal code reaches a reader."""
        entry = self.labels.get(kind, {}).get(str(code))
        return entry["label"] if entry else humanise(str(code))

    def description(self, kind: str, code: Any) -> str:
        entry = self.labels.get(kind, {}).get(str(code))
        return entry.get("description", "") if entry else ""

    def release_config(self) -> Releases:
        return self.releases if self.releases is not None else load_releases()


@dataclass(frozen=True)
class Releases:
    """releases.yaml: release metadata per survey year."""

    statuses: dict[str, str]  # status -> the sentence that explains it to readers
    synthetic: dict[str, Any]  # what a publication of synthetic data shows
    unreleased: dict[str, Any]  # what a real year without an entry shows (the check stops it)
    years: dict[int, dict[str, Any]]
    source: str = "assets/publication/releases.yaml"


RELEASE_FIELDS = ("status", "published", "next_update", "contact_name", "contact_email")


def humanise(code: str) -> str:
    """'exclusive_option_with_other' -> 'Exclusive option with other'."""
    text = " ".join(code.replace("_", " ").split())
    return text[:1].upper() + text[1:]


def _labels(doc: dict) -> dict[str, dict[str, dict[str, str]]]:
    out: dict[str, dict[str, dict[str, str]]] = {}
    for kind, codes in (doc.get("labels") or {}).items():
        if kind not in CODE_KINDS:
            raise ValueError(f"publication.yaml: labels has kind {kind!r}; expected one of {CODE_KINDS}")
        out[kind] = {}
        for code, entry in (codes or {}).items():
            if isinstance(entry, str):
                entry = {"label": entry}
            if not entry.get("label"):
                raise ValueError(f"publication.yaml: labels.{kind}.{code} has no label")
            out[kind][str(code)] = {k: _clean(v) for k, v in entry.items() if k in ("label", "description")}
    return out


def releases_from_doc(doc: dict, source: str = "assets/publication/releases.yaml") -> Releases:
    def entry(value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValueError(f"{source}: {where} must be a mapping of {', '.join(RELEASE_FIELDS)}")
        unknown = sorted(set(value) - set(RELEASE_FIELDS))
        if unknown:
            raise ValueError(f"{source}: {where} has unknown fields {unknown}")
        return {k: (_clean(v) if isinstance(v, str) else v) for k, v in value.items()}

    years = {}
    for year, value in (doc.get("years") or {}).items():
        years[int(year)] = entry(value, f"years.{year}")
    return Releases(
        statuses={str(k): _clean(v) for k, v in (doc.get("statuses") or {}).items()},
        synthetic=entry(doc.get("synthetic") or {}, "synthetic"),
        unreleased=entry(doc.get("unreleased") or {}, "unreleased"),
        years=years,
        source=source,
    )


@cache
def load_releases() -> Releases:
    return releases_from_doc(_load_yaml("releases.yaml"))


def _load_yaml(name: str, directory: Path | None = None) -> dict:
    path = (directory or PUBLICATION_ASSETS) / name
    with path.open(encoding="utf-8") as fh:
        return load_yaml(fh.read())


def _tuple(value) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) if not isinstance(v, dict) else v for v in value)


def _clean(text: Any) -> str:
    """Folded YAML keeps single line breaks inside templates; a published line has none."""
    return " ".join(str(text or "").split())


@cache
def load_settings() -> Settings:
    doc = _load_yaml("publication.yaml")
    threshold = int(doc.get("suppress_below_base", 10))
    if threshold < 0:
        raise ValueError("publication.yaml: suppress_below_base must be 0 or more")
    return Settings(
        suppress_below_base=threshold,
        suppression_symbol=str(doc.get("suppression_symbol", "[c]")),
        not_available_symbol=str(doc.get("not_available_symbol", "[x]")),
        title=_clean(doc["title"]),
        short_title=_clean(doc.get("short_title", doc["title"])),
        publisher=_clean(doc.get("publisher", "")),
        source=_clean(doc["source"]),
        period=_clean(doc.get("period", "{{ year }}")),
        synthetic_warning=_clean(doc.get("synthetic_warning", "")),
        png_dpi=int(doc.get("png_dpi", 150)),
        quantifiers=tuple(doc.get("quantifiers", ())),
        notes=tuple({**n, "text": _clean(n["text"])} for n in doc.get("notes", ())),
        labels=_labels(doc),
        no_reason_label=_clean(doc.get("no_reason_label", "None")),
        change_note=_clean(doc.get("change_note", "")),
        releases=load_releases(),
    )


@cache
def _figures_doc() -> dict:
    return _load_yaml("figures.yaml")


@cache
def option_texts() -> dict[str, dict[str, OptionText]]:
    out: dict[str, dict[str, OptionText]] = {}
    for question_id, options in (_figures_doc().get("option_text") or {}).items():
        out[str(question_id)] = {
            str(option_id): OptionText(
                label=spec.get("label"), text=spec.get("text"), plural=bool(spec.get("plural", False))
            )
            for option_id, spec in (options or {}).items()
        }
    return out


def _order(entry: dict, defaults: dict) -> str:
    """`order: size | questionnaire`; the earlier `sort: descending | questionnaire` still reads."""
    orders = []
    for source in (entry, defaults):
        if "order" in source:
            orders.append(source["order"])
        elif "sort" in source:
            if source["sort"] not in LEGACY_SORTS:
                raise ValueError(f"figures.yaml: {entry.get('id')} has sort {source['sort']!r}")
            orders.append(LEGACY_SORTS[source["sort"]])
        if orders:
            break
    if "order" in entry and "sort" in entry and LEGACY_SORTS.get(entry["sort"]) != entry["order"]:
        raise ValueError(f"figures.yaml: {entry.get('id')} has both order {entry['order']!r} and sort {entry['sort']!r}")
    order = orders[0] if orders else "size"
    if order not in ORDERS:
        raise ValueError(f"figures.yaml: {entry.get('id')} has order {order!r}; expected one of {ORDERS}")
    return order


def _spec(entry: dict, defaults: dict) -> FigureSpec:
    merged = {**defaults, **entry}
    kind = merged.get("kind", "bar")
    if kind not in FIGURE_KINDS:
        raise ValueError(f"figures.yaml: {entry.get('id')} has kind {kind!r}; expected one of {FIGURE_KINDS}")
    order = _order(entry, defaults)
    if merged.get("orientation", "horizontal") not in ORIENTATIONS:
        raise ValueError(f"figures.yaml: {entry.get('id')} has orientation {merged.get('orientation')!r}")
    if kind == "table" and not merged.get("questions"):
        raise ValueError(f"figures.yaml: table {entry.get('id')} lists no questions")
    if kind != "table" and not merged.get("question_id"):
        raise ValueError(f"figures.yaml: {entry.get('id')} names no question_id")
    options = merged.get("options")
    return FigureSpec(
        id=str(merged["id"]),
        number=str(merged["number"]),
        kind=kind,
        title=_clean(merged["title"]),
        headline=_clean(merged.get("headline") or merged["title"]),
        question_id=merged.get("question_id"),
        questions=_tuple(merged.get("questions")),
        options=None if options is None else _tuple(options),
        order=order,
        keep_last=_tuple(merged.get("keep_last")),
        orientation=merged.get("orientation", "horizontal"),
        base=_clean(merged.get("base", "")),
        axis_label=_clean(merged.get("axis_label", "Percentage")),
        alt_text=_clean(merged.get("alt_text", "")),
        notes=tuple(_clean(n) for n in merged.get("notes") or ()),
        headline_exclude=_tuple(merged.get("headline_exclude")),
    )


@cache
def _figure_specs() -> tuple[FigureSpec, ...]:
    doc = _figures_doc()
    defaults = doc.get("defaults") or {}
    specs = tuple(_spec(entry, defaults) for entry in doc["items"])
    ids = [s.id for s in specs]
    if len(ids) != len(set(ids)):
        raise ValueError("figures.yaml: duplicate ids")
    numbers = [s.number for s in specs]
    if len(numbers) != len(set(numbers)):
        raise ValueError("figures.yaml: duplicate numbers")
    return specs


def figure_specs() -> list[FigureSpec]:
    """Every published table and figure, in the order of figures.yaml."""
    return list(_figure_specs())


def figure_spec(spec_id: str) -> FigureSpec:
    for spec in _figure_specs():
        if spec.id == spec_id:
            return spec
    raise KeyError(f"figures.yaml has no entry {spec_id!r}")


@cache
def report_config() -> dict:
    return _load_yaml("report.yaml")


def template_path(name: str = "report.html.j2") -> Path:
    return PUBLICATION_ASSETS / name
