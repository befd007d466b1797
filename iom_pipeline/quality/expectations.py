"""Great Expectations 1.x suites for one survey year of a warehouse table, run on a DataFrame.

The caller reads one survey year's rows of a table from DuckDB into a pandas DataFrame
(`read_table`) and runs the table's suite on it (`run_suite`). GX validates the frame through
a pandas datasource (`add_dataframe_asset`, a whole-dataframe batch definition), an
ExpectationSuite and a ValidationDefinition. GX's SQL datasource is not used: over
duckdb-engine it returns empty results without an error.

Suites are YAML files, one per table, in `assets/expectations/` beside the questionnaire. Each
expectation is a GX expectation type (snake case, e.g. `expect_column_values_to_be_between`)
with its kwargs, plus optional keys:

    description:  why it matters; the expectation's notes in the Data Docs, and in the result
    severity:     `critical` (default) fails the suite; `warning` / `info` are reported only
    where:        a row condition: "column OP value" with OP one of == != < <= > >= in, not in,
                  or "column is null" / "column is not null"; a list of them means all hold.
                  The value is read as YAML: `outcome == counted`, `base_n > 0`,
                  `outcome in [counted, superseded]` (quote ids YAML would read otherwise:
                  `q == 'yes'`).
    for_each:     repeat the expectation for every questionnaire item of a kind (below); in
                  its strings `{placeholder}` takes the item's value (`column: "{question_id}"`)

Values that depend on the survey year are references, resolved before GX sees the suite:

    {fact: NAME}           a count the caller measured and passes in `facts` (`export_rows`,
                           `frame_size`, `counted_rows`; see `warehouse_facts`), or
                           `survey_year`
    {questionnaire: NAME}  a value from the year's questionnaire (QUESTIONNAIRE_VALUES), or
                           inside a for_each, from the item (ITEM_VALUES)

Inside a list, a reference that resolves to a list is spliced in:
`column_set: [survey_year, csp_code, {questionnaire: csp_answer_columns}]`.
`{questionnaire: NAME, of: other_versions}` is what the other questionnaire versions have and
this year's has not: a table holds every survey year's rows, hence every version's columns.
An expect_table_columns_to_match_set may list such columns as `optional_columns`: those the
frame has join its `column_set`.

A suite may also `derive` columns on a copy of the frame, for expectations that need a single
column: `{join: [question_id, option_id], sep: "/"}` (the two ids as one key) or
`{count_not_null: [columns]}` (how many of the columns the frame has are filled in a row).
Derived columns join the `column_set` of expect_table_columns_to_match_set by themselves.

for_each kinds (filter with `unit: csp|arrangement` where it applies):
    single_choice_question   question_id; options_of_question, labels_of_question
    multi_choice_question    question_id; options_of_question (derived options included)
    single_choice_column     export column of a single-choice question: column, question_id;
                             options_of_question, labels_of_question
    tick_column              export column of a multi-select option: column, question_id,
                             option_id; label_of_option

Data Docs: with `docs_dir`, the run is stored and rendered as a local Data Docs site whose
`index.html` is in `docs_dir`: one page per suite and survey year, showing its latest run (each
expectation, its kwargs and what was observed). The site is written offline; its pages fetch
their stylesheets from public CDNs when opened, and read without them. The validation results
the pages are rendered from are kept as JSON in `docs_dir/_store/`, so runs from separate
processes (Dagster steps) share one index; a file lock serialises the writers.
"""

from __future__ import annotations

import copy
import datetime as dt
import fcntl
import logging
import math
import re
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from iom_pipeline.paths import ASSETS_DIR, load_yaml
from iom_pipeline.questionnaire import (
    Questionnaire,
    all_questionnaires,
    load_questionnaire,
    normalise_label,
    questionnaire_for_year,
)

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

log = logging.getLogger(__name__)

SUITES_DIR = ASSETS_DIR / "expectations"
DOCS_SITE_NAME = "iom_data_docs"
DOCS_STORE_DIR = "_store"  # inside docs_dir: the JSON the site is rendered from
KEEP_RUNS = 1  # validation runs kept (and shown) per suite and survey year: the latest
MAX_EXAMPLES = 5
# GX's result detail: BASIC gives counts and up to `partial_unexpected_count` examples of
# unexpected values, at half the cost of SUMMARY (which adds value counts and row indexes).
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 10}
SEVERITIES = ("critical", "warning", "info")
FACTS = {
    "export_rows": "rows of the year's survey export (headers excluded)",
    "frame_size": "CSPs in the year's survey frame",
    "counted_rows": "counted returns (submission_outcome rows with outcome 'counted')",
}


# -- suite definitions -------------------------------------------------------------------
@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation with every reference resolved: what GX will be given."""

    type: str
    kwargs: dict
    severity: str = "critical"
    description: str | None = None
    where: tuple[tuple, ...] = ()  # (column, operator, value) or (column, "is null"/"is not null")
    where_text: str | None = None


@dataclass(frozen=True)
class ExpandedSuite:
    name: str  # e.g. csp_return
    table: str  # e.g. marts.csp_return
    year: int
    description: str
    derive: dict
    expectations: tuple[ExpectationSpec, ...]
    facts: dict


@cache
def _definition(name: str) -> dict:
    path = SUITES_DIR / f"{name}.yaml"
    if not path.exists():
        raise ValueError(f"no expectation suite {name!r}: expected one of {', '.join(suite_names())}")
    with path.open(encoding="utf-8") as fh:
        doc = load_yaml(fh.read())
    if not isinstance(doc, dict) or not isinstance(doc.get("expectations"), list) or "table" not in doc:
        raise ValueError(f"{path}: a suite needs `table` and a list of `expectations`")
    return doc


def suite_names() -> list[str]:
    """The suites defined in assets/expectations/, by table name (e.g. `csp_return`)."""
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def suite_table(name: str) -> str:
    """The qualified warehouse table a suite validates (e.g. `marts.csp_return`)."""
    return _definition(name)["table"]


def required_facts(name: str) -> list[str]:
    """The facts a suite refers to, which the caller must pass to `run_suite`."""
    found: set[str] = set()

    def walk(value):
        if isinstance(value, dict):
            if set(value) == {"fact"}:
                found.add(str(value["fact"]))
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(_definition(name))
    return sorted(found - {"survey_year"})


@cache
def _questionnaire_values(version: str) -> dict[str, Any]:
    qn = load_questionnaire(version)

    def answer_columns(unit: str, with_derived: bool) -> list[str]:
        cols: list[str] = []
        for q in qn.questions:
            if q.unit != unit:
                continue
            if q.type == "single":
                cols.append(q.id)
            else:
                cols += [f"{q.id}_{o.id}" for o in q.options]
                if with_derived:
                    cols += [f"{q.id}_{d.id}" for d in q.derived_options]
        return cols + [t.id for t in qn.free_text if t.unit == unit]

    pairs = [[q.id, o.id] for q in qn.questions for o in [*q.options, *q.derived_options]]
    return {
        "version": qn.version,
        "block_count": qn.block_count,
        "screening_question": qn.screening_question,
        "answer_columns": qn.answer_column_names,
        # The marts' column layout (sql/marts/csp_return.sql, arrangement.sql).
        "csp_answer_columns": answer_columns("csp", with_derived=True),
        "arrangement_answer_columns": answer_columns("arrangement", with_derived=False),
        "question_option_pairs": pairs,
        "question_option_keys": [f"{q}/{o}" for q, o in pairs],
        "question_units": [[q.id, q.unit] for q in qn.questions],
    }


QUESTIONNAIRE_VALUES = (
    "version",
    "block_count",
    "screening_question",
    "answer_columns",
    "csp_answer_columns",
    "arrangement_answer_columns",
    "question_option_pairs",
    "question_option_keys",
    "question_units",
)
ITEM_VALUES = ("options_of_question", "labels_of_question", "label_of_option")


def _items(qn: Questionnaire, kind: str, unit: str | None) -> list[tuple[dict, dict]]:
    """(placeholders, item-level values) for each item of a for_each kind."""
    def labels(q) -> list[str]:
        return [normalise_label(o.label) for o in q.options]

    items: list[tuple[dict, dict]] = []
    if kind in ("single_choice_question", "multi_choice_question"):
        wanted = "single" if kind == "single_choice_question" else "multi"
        for q in qn.questions:
            if q.type != wanted or (unit and q.unit != unit):
                continue
            options = q.option_ids + ([d.id for d in q.derived_options] if wanted == "multi" else [])
            items.append(({"question_id": q.id, "unit": q.unit},
                          {"options_of_question": options, "labels_of_question": labels(q)}))
    elif kind in ("single_choice_column", "tick_column"):
        role = "single" if kind == "single_choice_column" else "tick"
        for c in qn.columns():
            if c.role != role or (unit and c.unit != unit):
                continue
            q = qn.question(c.item_id)
            placeholders = {"column": c.name, "question_id": q.id, "unit": q.unit, "block_no": c.block_no}
            values = {"options_of_question": q.option_ids, "labels_of_question": labels(q)}
            if role == "tick":
                placeholders["option_id"] = c.option_id
                values["label_of_option"] = normalise_label(c.label or "")
            items.append((placeholders, values))
    else:
        raise ValueError(
            f"unknown for_each {kind!r}: use single_choice_question, multi_choice_question, "
            "single_choice_column or tick_column"
        )
    return items


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class _Scope:
    def __init__(self, suite: str, year: int, facts: dict, placeholders=None, item_values=None):
        self.suite, self.year, self.facts = suite, year, facts
        self.version = questionnaire_for_year(year).version
        self.qn_values = _questionnaire_values(self.version)
        self.placeholders = placeholders or {}
        self.item_values = item_values or {}

    def fact(self, name: str):
        if name == "survey_year":
            return self.year
        if name not in self.facts:
            raise ValueError(f"suite {self.suite} needs the fact {name!r}; facts given: {sorted(self.facts) or 'none'}")
        return self.facts[name]

    def questionnaire(self, name: str, of: str | None = None):
        if of is None:
            if name in self.item_values:
                return copy.deepcopy(self.item_values[name])
            if name in self.qn_values:
                return copy.deepcopy(self.qn_values[name])
        elif of == "other_versions" and name in self.qn_values and isinstance(self.qn_values[name], list):
            # What other questionnaires have and this year's has not (a table holds every
            # year's rows, so it has every year's columns).
            own = {_key(v) for v in self.qn_values[name]}
            out: list = []
            for other in all_questionnaires():
                if other.version == self.version:
                    continue
                for v in _questionnaire_values(other.version)[name]:
                    if _key(v) not in own:
                        own.add(_key(v))
                        out.append(v)
            return out
        else:
            raise ValueError(f"suite {self.suite}: `of` must be other_versions, on a list value (got {of!r} for {name!r})")
        known = sorted({*self.qn_values, *self.item_values})
        raise ValueError(f"suite {self.suite}: unknown questionnaire value {name!r} here; known: {', '.join(known)}")

    def fill(self, text: str) -> str:
        # Only known placeholders are replaced, so regular expressions like \d{8} survive.
        return _PLACEHOLDER.sub(
            lambda m: str(self.placeholders[m.group(1)]) if m.group(1) in self.placeholders else m.group(0), text
        )


def _key(value) -> str:
    return repr(value)


def _is_reference(value) -> bool:
    if not isinstance(value, dict):
        return False
    return set(value) == {"fact"} or set(value) in ({"questionnaire"}, {"questionnaire", "of"})


def _resolve(value, scope: _Scope):
    if _is_reference(value):
        if "fact" in value:
            return scope.fact(str(value["fact"]))
        return scope.questionnaire(str(value["questionnaire"]), value.get("of"))
    if isinstance(value, dict):
        return {k: _resolve(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        out: list = []
        for v in value:
            resolved = _resolve(v, scope)
            if _is_reference(v) and isinstance(resolved, list):
                out.extend(resolved)
            else:
                out.append(resolved)
        return out
    if isinstance(value, str):
        return scope.fill(value)
    return value


_NULLITY = re.compile(r"^\s*(\w+)\s+(is\s+not\s+null|is\s+null)\s*$", re.IGNORECASE)
_COMPARISON = re.compile(r"^\s*(\w+)\s*(==|!=|<=|>=|<|>|not\s+in\b|in\b)\s*(.+?)\s*$", re.IGNORECASE)


def _parse_condition(text: str) -> tuple:
    if m := _NULLITY.match(text):
        return (m.group(1), "is not null" if "not" in m.group(2).lower() else "is null")
    if m := _COMPARISON.match(text):
        op = " ".join(m.group(2).lower().split())
        value = load_yaml(m.group(3))
        if op in ("in", "not in") and not isinstance(value, list):
            raise ValueError(f"condition {text!r}: `{op}` needs a list, e.g. [a, b]")
        return (m.group(1), op, value)
    raise ValueError(f"cannot read the condition {text!r}: write `column OP value` or `column is [not] null`")


_ENTRY_KEYS = {"type", "kwargs", "description", "severity", "where", "for_each", "unit", "optional_columns"}


def expand_suite(
    name: str, year: int, facts: dict | None = None, frame_columns: list[str] | None = None
) -> ExpandedSuite:
    """The suite for one survey year: for_each repeated, references resolved. No GX needed.

    `frame_columns` are the columns of the frame to validate: an expectation's
    `optional_columns` that the frame has, and the derived columns, join the `column_set` of
    expect_table_columns_to_match_set (a table holds every survey year's columns).
    """
    doc = _definition(name)
    qn = questionnaire_for_year(year)
    facts = {k: _plain(v) for k, v in (facts or {}).items()}
    present = set(frame_columns or ())
    top = _Scope(name, year, facts)
    derive = _resolve(doc.get("derive") or {}, top)
    for column, how in derive.items():
        if set(how) not in ({"join"}, {"join", "sep"}, {"count_not_null"}):
            raise ValueError(f"{name}.yaml derive {column}: use {{join: [columns], sep: ...}} or {{count_not_null: [columns]}}")
    specs: list[ExpectationSpec] = []
    for index, entry in enumerate(doc["expectations"]):
        label = f"{name}.yaml expectation {index + 1} ({entry.get('type')})"
        unknown = set(entry) - _ENTRY_KEYS
        if unknown or "type" not in entry:
            raise ValueError(f"{label}: needs `type`; unknown keys {sorted(unknown)}")
        severity = str(entry.get("severity", "critical")).lower()
        if severity not in SEVERITIES:
            raise ValueError(f"{label}: severity must be one of {', '.join(SEVERITIES)}")
        items = _items(qn, entry["for_each"], entry.get("unit")) if "for_each" in entry else [({}, {})]
        for placeholders, item_values in items:
            scope = _Scope(name, year, facts, placeholders, item_values)
            kwargs = _resolve(entry.get("kwargs") or {}, scope)
            if entry["type"] == "expect_table_columns_to_match_set":
                optional = _resolve(entry.get("optional_columns") or [], scope) + list(derive)
                kwargs["column_set"] = list(kwargs.get("column_set") or []) + [
                    c for c in optional if (c in present or c in derive) and c not in kwargs.get("column_set", [])
                ]
            elif "optional_columns" in entry:
                raise ValueError(f"{label}: optional_columns applies to expect_table_columns_to_match_set only")
            where = entry.get("where") or []
            where_texts = [scope.fill(w) for w in ([where] if isinstance(where, str) else where)]
            description = entry.get("description")
            specs.append(
                ExpectationSpec(
                    type=str(entry["type"]),
                    kwargs=kwargs,
                    severity=severity,
                    description=scope.fill(description) if description else None,
                    where=tuple(_parse_condition(w) for w in where_texts),
                    where_text=" and ".join(where_texts) or None,
                )
            )
    return ExpandedSuite(
        name=name,
        table=doc["table"],
        year=int(year),
        description=doc.get("description", ""),
        derive=derive,
        expectations=tuple(specs),
        facts=facts,
    )


# -- results -----------------------------------------------------------------------------
@dataclass
class SuiteResult:
    suite: str
    table: str
    survey_year: int
    success: bool  # no critical expectation failed
    statistics: dict
    results: list[dict]
    docs_url: str | None = None  # this run's Data Docs page
    docs_index: str | None = None  # the site's index.html
    docs_error: str | None = None

    @property
    def failures(self) -> list[dict]:
        """Failed expectations, critical first."""
        failed = [r for r in self.results if not r["success"]]
        return sorted(failed, key=lambda r: SEVERITIES.index(r["severity"]))

    def failed(self, expectation_type: str, column: str | None = None) -> list[dict]:
        return [
            r for r in self.results
            if not r["success"] and r["expectation"] == expectation_type and (column is None or column in r["columns"])
        ]

    def summary(self) -> str:
        s = self.statistics
        head = (
            f"{self.table} {self.survey_year}: {s['successful_expectations']}/{s['evaluated_expectations']} "
            f"expectations met" + ("" if self.success else f", {s['failed_critical']} critical failing")
        )
        lines = [head]
        for r in self.failures:
            lines.append(f"  [{r['severity']}] {describe(r)}")
        return "\n".join(lines)


def describe(result: dict) -> str:
    """One line for a failed (or passed) expectation: what, where, and what was seen."""
    parts = [result["expectation"]]
    if result["columns"]:
        parts.append("(" + ", ".join(result["columns"]) + ")")
    if result["kwargs"]:
        parts.append(result["kwargs"])
    if result.get("where"):
        parts.append(f"where {result['where']}")
    seen = []
    if result.get("exception"):
        seen.append(f"error: {result['exception']}")
    if result.get("observed_value") is not None and not (result.get("unexpected_count") or result.get("missing")):
        seen.append(f"observed {result['observed_value']!r}")
    if result.get("missing"):
        seen.append(f"{result['missing_count']} missing, e.g. {result['missing']!r}")
    if result.get("unexpected_count"):
        seen.append(f"{result['unexpected_count']} unexpected, e.g. {result['unexpected_examples']!r}")
    return " ".join(parts) + (": " + "; ".join(seen) if seen else "")


def _plain(value):
    """A JSON-friendly copy of a value from GX or pandas."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):  # numpy's float64 too
        return None if math.isnan(value) else float(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=str)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if hasattr(value, "isoformat") and callable(value.isoformat):  # pandas Timestamp
        try:
            return value.isoformat()
        except ValueError:  # NaT
            return None
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


_COLUMN_KWARGS = ("column", "column_A", "column_B", "column_list")
_HIDDEN_KWARGS = {*_COLUMN_KWARGS, "row_condition", "condition_parser", "result_format", "catch_exceptions", "batch_id"}


def _short(value, limit: int = 4) -> str:
    if isinstance(value, list) and len(value) > limit:
        return "[" + ", ".join(repr(v) for v in value[:limit]) + f", ... ({len(value)} values)]"
    return repr(value)


def _summarise_kwargs(kwargs: dict) -> str:
    return ", ".join(f"{k}={_short(_plain(v))}" for k, v in kwargs.items() if k not in _HIDDEN_KWARGS and v is not None)


def _columns(kwargs: dict) -> list[str]:
    if "column_list" in kwargs:
        return list(kwargs["column_list"])
    return [kwargs[k] for k in ("column", "column_A", "column_B") if kwargs.get(k) is not None]


def _result_dict(spec: ExpectationSpec, gx_result) -> dict:
    raw = gx_result.result or {}
    kwargs = spec.kwargs
    out: dict[str, Any] = {
        "expectation": spec.type,
        "columns": _columns(kwargs),
        "kwargs": _summarise_kwargs(kwargs),
        "where": spec.where_text,
        "severity": spec.severity,
        "description": spec.description,
        "success": bool(gx_result.success),
        "observed_value": None,
        "element_count": raw.get("element_count"),
        "unexpected_count": raw.get("unexpected_count"),
        "unexpected_percent": _plain(raw.get("unexpected_percent")),
        "unexpected_examples": _plain((raw.get("partial_unexpected_list") or [])[:MAX_EXAMPLES]),
        "missing_count": None,
        "missing": None,  # up to 10 examples
        "exception": None,
    }
    observed = _plain(raw.get("observed_value"))
    if raw.get("missing_count"):  # set-containment expectations name what is absent
        out["missing_count"] = raw["missing_count"]
        out["missing"] = _plain(raw.get("partial_missing_list") or [])
    mismatched = (raw.get("details") or {}).get("mismatched")
    if isinstance(mismatched, dict):  # a column set: the columns too many and too few
        unexpected, absent = mismatched.get("unexpected") or [], mismatched.get("missing") or []
        if unexpected:
            out["unexpected_count"] = len(unexpected)
            out["unexpected_examples"] = _plain(unexpected[:MAX_EXAMPLES])
        if absent:
            out["missing_count"] = len(absent)
            out["missing"] = _plain(absent[:10])
    if isinstance(observed, list) and len(observed) > 20:
        observed = observed[:20] + [f"... ({len(observed)} values)"]
    out["observed_value"] = observed
    info = gx_result.exception_info or {}
    # A result's exception_info is either one dict or a dict of them, keyed by metric.
    infos = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    messages = list(dict.fromkeys(str(i.get("exception_message")) for i in infos if i.get("raised_exception")))
    if messages:
        out["exception"] = "; ".join(messages)
        out["success"] = False
    return out


# -- Great Expectations ------------------------------------------------------------------
_LOCK = threading.RLock()
_CONTEXTS: dict[str | None, Any] = {}


def _context(docs_dir: Path | None):
    """One ephemeral GX context per Data Docs directory (None: no docs), kept for the process."""
    key = str(docs_dir) if docs_dir else None
    if key in _CONTEXTS:
        return _CONTEXTS[key]
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    defaults = InMemoryStoreBackendDefaults()
    sites: dict = {}
    if docs_dir is not None:
        for store_name, sub in (
            (defaults.expectations_store_name, "expectations"),
            (defaults.validation_results_store_name, "validations"),
        ):
            defaults.stores[store_name]["store_backend"] = {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir / DOCS_STORE_DIR / sub),
            }
        # GX compiles its page templates afresh for every build; these views share compiled
        # templates across builds (see __getattr__ below).
        page_view = {"module_name": __name__, "class_name": "CachedJinjaPageView"}
        sites[DOCS_SITE_NAME] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {
                "class_name": "DefaultSiteIndexBuilder",
                "view": {"module_name": __name__, "class_name": "CachedJinjaIndexPageView"},
            },
            "site_section_builders": {
                "expectations": {"view": page_view},
                "validations": {"view": page_view},
                "profiling": "None",
            },
        }
    config = DataContextConfig(
        store_backend_defaults=defaults,
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    context.data_sources.add_pandas("iom_warehouse")
    _CONTEXTS[key] = context
    return context


def _batch_definition(context, table: str):
    source = context.data_sources.get("iom_warehouse")
    try:
        asset = source.get_asset(table)
    except LookupError:
        asset = source.add_dataframe_asset(table)
    try:
        return asset.get_batch_definition("survey_year")
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_dataframe("survey_year")


def _row_condition(where: tuple[tuple, ...]):
    if not where:
        return None
    conditions = []
    for cond in where:
        column = {"name": cond[0]}
        if cond[1] in ("is null", "is not null"):
            conditions.append({"type": "nullity", "column": column, "is_null": cond[1] == "is null"})
        else:
            op = {"in": "IN", "not in": "NOT_IN"}.get(cond[1], cond[1])
            conditions.append({"type": "comparison", "column": column, "operator": op, "parameter": cond[2]})
    return conditions[0] if len(conditions) == 1 else {"type": "and", "conditions": conditions}


def _gx_suite(expanded: ExpandedSuite, suite_name: str):
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    expectations = []
    for i, spec in enumerate(expanded.expectations):
        kwargs = dict(spec.kwargs)
        if condition := _row_condition(spec.where):
            kwargs["row_condition"] = condition
        config = ExpectationConfiguration(
            type=spec.type,
            kwargs=kwargs,
            # As notes, not `description`, which the Data Docs would show instead of the
            # expectation's own wording (its column, bounds and condition).
            notes=spec.description,
            severity=spec.severity,
            meta={"index": i, **({"where": spec.where_text} if spec.where_text else {})},
        )
        try:
            expectations.append(config.to_domain_obj())
        except Exception as exc:  # an unknown type or a bad kwarg in the YAML
            raise ValueError(f"suite {expanded.name}: cannot build {spec.type} {spec.kwargs}: {exc}") from exc
    return gx.ExpectationSuite(
        name=suite_name,
        expectations=expectations,
        meta={
            "table": expanded.table,
            "survey_year": expanded.year,
            "questionnaire": questionnaire_for_year(expanded.year).version,
            "facts": expanded.facts,
            "description": expanded.description,
        },
    )


def _derived_frame(df: "pd.DataFrame", derive: dict) -> "pd.DataFrame":
    """A copy of the frame with the suite's derived columns (the caller's frame is untouched)."""
    if not derive:
        return df
    extra = {}
    for column, how in derive.items():
        if "count_not_null" in how:
            columns = [c for c in how["count_not_null"] if c in df.columns]
            extra[column] = df[columns].notna().sum(axis=1).astype("int64") if columns else 0
            continue
        parts = [df[c].astype("string") for c in how["join"]]
        joined = parts[0]
        for p in parts[1:]:
            joined = joined + str(how.get("sep", "/")) + p
        extra[column] = joined.astype(object).where(joined.notna(), None)
    return df.assign(**extra)


@contextmanager
def _docs_lock(docs_dir: Path) -> Iterator[None]:
    """Separate processes (Dagster steps) share the site: one writes at a time."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    with (docs_dir / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _remove_empty_dirs(root: Path) -> None:
    """GX removes the files of a dropped run but leaves its directories."""
    if not root.is_dir():
        return
    for path in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        try:
            path.rmdir()  # only succeeds when empty
        except OSError:
            pass


def _prune(context, suite_name: str, keep: int) -> None:
    """Drop the oldest stored runs of a suite; the next index build removes their pages."""
    store = context.validation_results_store
    keys = [k for k in store.list_keys() if k.expectation_suite_identifier.name == suite_name]
    keys.sort(key=lambda k: str(k.run_id.run_time))
    for key in keys[: max(0, len(keys) - keep)]:
        store.remove_key(key)


def gx_suite_name(suite: str, year: int) -> str:
    """The suite's name in Great Expectations and its Data Docs: one per survey year."""
    return f"{suite}_{int(year)}"


def run_suite(
    table: str,
    df: "pd.DataFrame",
    year: int,
    facts: dict | None = None,
    docs_dir: Path | None = None,
    run_name: str | None = None,
    build_site: bool = True,
) -> SuiteResult:
    """Validate one survey year's rows of `table` (a suite name, e.g. `csp_return`) with GX.

    `facts` are the counts the suite compares the frame with (`required_facts(table)`; the
    same dict, from `warehouse_facts`, serves every suite). With `docs_dir`, the run is added
    to the Data Docs site there. `run_name` labels the run in the Data Docs. With
    `build_site=False` the run is stored but its pages are left to one `build_docs` call for
    several suites (one site build instead of one per suite: a second saved per run).
    """
    name = table.split(".")[-1]
    expanded = expand_suite(name, year, facts, list(df.columns))
    missing = [f for f in required_facts(name) if f not in expanded.facts]
    if missing:
        raise ValueError(f"suite {name} needs the facts {missing}; pass them in `facts`")
    frame = _derived_frame(df, expanded.derive)
    docs_dir = Path(docs_dir).resolve() if docs_dir is not None else None
    suite_name = gx_suite_name(name, year)

    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    with _LOCK, (_docs_lock(docs_dir) if docs_dir else nullcontext()):
        context = _context(docs_dir)
        # Replace rather than `add_or_update`, which compares every expectation with every
        # stored one (quadratic, and slow on a suite of a hundred expectations).
        for factory in (context.validation_definitions, context.suites):
            try:
                factory.delete(suite_name)
            except Exception:  # not there yet
                pass
        suite = context.suites.add(_gx_suite(expanded, suite_name))
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name, data=_batch_definition(context, name), suite=suite)
        )
        run_id = RunIdentifier(
            run_name=run_name or f"survey_year_{int(year)}", run_time=dt.datetime.now(dt.timezone.utc)
        )
        if docs_dir:
            _prune(context, suite_name, KEEP_RUNS - 1)
        gx_result = validation.run(batch_parameters={"dataframe": frame}, result_format=RESULT_FORMAT, run_id=run_id)
        if not docs_dir:
            # Nothing reads an in-memory result again: keep a long-lived process from growing.
            for key in context.validation_results_store.list_keys():
                context.validation_results_store.remove_key(key)

        by_index = {}
        for r in gx_result.results:
            by_index[(r.expectation_config.meta or {}).get("index")] = r
        results = [_result_dict(spec, by_index[i]) for i, spec in enumerate(expanded.expectations)]

    failed = [r for r in results if not r["success"]]
    evaluated = len(results)
    statistics = {
        "evaluated_expectations": evaluated,
        "successful_expectations": evaluated - len(failed),
        "unsuccessful_expectations": len(failed),
        "success_percent": 100.0 * (evaluated - len(failed)) / evaluated if evaluated else 100.0,
        "failed_critical": sum(r["severity"] == "critical" for r in failed),
        "failed_warning": sum(r["severity"] != "critical" for r in failed),
    }
    result = SuiteResult(
        suite=name,
        table=expanded.table,
        survey_year=int(year),
        success=statistics["failed_critical"] == 0,
        statistics=statistics,
        results=results,
        # The site's index, where this run's pages are (or will be, once build_docs has run).
        docs_index=docs_index_url(docs_dir) if docs_dir else None,
    )
    if docs_dir and build_site:
        attach_docs(result, build_docs(docs_dir, run_id.run_name, [suite_name]))
    return result


def build_docs(docs_dir: Path, run_name: str, suites: list[str]) -> dict:
    """Add the stored runs named `run_name` of these suites to the Data Docs site, in one build.

    Returns {"index": the site's index.html, "urls": {suite: its run's page}, "error": None},
    or with "error" set: the docs are a view, and failing to write them never loses a validation.
    """
    docs_dir = Path(docs_dir).resolve()
    with _LOCK, _docs_lock(docs_dir):
        context = _context(docs_dir)
        try:
            identifiers = {
                key.expectation_suite_identifier.name: key
                for key in context.validation_results_store.list_keys()
                if key.run_id.run_name == run_name and key.expectation_suite_identifier.name in suites
            }
            resources = [r for key in identifiers.values() for r in (key, key.expectation_suite_identifier)]
            built = context.build_data_docs(site_names=[DOCS_SITE_NAME], resource_identifiers=resources)
            urls = {}
            for suite, key in identifiers.items():
                found = context.get_docs_sites_urls(resource_identifier=key, site_names=[DOCS_SITE_NAME])
                urls[suite] = found[0]["site_url"] if found else None
            for section in (docs_dir / "validations", docs_dir / DOCS_STORE_DIR / "validations"):
                _remove_empty_dirs(section)
            return {"index": built.get(DOCS_SITE_NAME), "urls": urls, "error": None}
        except Exception as exc:  # the docs are a view: never lose the validation for them
            log.warning("Data Docs in %s were not written: %s", docs_dir, exc)
            return {"index": None, "urls": {}, "error": f"{type(exc).__name__}: {exc}"}


def docs_index_url(docs_dir: Path) -> str:
    """The Data Docs site's index page, named as GX's build names it (a file:// URL)."""
    return "file://" + str(Path(docs_dir).resolve() / "index.html")


def attach_docs(result: SuiteResult, docs: dict) -> SuiteResult:
    """Record build_docs' outcome on a suite's result."""
    suite_name = gx_suite_name(result.suite, result.survey_year)
    result.docs_index = docs["index"]
    result.docs_url = docs["urls"].get(suite_name)
    result.docs_error = docs["error"]
    return result


# -- Data Docs views ---------------------------------------------------------------------
_VIEWS = {"CachedJinjaPageView": "DefaultJinjaPageView", "CachedJinjaIndexPageView": "DefaultJinjaIndexPageView"}
_BYTECODE: list = []


def _bytecode_cache():
    """One in-memory jinja2 bytecode cache for the process."""
    if not _BYTECODE:
        import jinja2

        class MemoryBytecodeCache(jinja2.BytecodeCache):
            def __init__(self) -> None:
                self._code: dict[str, bytes] = {}

            def load_bytecode(self, bucket) -> None:
                if (code := self._code.get(bucket.key)) is not None:
                    bucket.bytecode_from_string(code)

            def dump_bytecode(self, bucket) -> None:
                self._code[bucket.key] = bucket.bytecode_to_string()

        _BYTECODE.append(MemoryBytecodeCache())
    return _BYTECODE[0]


def __getattr__(name: str):
    """GX's page views, with compiled templates shared across builds; made on first use so
    that importing this module does not import Great Expectations."""
    if name not in _VIEWS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from great_expectations.render import view as gx_view

    base = getattr(gx_view, _VIEWS[name])

    def __init__(self, *args, **kwargs):
        base.__init__(self, *args, **kwargs)
        self.env.bytecode_cache = _bytecode_cache()

    cls = type(name, (base,), {"__init__": __init__, "__module__": __name__})
    globals()[name] = cls
    return cls


# -- reading the warehouse ---------------------------------------------------------------
_COLUMN_KWARGS = ("column", "column_A", "column_B")


def referenced_columns(suite: ExpandedSuite) -> set[str] | None:
    """The columns a suite's expectations read; None when one of them reads every column."""
    columns: set[str] = set()
    for spec in suite.expectations:
        if spec.type in ("expect_table_columns_to_match_set", "expect_table_column_count_to_equal",
                         "expect_table_row_count_to_equal", "expect_table_row_count_to_be_between"):
            continue  # the column names or the row count only: placeholders serve
        if not any(k in spec.kwargs for k in (*_COLUMN_KWARGS, "column_list")):
            return None  # an expectation whose columns we cannot see: read them all
        columns.update(spec.kwargs[k] for k in _COLUMN_KWARGS if k in spec.kwargs)
        columns.update(spec.kwargs.get("column_list") or [])
        columns.update(w[0] for w in spec.where)
    for column, how in suite.derive.items():
        columns.discard(column)
        columns.update(how.get("count_not_null") or how.get("join") or [])
    return columns


def read_table(con: "duckdb.DuckDBPyConnection", table: str, year: int) -> "pd.DataFrame":
    """One survey year's rows of a suite's table, as the suite expects them.

    Only the columns the suite's expectations read are fetched; every other column is there by
    name, as an empty categorical (one byte a row), so a million-row staging table is validated
    without a frame of the whole export.
    """
    import numpy as np
    import pandas as pd

    name = table.split(".")[-1]
    qualified = suite_table(name)
    all_columns = [r[0] for r in con.execute(f"describe {qualified}").fetchall()]
    # Facts only fill in expected values; any will do to learn which columns are read.
    needed = referenced_columns(expand_suite(name, year, dict.fromkeys(FACTS, 0), all_columns))
    if needed is None or set(all_columns) <= needed:
        return con.execute(f"select * from {qualified} where survey_year = ?", [int(year)]).df()
    selected = [c for c in all_columns if c in needed] or ["survey_year"]
    quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in selected)
    df = con.execute(f"select {quoted} from {qualified} where survey_year = ?", [int(year)]).df()
    empty = pd.Categorical.from_codes(np.full(len(df), -1, dtype=np.int8), categories=pd.Index([], dtype=object))
    placeholders = pd.DataFrame({c: empty for c in all_columns if c not in df.columns}, index=df.index)
    return pd.concat([df, placeholders], axis=1)[all_columns]


def warehouse_facts(con: "duckdb.DuckDBPyConnection", year: int) -> dict[str, int]:
    """The facts every suite may need (FACTS), counted from the raw layer and the outcomes."""
    year = int(year)
    facts = {}
    for fact, sql, params in (
        ("export_rows", f"select count(*) from raw.survey_export_{year}", []),
        ("frame_size", f"select count(*) from raw.frame_{year}", []),
        ("counted_rows", "select count(*) from marts.submission_outcome where survey_year = ? and outcome = 'counted'", [year]),
    ):
        try:
            facts[fact] = int(con.execute(sql, params).fetchone()[0])
        except Exception as exc:  # a table not built yet: the suites that need it say so
            log.debug("fact %s not available: %s", fact, exc)
    return facts
