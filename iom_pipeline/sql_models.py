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
from iom_pipeline.questionnaire import LABEL_PADDING, Questionnaire

LAYERS = ("staging", "intermediate", "marts")
YEAR_COLUMN = "survey_year"
_REF = re.compile(r"""ref\(\s*['"](\w+)['"]""")
_SOURCE = re.compile(r"""source\(\s*['"](\w+)['"]\s*,\s*['"](\w+)['"]""")
_FIRST_COMMENT = re.compile(r"^\s*--\s*(.+)$", re.MULTILINE)


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

    @property
    def table(self) -> str:
        return f"{self.layer}.{self.name}"


@cache
def discover_models() -> dict[str, SqlModel]:
    models: dict[str, SqlModel] = {}
    for layer in LAYERS:
        for path in sorted((SQL_DIR / layer).glob("*.sql")):
            text = path.read_text(encoding="utf-8")
            first = _FIRST_COMMENT.search(text)
            year_column = YEAR_COLUMN
            marker = re.search(r"--\s*partition column:\s*(\w+)", text)
            if marker:
                year_column = marker.group(1)
            models[path.stem] = SqlModel(
                name=path.stem,
                layer=layer,
                template=text,
                refs=tuple(dict.fromkeys(_REF.findall(text))),
                sources=tuple(dict.fromkeys(_SOURCE.findall(text))),
                description=first.group(1).strip() if first else path.stem,
                year_column=year_column,
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


_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)


def render(model: SqlModel, year: int, qn: Questionnaire) -> str:
    all_models = discover_models()
    year = int(year)

    def ref(name: str, all_years: bool = False) -> str:
        target = all_models[name]
        if all_years:
            return target.table
        return f"(select * from {target.table} where {target.year_column} = {year})"

    def source(schema: str, table: str, all_years: bool = False) -> str:
        if schema == "raw":
            # Raw exports keep their own columns, one table per survey year.
            return f"{schema}.{table}_{year}"
        if all_years:
            return f"{schema}.{table}"
        return f"(select * from {schema}.{table} where {YEAR_COLUMN} = {year})"

    template = _ENV.from_string(model.template)
    return template.render(
        year=year,
        qn=qn,
        ref=ref,
        source=source,
        ident=ident,
        lit=lit,
        label_padding=LABEL_PADDING,
        reference_dir=REFERENCE_DIR.as_posix(),
    )


def macro_statements() -> list[str]:
    """`sql/macros/*.sql`: DuckDB macros every model may call (created before models run)."""
    return [p.read_text(encoding="utf-8") for p in sorted((SQL_DIR / "macros").glob("*.sql"))]
