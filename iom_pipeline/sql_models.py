"""SQL models: discovery, rendering and year-scoped materialisation.

Models live in `sql/<layer>/<name>.sql`, one per file, and are Jinja templates in the dbt manner:
`{{ ref('stg_submissions') }}` names another model (and records the dependency),
`{{ source('config', 'option') }}` a table loaded from configuration, and `qn` is the
questionnaire in force for the year, so column lists are generated from the YAML.

Every model is scoped to one survey year: `ref()` and `source()` render as subqueries filtered
to the year being built, and the result replaces that year's rows of `<layer>.<name>`, leaving
other years as they were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from graphlib import TopologicalSorter

import jinja2

from iom_pipeline.paths import REFERENCE_DIR, SQL_DIR
from iom_pipeline.questionnaire import CSP_LEVEL, LABEL_PADDING, Questionnaire, normalise_label

LAYERS = ("staging", "intermediate", "marts")
YEAR_COLUMN = "survey_year"
_REF = re.compile(r"""ref\(\s*['"](\w+)['"]""")
_SOURCE = re.compile(r"""source\(\s*['"](\w+)['"]\s*,\s*['"](\w+)['"]""")
_MARKER = re.compile(r"(partition column|materialised):")


def ident(name: str) -> str:
    """A quoted SQL identifier: column names from the questionnaire never become bare SQL."""
    return '"' + str(name).replace('"', '""') + '"'


def lit(value) -> str:
    """A SQL literal for a configuration value (labels, ids): quotes doubled, never interpolated raw."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(int(value))
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class SqlModel:
    name: str
    layer: str
    template: str
    refs: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]
    description: str
    year_column: str = YEAR_COLUMN
    # "view": a filter or projection of other models, year-agnostic SQL kept as a view over every
    # year, so that its rows are never written twice (see `-- materialised: view`).
    materialised: str = "table"

    @property
    def table(self) -> str:
        return f"{self.layer}.{self.name}"


def _leading_comment(text: str) -> str:
    """The comment that opens a model, whole (its lines joined), less the markers read above."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        words = line[2:].strip()
        if words and not _MARKER.match(words):
            lines.append(words)
    return " ".join(lines)


@cache
def discover_models() -> dict[str, SqlModel]:
    models: dict[str, SqlModel] = {}
    for layer in LAYERS:
        for path in sorted((SQL_DIR / layer).glob("*.sql")):
            text = path.read_text(encoding="utf-8")
            opening = _leading_comment(text)
            year_column = YEAR_COLUMN
            marker = re.search(r"--\s*partition column:\s*(\w+)", text)
            if marker:
                year_column = marker.group(1)
            materialised = re.search(r"--\s*materialised:\s*(table|view)\b", text)
            models[path.stem] = SqlModel(
                name=path.stem,
                layer=layer,
                template=text,
                refs=tuple(dict.fromkeys(_REF.findall(text))),
                sources=tuple(dict.fromkeys(_SOURCE.findall(text))),
                description=opening or path.stem,
                year_column=year_column,
                materialised=materialised.group(1) if materialised else "table",
            )
    for m in models.values():
        unknown = set(m.refs) - set(models)
        if unknown:
            raise ValueError(f"sql/{m.layer}/{m.name}.sql refers to unknown models {sorted(unknown)}")
    return models


def models_in_order(layer: str | None = None) -> list[SqlModel]:
    models = discover_models()
    order = TopologicalSorter({m.name: set(m.refs) for m in models.values()}).static_order()
    return [models[n] for n in order if layer is None or models[n].layer == layer]


@dataclass(frozen=True)
class RoutingAtom:
    """One condition some item's routing depends on: `column` (a single-choice question asked of the
    CSP) holds `label_norm`. Each atom is one bit of a return's routing facts."""

    bit: int  # a power of two
    question_id: str
    option_id: str
    column: str | None  # None: the condition is not a CSP-level single choice, so it never holds
    label_norm: str | None


@dataclass(frozen=True)
class ExclusiveGroup:
    """A multi-select question (in one block) with an exclusive option (rule 5): one bit each."""

    bit: int  # a power of two
    exclusive_column: str
    tick_columns: tuple[str, ...]


@dataclass(frozen=True)
class ColumnRule:
    column: str
    required: int  # the atoms' bits that must all hold for the column's item to be asked
    exclusive_bit: int  # the column's group bit when it is that group's exclusive option, else 0


@dataclass(frozen=True)
class RoutingPlan:
    atoms: tuple[RoutingAtom, ...]
    exclusive_groups: tuple[ExclusiveGroup, ...]
    columns: tuple[ColumnRule, ...]

    def rule(self, column: str) -> ColumnRule:
        return next(r for r in self.columns if r.column == column)


def routing_plan(qn: Questionnaire) -> RoutingPlan:
    """Rules 4 and 5 as bit masks, so a model decides them on the wide row (one pass) and the
    long rows only compare integers: each return gets a mask of the routing conditions its own
    answers meet and a mask of the exclusive options it ticked together with another."""
    columns = qn.columns()
    singles = {c.item_id: c.name for c in columns if c.role == "single" and c.block_no == CSP_LEVEL}
    atoms: dict[tuple[str, str], RoutingAtom] = {}
    required: dict[tuple[str, int], int] = {}
    for c in columns:
        key = (c.item_id, c.block_no)
        if key in required:
            continue
        mask = 0
        for question_id, option_id in qn.routing_conditions(c.item_id, c.block_no):
            atom = atoms.get((question_id, option_id))
            if atom is None:
                column = singles.get(question_id)
                label = next((o.label for o in qn.question(question_id).options if o.id == option_id), None)
                atom = RoutingAtom(1 << len(atoms), question_id, option_id, column if label is not None else None,
                                   normalise_label(label) if label is not None else None)
                atoms[(question_id, option_id)] = atom
            mask |= atom.bit
        required[key] = mask
    groups: list[ExclusiveGroup] = []
    exclusive_bit: dict[str, int] = {}
    for q in qn.questions:
        if q.type != "multi":
            continue
        exclusive = {o.id for o in q.options if o.exclusive}
        if not exclusive:
            continue
        blocks: dict[int, list] = {}
        for c in columns:
            if c.item_id == q.id and c.role == "tick":
                blocks.setdefault(c.block_no, []).append(c)
        for block_cols in blocks.values():
            ticks = tuple(c.name for c in block_cols)
            for c in block_cols:
                if c.option_id in exclusive:
                    bit = 1 << len(groups)
                    groups.append(ExclusiveGroup(bit, c.name, ticks))
                    exclusive_bit[c.name] = bit
    rules = tuple(ColumnRule(c.name, required[(c.item_id, c.block_no)], exclusive_bit.get(c.name, 0)) for c in columns)
    return RoutingPlan(tuple(atoms.values()), tuple(groups), rules)


_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)


def render(model: SqlModel, year: int, qn: Questionnaire) -> str:
    all_models = discover_models()
    year = int(year)
    # A view serves every year, so what it reads is never scoped to the year being built.
    every_year = model.materialised == "view"

    def ref(name: str, all_years: bool = False) -> str:
        target = all_models[name]
        if all_years or every_year:
            return target.table
        return f"(select * from {target.table} where {target.year_column} = {year})"

    def source(schema: str, table: str, all_years: bool = False) -> str:
        if schema == "raw":
            # Raw exports keep their own columns, one table per survey year.
            return f"{schema}.{table}_{year}"
        if all_years or every_year:
            return f"{schema}.{table}"
        return f"(select * from {schema}.{table} where {YEAR_COLUMN} = {year})"

    columns = {(c.item_id, c.block_no, c.option_id): c.name for c in qn.columns()}

    def column(item_id: str, block_no: int = CSP_LEVEL, option_id: str | None = None) -> str:
        """The export column of an item (a block's, an option's): named by the questionnaire."""
        return columns[(item_id, block_no, option_id)]

    template = _ENV.from_string(model.template)
    return template.render(
        column=column,
        normalise_label=normalise_label,
        year=year,
        qn=qn,
        ref=ref,
        source=source,
        ident=ident,
        lit=lit,
        routing=routing_plan(qn),
        label_padding=LABEL_PADDING,
        reference_dir=REFERENCE_DIR.as_posix(),
    )


def macro_statements() -> list[str]:
    """`sql/macros/*.sql`: DuckDB macros every model may call (created before models run)."""
    return [p.read_text(encoding="utf-8") for p in sorted((SQL_DIR / "macros").glob("*.sql"))]
