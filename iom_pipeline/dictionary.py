"""The data dictionary: one source (`assets/data_dictionary.yaml`) for every mart's descriptions.

It feeds `docs/data-dictionary.md` (`python -m iom_pipeline.dictionary` regenerates it), the
comments inside the BI snapshot, the descriptions stored in the Parquet files, and the column
schema the Dagster UI shows. Columns generated from the questionnaire (`csp_return`'s
`<question_id>`, `<question_id>_<option_id>`, ...) are described by pattern in the YAML and
expanded with the question texts the warehouse holds in `config.question` / `config.option`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb

from iom_pipeline.paths import ASSETS_DIR, PROJECT_ROOT, load_yaml

DICTIONARY_YAML = ASSETS_DIR / "data_dictionary.yaml"
DICTIONARY_MARKDOWN = PROJECT_ROOT / "docs" / "data-dictionary.md"

_PLACEHOLDER = re.compile(r"<(question_id|option_id|free_text_id)>")


@dataclass(frozen=True)
class ColumnDoc:
    """What the dictionary says of one column: its documented type, description and contract flag."""

    name: str
    type: str
    description: str  # Markdown, as written in the YAML (with the questionnaire's texts filled in)
    contract: bool = False


# -- the YAML -------------------------------------------------------------------------------
@cache
def load_dictionary() -> dict:
    return load_yaml(DICTIONARY_YAML)


def _key(table: str) -> str:
    """`question_summary`, `marts.question_summary` or `<catalog>.marts.question_summary` -> `marts.question_summary`."""
    parts = table.split(".")
    return "marts." + parts[0] if len(parts) == 1 else ".".join(parts[-2:])


def _spec(table: str) -> dict:
    tables = load_dictionary()["tables"]
    try:
        return tables[_key(table)]
    except KeyError:
        raise KeyError(f"{_key(table)} is not described in {DICTIONARY_YAML.name}") from None


def described_tables(snapshot_only: bool = False) -> list[str]:
    """Every table the dictionary describes (`schema.name`), in its order."""
    return [name for name, spec in load_dictionary()["tables"].items() if not snapshot_only or spec.get("in_snapshot", True)]


def plain(text: str) -> str:
    """Markdown of the YAML as plain text, for comments and metadata that are not rendered."""
    return re.sub(r"\s+", " ", text.replace("**", "").replace("`", "")).strip()


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")


def table_description(table: str) -> str:
    """The table's description as plain text: its grain, what it holds, and what (contract) means."""
    spec = _spec(table)
    text = f"{_sentence(spec['grain'])} {plain(spec['description'])}"
    if any(c.get("contract") for c in spec.get("columns", ())):
        text += " " + plain(load_dictionary()["contract_note"])
    return text


def _column_text(doc: ColumnDoc) -> str:
    return plain(doc.description) + (" (contract)" if doc.contract else "")


def fixed_columns(table: str) -> list[ColumnDoc]:
    return [
        ColumnDoc(c["name"], c["type"], c["description"], bool(c.get("contract", False)))
        for c in _spec(table).get("columns", ())
    ]


# -- the questionnaire's items --------------------------------------------------------------
@dataclass(frozen=True)
class _Items:
    """One survey year's questions, options and free-text items, as `config.*` holds them."""

    questions: tuple[tuple, ...]  # (question_id, question_type, unit, question_text)
    options: tuple[tuple, ...]  # (question_id, option_id, option_label, is_derived)
    free_text: tuple[tuple, ...]  # (item_id, unit)


def _warehouse_items(con: duckdb.DuckDBPyConnection) -> dict[int, _Items]:
    """Per survey year, from the warehouse's `config` tables (none when it has none)."""
    found = {
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = current_database() "
            "and table_schema = 'config' and table_name in ('question', 'option', 'column_map')"
        ).fetchall()
    }
    if "question" not in found or "option" not in found:
        return {}
    questions = con.execute(
        "select survey_year, question_id, question_type, unit, question_text from config.question "
        "order by survey_year, question_order"
    ).fetchall()
    options = con.execute(
        "select survey_year, question_id, option_id, option_label, is_derived from config.option "
        "order by survey_year, question_id, option_order"
    ).fetchall()
    free_text = (
        con.execute(
            "select survey_year, item_id, any_value(unit) from config.column_map where role = 'text' "
            "group by survey_year, item_id order by survey_year, min(column_name)"
        ).fetchall()
        if "column_map" in found
        else []
    )
    years = sorted({r[0] for r in questions})
    return {
        y: _Items(
            tuple(r[1:] for r in questions if r[0] == y),
            tuple(r[1:] for r in options if r[0] == y),
            tuple(r[1:] for r in free_text if r[0] == y),
        )
        for y in years
    }


@cache
def _questionnaire_items() -> dict[str, tuple[int, _Items]]:
    """Per questionnaire version: its first survey year and its items, read from its YAML."""
    from iom_pipeline.questionnaire import all_questionnaires

    result = {}
    for qn in all_questionnaires():
        options = []
        for q in qn.questions:
            options += [(q.id, o.id, o.label, False) for o in q.options]
            options += [(q.id, d.id, d.label, True) for d in q.derived_options]
        result[qn.version] = (
            qn.first_survey_year,
            _Items(
                tuple((q.id, q.type, q.unit, q.text) for q in qn.questions),
                tuple(options),
                tuple((t.id, t.unit) for t in qn.free_text),
            ),
        )
    return result


def _render(pattern: str, **values: str) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), pattern)


def generated_columns(table: str, items: _Items) -> dict[str, ColumnDoc]:
    """The columns the questionnaire's items generate in `table`, in the order the mart has them
    (questions in order, then free text), each with its rule's description filled in."""
    generated = _spec(table).get("generated")
    if not generated:
        return {}
    unit, rules = generated["unit"], generated["rules"]
    texts = {q[0]: q[3] for q in items.questions}
    result: dict[str, ColumnDoc] = {}

    def add(name: str, rule: dict, template: str, values: dict) -> None:
        if name not in result:
            result[name] = ColumnDoc(name, rule["type"], template.format_map(values), bool(rule.get("contract", False)))

    def fits(rule: dict, kind: str, question_id: str | None) -> bool:
        return rule["kind"] == kind and rule.get("question", question_id) == question_id

    for question_id, question_type, question_unit, question_text in items.questions:
        if question_unit != unit:
            continue
        options = [o for o in items.options if o[0] == question_id]
        if question_type == "single":
            values = {
                "question_id": question_id,
                "question_text": question_text,
                "options": ", ".join(f"`{o[1]}` = {o[2]}" for o in options if not o[3]),
            }
            rule = next((r for r in rules if fits(r, "single", question_id)), None)
            if rule:
                add(_render(rule["pattern"], question_id=question_id), rule, rule["description"], values)
            continue
        for _q, option_id, option_label, is_derived in options:
            values = {"question_id": question_id, "question_text": question_text, "option_id": option_id, "option_label": option_label}
            for rule in rules:
                if fits(rule, "multi", question_id):
                    template = rule.get("derived_description", rule["description"]) if is_derived else rule["description"]
                    add(_render(rule["pattern"], question_id=question_id, option_id=option_id), rule, template, values)
                    break
    for free_text_id, text_unit in items.free_text:
        if text_unit != unit:
            continue
        for rule in rules:
            if rule["kind"] != "free_text":
                continue
            if "<question_id>" in rule["pattern"]:
                # e.g. `<question_id>_other_text`: the free text belongs to that question
                question = next((q for q in items.questions if _render(rule["pattern"], question_id=q[0]) == free_text_id), None)
                if question is None:
                    continue
                values = {"free_text_id": free_text_id, "question_id": question[0], "question_text": question[3]}
            else:
                values = {"free_text_id": free_text_id}
            if _render(rule["pattern"], **values) == free_text_id:
                add(free_text_id, rule, rule["description"], values)
                break
    return result


# -- what a real table has ------------------------------------------------------------------
def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    quoted = ".".join('"' + part.replace('"', '""') + '"' for part in table.split("."))
    return [(r[0], r[1]) for r in con.execute(f"describe {quoted}").fetchall()]


def documented_columns(con: duckdb.DuckDBPyConnection, table: str, year: int) -> dict[str, ColumnDoc | None]:
    """Every column `table` really has (in `con`; `schema.name` or `catalog.schema.name`), with what
    the dictionary says of it, or None when it says nothing.

    Generated columns are expanded with the questionnaire of `year` first (as `config.*` in `con`
    holds it), then of the other years there (a column of another year's questions keeps its
    text), then of the questionnaire YAMLs (a year the warehouse no longer holds).
    """
    fixed = {c.name: c for c in fixed_columns(table)}
    generated: dict[str, ColumnDoc] = {}
    if _spec(table).get("generated"):
        per_year = _warehouse_items(con)
        sources = [per_year[y] for y in sorted(per_year, key=lambda y: (y != int(year), -y))]
        sources += [items for _version, (_first, items) in sorted(_questionnaire_items().items(), key=lambda kv: -kv[1][0])]
        for items in sources:
            for name, doc in generated_columns(table, items).items():
                generated.setdefault(name, doc)
    return {name: fixed.get(name) or generated.get(name) for name, _type in _table_columns(con, table)}


def column_descriptions(con: duckdb.DuckDBPyConnection, table: str, year: int) -> dict[str, str]:
    """Plain-text description of every column `table` really has; "" for one the dictionary lacks.

    Contract columns end in "(contract)". For the Dagster UI:
    `dg.TableColumn(name, type, description=column_descriptions(con, table, year)[name])`.
    """
    return {name: _column_text(doc) if doc else "" for name, doc in documented_columns(con, table, year).items()}


# -- the markdown ---------------------------------------------------------------------------
def _cell(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().replace("|", "\\|")


def _row(column: str, type_: str, description: str, contract: bool) -> str:
    meaning = ("**contract**; " if contract else "") + description
    return f"| {column} | {type_} | {_cell(meaning)} |"


def data_dictionary_markdown() -> str:
    doc = load_dictionary()
    lines = [
        f"# {doc['title']}",
        "",
        "<!-- Generated from assets/data_dictionary.yaml by `python -m iom_pipeline.dictionary`: "
        "edit the YAML, then regenerate this file. -->",
        "",
        doc["intro"].strip(),
    ]
    header = ["| column | type | meaning |", "|---|---|---|"]
    for table, spec in doc["tables"].items():
        lines += ["", f"## `{table}` — {spec['grain']}", "", spec["description"].strip(), ""]
        lines += header
        lines += [_row(c.name, c.type, c.description, c.contract) for c in fixed_columns(table)]
        generated = spec.get("generated")
        if generated:
            lines += [
                _row(f"`{r['pattern']}`", r["type"], r["summary"], bool(r.get("contract"))) for r in generated["rules"]
            ]
        if spec.get("notes"):
            lines += ["", spec["notes"].strip()]
        if generated:
            lines += [
                "",
                f"### `{table}`: the generated columns of each questionnaire",
                "",
                "From the question texts of `assets/questionnaires/`; the comments inside the BI snapshot "
                "carry the same descriptions.",
            ]
            fixed = {c.name for c in fixed_columns(table)}
            for version, (first_year, items) in _questionnaire_items().items():
                columns = [c for c in generated_columns(table, items).values() if c.name not in fixed]
                lines += ["", f"#### `{version}` (survey years from {first_year})", ""]
                if not columns:
                    lines.append("No generated columns.")
                    continue
                lines += header
                lines += [_row(c.name, c.type, c.description, c.contract) for c in columns]
    return "\n".join(lines) + "\n"


def write_data_dictionary_markdown(path: Path | str = DICTIONARY_MARKDOWN) -> Path:
    path = Path(path)
    path.write_text(data_dictionary_markdown(), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = write_data_dictionary_markdown(args[0] if args else DICTIONARY_MARKDOWN)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
