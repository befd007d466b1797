"""The data dictionary: one source (`assets/data_dictionary.yaml`) for every warehouse table's descriptions.

It feeds `docs/data-dictionary.md` (`python -m iom_pipeline.dictionary` regenerates it), the
comments inside the BI snapshot, the descriptions stored in the Parquet files, and the column
schema the Dagster UI shows for every table asset. The YAML describes the tables layer by layer
(marts, raw, config, staging, intermediate, audit); a table written once per survey year is
named with `<year>` in place of the year (`raw.survey_export_<year>`), and `dictionary_key`
resolves a real table's name to its entry. Columns generated from the questionnaire (the marts'
`<question_id>`, `<question_id>_<option_id>`, ...; the export's own answer columns in raw and
staging) are described by pattern in the YAML and expanded with the question texts the
warehouse holds in `config.*`, or else those of the questionnaire YAMLs.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb

from iom_pipeline.paths import ASSETS_DIR, PROJECT_ROOT, load_yaml
from iom_pipeline.warehouse import column_types

DICTIONARY_YAML = ASSETS_DIR / "data_dictionary.yaml"
DICTIONARY_MARKDOWN = PROJECT_ROOT / "docs" / "data-dictionary.md"

_PLACEHOLDER = re.compile(r"<(question_id|option_id|free_text_id)>")
YEAR_PLACEHOLDER = "<year>"  # in the name of a table written once per survey year


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


@cache
def _tables() -> dict[str, dict]:
    """Every table entry (`schema.table`, or `schema.table_<year>`), in the YAML's order, with its
    layer and whether it is in the BI snapshot (the layer's `in_snapshot`, unless it says)."""
    tables: dict[str, dict] = {}
    for layer, spec in load_dictionary()["layers"].items():
        for key, table in spec["tables"].items():
            if key.split(".")[0] != layer:
                raise ValueError(f"{DICTIONARY_YAML.name}: {key} is listed under layer {layer}")
            tables[key] = {"in_snapshot": bool(spec.get("in_snapshot", False)), **table, "layer": layer}
    return tables


@cache
def _per_year_keys() -> tuple[tuple[re.Pattern, str], ...]:
    """The entries named with `<year>`, each with the pattern of the real tables' names."""
    return tuple(
        (re.compile(re.escape(key).replace(re.escape(YEAR_PLACEHOLDER), r"(\d{4})")), key)
        for key in _tables()
        if YEAR_PLACEHOLDER in key
    )


def _qualified(table: str) -> str:
    """`question_summary`, `marts.question_summary` or `<catalog>.marts.question_summary` -> `marts.question_summary`."""
    parts = table.split(".")
    return "marts." + parts[0] if len(parts) == 1 else ".".join(parts[-2:])


def _resolve(table: str) -> tuple[str, int | None]:
    """The dictionary's entry for a real table, and the survey year its name carries (if any)."""
    name = _qualified(table)
    if name in _tables():
        return name, None
    for pattern, key in _per_year_keys():
        match = pattern.fullmatch(name)
        if match:
            return key, int(match.group(1))
    raise KeyError(f"{name} is not described in {DICTIONARY_YAML.name}")


def dictionary_key(table: str) -> str:
    """The entry describing `table`: `raw.survey_export_2013` -> `raw.survey_export_<year>`,
    `marts.csp_return` (or `csp_return`) -> `marts.csp_return`. KeyError for an undescribed table."""
    return _resolve(table)[0]


def _spec(table: str) -> dict:
    return _tables()[dictionary_key(table)]


def described_tables(snapshot_only: bool = False) -> list[str]:
    """Every table the dictionary describes (`schema.name`, per-year ones with `<year>`), in its order."""
    return [name for name, spec in _tables().items() if not snapshot_only or spec["in_snapshot"]]


def in_snapshot(table: str) -> bool:
    """Whether the BI snapshot carries `table` (the marts do; no other layer does)."""
    return bool(_spec(table)["in_snapshot"])


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
    """One survey year's questions, options, free-text items and export columns, as `config.*`
    holds them."""

    questions: tuple[tuple, ...]  # (question_id, question_type, unit, question_text)
    options: tuple[tuple, ...]  # (question_id, option_id, option_label, is_derived)
    free_text: tuple[tuple, ...]  # (item_id, unit)
    columns: tuple[tuple, ...] = ()  # the export's answer columns: (column_name, item_id, block_no, role, option_id)
    personal: tuple[str, ...] = ()  # the export's personal-data columns


def _personal_columns(version: str) -> tuple[str, ...]:
    from iom_pipeline.questionnaire import load_questionnaire

    try:
        return load_questionnaire(version).personal_data_columns
    except (OSError, KeyError, ValueError):  # a version whose YAML is gone: its columns stay undescribed
        return ()


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
        "select survey_year, question_id, question_type, unit, question_text, questionnaire_version from config.question "
        "order by survey_year, question_order"
    ).fetchall()
    options = con.execute(
        "select survey_year, question_id, option_id, option_label, is_derived from config.option "
        "order by survey_year, question_id, option_order"
    ).fetchall()
    free_text, columns = [], []
    if "column_map" in found:
        free_text = con.execute(
            "select survey_year, item_id, any_value(unit) from config.column_map where role = 'text' "
            "group by survey_year, item_id order by survey_year, min(column_name)"
        ).fetchall()
        columns = con.execute(
            "select survey_year, column_name, item_id, block_no, role, option_id from config.column_map "
            "order by survey_year, block_no, column_name"
        ).fetchall()
    versions = {r[0]: r[5] for r in questions}
    return {
        y: _Items(
            tuple(r[1:5] for r in questions if r[0] == y),
            tuple(r[1:] for r in options if r[0] == y),
            tuple(r[1:] for r in free_text if r[0] == y),
            tuple(r[1:] for r in columns if r[0] == y),
            _personal_columns(versions[y]),
        )
        for y in sorted(versions)
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
                tuple((c.name, c.item_id, c.block_no, c.role, c.option_id) for c in qn.columns()),
                tuple(qn.personal_data_columns),
            ),
        )
    return result


def _item_sources(con: duckdb.DuckDBPyConnection, year: int) -> list[_Items]:
    """Where a generated column's text is looked for, in order: the year's questionnaire as the
    warehouse holds it, then the warehouse's other years (newest first), then the questionnaire
    YAML in force in the year, then the other YAMLs (newest first): a column of another year's
    questions keeps that year's text, and one of a year the warehouse no longer holds its YAML's."""
    per_year = _warehouse_items(con)
    sources = [per_year[y] for y in sorted(per_year, key=lambda y: (y != int(year), -y))]
    versions = sorted(_questionnaire_items().values(), key=lambda first_items: -first_items[0])
    in_force = next((items for first, items in versions if first <= int(year)), None)
    sources += [items for first, items in versions if items is in_force]
    sources += [items for first, items in versions if items is not in_force]
    return sources


def _render(pattern: str, **values: str) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), pattern)


def generated_columns(table: str, items: _Items) -> dict[str, ColumnDoc]:
    """The columns the questionnaire's items generate in `table`, each with its rule's
    description filled in: for a mart, in the order the mart has them (questions in order, then
    free text); for the export's columns (raw and staging), personal data first, then the
    answer columns."""
    generated = _spec(table).get("generated")
    if not generated:
        return {}
    if generated.get("from") == "export":
        return _export_columns(generated["rules"], items)
    return _mart_columns(generated, items)


def _mart_columns(generated: dict, items: _Items) -> dict[str, ColumnDoc]:
    unit, rules = generated["unit"], generated["rules"]
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


def _export_columns(rules: list[dict], items: _Items) -> dict[str, ColumnDoc]:
    """The export's own columns (named by the questionnaire's `column:` templates), by role:
    personal data, single-choice, tick, free text. The first rule of the column's kind that fits wins."""
    questions = {q[0]: q for q in items.questions}
    labels = {
        (question_id, option_id): label for question_id, option_id, label, is_derived in items.options if not is_derived
    }
    result: dict[str, ColumnDoc] = {}

    def add(name: str, rule: dict, values: dict) -> None:
        if name not in result:
            result[name] = ColumnDoc(name, rule["type"], rule["description"].format_map(values), bool(rule.get("contract", False)))

    for name in items.personal:
        rule = next((r for r in rules if r["kind"] == "personal"), None)
        if rule:
            add(name, rule, _export_values(column_name=name))
    for column_name, item_id, block_no, role, option_id in items.columns:
        for rule in rules:
            if rule["kind"] != role or rule.get("question", item_id) != item_id:
                continue
            question = questions.get(item_id)
            if "item" in rule:
                # e.g. `<question_id>_other_text`: free text that belongs to that question
                question = next((q for q in items.questions if _render(rule["item"], question_id=q[0]) == item_id), None)
                if question is None:
                    continue
            values = _export_values(
                column_name=column_name,
                block=f"Arrangement {block_no}: " if block_no else "",
                question_id=question[0] if question else "",
                question_text=question[3] if question else "",
                labels=", ".join(f"`{label}`" for (q, _o), label in labels.items() if question and q == question[0]),
                option_id=option_id or "",
                option_label=labels.get((item_id, option_id), ""),
                free_text_id=item_id if role == "text" else "",
            )
            add(column_name, rule, values)
            break
    return result


def _export_values(**values: str) -> dict[str, str]:
    keys = ("column_name", "block", "question_id", "question_text", "labels", "option_id", "option_label", "free_text_id")
    return {key: "" for key in keys} | values


# -- what a real table has ------------------------------------------------------------------
def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    quoted = ".".join('"' + part.replace('"', '""') + '"' for part in table.split("."))
    return list(column_types(con, quoted).items())


def documented_columns(con: duckdb.DuckDBPyConnection, table: str, year: int) -> dict[str, ColumnDoc | None]:
    """Every column `table` really has (in `con`; `schema.name` or `catalog.schema.name`), with what
    the dictionary says of it, or None when it says nothing.

    A fixed column's entry wins; then a generated column, expanded with the questionnaire of the
    year the table's name carries (`raw.survey_export_2011`), else of `year`, looked for as
    `_item_sources` says; then the table's `other_columns`, if it has one.
    KeyError for a table the dictionary does not describe.
    """
    key, name_year = _resolve(table)
    spec = _tables()[key]
    fixed = {c.name: c for c in fixed_columns(key)}
    generated: dict[str, ColumnDoc] = {}
    if spec.get("generated"):
        for items in _item_sources(con, name_year or int(year)):
            for name, doc in generated_columns(key, items).items():
                generated.setdefault(name, doc)
    other = spec.get("other_columns")
    return {
        name: fixed.get(name)
        or generated.get(name)
        or (ColumnDoc(name, other["type"], other["description"]) if other else None)
        for name, _type in _table_columns(con, table)
    }


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
        "",
    ]
    tables = _tables()
    for layer, layer_spec in doc["layers"].items():
        where = "in the BI snapshot" if layer_spec.get("in_snapshot") else "warehouse only"
        names = ", ".join(f"`{key}`" for key, spec in tables.items() if spec["layer"] == layer)
        lines.append(f"- **{layer_spec['title']}** ({where}): {names}")
    header = ["| column | type | meaning |", "|---|---|---|"]
    for layer, layer_spec in doc["layers"].items():
        lines += ["", f"## {layer_spec['title']}", "", layer_spec["intro"].strip()]
        for table, spec in tables.items():
            if spec["layer"] == layer:
                lines += _table_markdown(table, spec, header)
    return "\n".join(lines) + "\n"


def _table_markdown(table: str, spec: dict, header: list[str]) -> list[str]:
    lines = ["", f"### `{table}` — {spec['grain']}", "", spec["description"].strip(), ""]
    lines += header
    lines += [_row(c.name, c.type, c.description, c.contract) for c in fixed_columns(table)]
    generated = spec.get("generated")
    if generated:
        lines += [_row(f"`{r['pattern']}`", r["type"], r["summary"], bool(r.get("contract"))) for r in generated["rules"]]
    if spec.get("other_columns"):
        other = spec["other_columns"]
        lines.append(_row("`<any other column>`", other["type"], other["description"], False))
    if spec.get("notes"):
        lines += ["", spec["notes"].strip()]
    if generated and generated.get("from") != "export":
        lines += [
            "",
            f"#### `{table}`: the generated columns of each questionnaire",
            "",
            "From the question texts of `assets/questionnaires/`; the comments inside the BI snapshot "
            "carry the same descriptions.",
        ]
        fixed = {c.name for c in fixed_columns(table)}
        for version, (first_year, items) in _questionnaire_items().items():
            columns = [c for c in generated_columns(table, items).values() if c.name not in fixed]
            lines += ["", f"##### `{version}` (survey years from {first_year})", ""]
            if not columns:
                lines.append("No generated columns.")
                continue
            lines += header
            lines += [_row(c.name, c.type, c.description, c.contract) for c in columns]
    return lines


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
