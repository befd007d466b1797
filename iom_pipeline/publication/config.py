"""The publication's configuration: `assets/publication/*.yaml`, loaded into plain objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any


from iom_pipeline.paths import ASSETS_DIR, load_yaml

PUBLICATION_ASSETS = ASSETS_DIR / "publication"
FIGURE_KINDS = ("table", "bar", "comparison")
SORTS = ("descending", "questionnaire")
ORIENTATIONS = ("horizontal", "vertical")


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
    sort: str = "descending"
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
    contact: str
    synthetic_warning: str
    png_dpi: int
    quantifiers: tuple[dict, ...]
    notes: tuple[dict, ...]
    outcomes: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)

    def with_overrides(self, **overrides: Any) -> Settings:
        from dataclasses import replace

        return replace(self, **overrides)


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
        contact=_clean(doc.get("contact", "")),
        synthetic_warning=_clean(doc.get("synthetic_warning", "")),
        png_dpi=int(doc.get("png_dpi", 150)),
        quantifiers=tuple(doc.get("quantifiers", ())),
        notes=tuple({**n, "text": _clean(n["text"])} for n in doc.get("notes", ())),
        outcomes=dict(doc.get("outcomes", {})),
        reasons=dict(doc.get("reasons", {})),
        warnings=dict(doc.get("warnings", {})),
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


def _spec(entry: dict, defaults: dict) -> FigureSpec:
    merged = {**defaults, **entry}
    kind = merged.get("kind", "bar")
    if kind not in FIGURE_KINDS:
        raise ValueError(f"figures.yaml: {entry.get('id')} has kind {kind!r}; expected one of {FIGURE_KINDS}")
    if merged.get("sort", "descending") not in SORTS:
        raise ValueError(f"figures.yaml: {entry.get('id')} has sort {merged.get('sort')!r}")
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
        sort=merged.get("sort", "descending"),
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
