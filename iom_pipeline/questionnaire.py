"""The questionnaire as data: loads `assets/questionnaires/*.yaml` into plain objects.

Everything that depends on the questions (ingestion, pandera schemas, SQL models, checks,
figures) reads them from here, so adding a question or an option is an edit to the YAML only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path


from iom_pipeline.paths import QUESTIONNAIRE_DIR, load_yaml

CSP_LEVEL = 0  # block number used for CSP-level items, so joins never meet NULL block numbers


@dataclass(frozen=True)
class Option:
    id: str
    label: str
    order: int
    exclusive: bool = False
    declares_arrangements: tuple[int, int | None] | None = None


@dataclass(frozen=True)
class DerivedOption:
    id: str
    label: str
    order: int
    all_of: tuple[str, ...] = ()
    min_selected: int | None = None


@dataclass(frozen=True)
class Question:
    id: str
    type: str  # single | multi
    unit: str  # csp | arrangement
    column: str  # template: {option}, {block}
    text: str
    base: str
    order: int
    options: tuple[Option, ...]
    derived_options: tuple[DerivedOption, ...] = ()
    asked_when: tuple[tuple[str, str], ...] = ()  # direct condition only; () = always

    @property
    def option_ids(self) -> list[str]:
        return [o.id for o in self.options]

    def option(self, option_id: str) -> Option:
        return next(o for o in self.options if o.id == option_id)


@dataclass(frozen=True)
class FreeText:
    id: str
    unit: str
    column: str
    asked_when: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ExportColumn:
    """One answer column of the export, and what it means."""

    name: str
    item_id: str  # question id or free-text id
    block_no: int  # CSP_LEVEL for CSP-level items
    role: str  # single | tick | text
    unit: str
    option_id: str | None = None  # for ticks: the option this column ticks
    label: str | None = None  # for ticks: the label a ticked cell holds


@dataclass(frozen=True)
class Questionnaire:
    version: str
    title: str
    first_survey_year: int
    timestamp_format: str
    required_metadata_columns: tuple[str, ...]
    personal_data_columns: tuple[str, ...]
    screening_question: str
    questions: tuple[Question, ...]
    free_text: tuple[FreeText, ...]
    block_count: int
    block_routing: dict[int, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    declared_by: tuple[str, ...] = ()

    # -- lookups -------------------------------------------------------------------------
    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(f"{self.version} has no question {question_id!r}")

    @property
    def csp_questions(self) -> list[Question]:
        return [q for q in self.questions if q.unit == "csp"]

    @property
    def arrangement_questions(self) -> list[Question]:
        return [q for q in self.questions if q.unit == "arrangement"]

    @property
    def blocks(self) -> list[int]:
        return list(range(1, self.block_count + 1))

    # -- columns -------------------------------------------------------------------------
    def columns(self) -> list[ExportColumn]:
        """Every answer column the export must have, in questionnaire order."""
        cols: list[ExportColumn] = []
        for q in self.questions:
            for block_no in self.blocks if q.unit == "arrangement" else [CSP_LEVEL]:
                if q.type == "single":
                    cols.append(ExportColumn(_expand(q.column, block_no), q.id, block_no, "single", q.unit))
                else:
                    for o in q.options:
                        cols.append(
                            ExportColumn(
                                _expand(q.column, block_no, o.id), q.id, block_no, "tick", q.unit, o.id, o.label
                            )
                        )
        for t in self.free_text:
            for block_no in self.blocks if t.unit == "arrangement" else [CSP_LEVEL]:
                cols.append(ExportColumn(_expand(t.column, block_no), t.id, block_no, "text", t.unit))
        return cols

    @property
    def answer_column_names(self) -> list[str]:
        return [c.name for c in self.columns()]

    @property
    def expected_columns(self) -> list[str]:
        return [*self.required_metadata_columns, *self.personal_data_columns, *self.answer_column_names]

    # -- routing -------------------------------------------------------------------------
    def _direct_condition(self, item_id: str, block_no: int) -> tuple[tuple[str, str], ...]:
        if block_no != CSP_LEVEL:
            return self.block_routing.get(block_no, ())
        for q in self.questions:
            if q.id == item_id:
                return q.asked_when
        for t in self.free_text:
            if t.id == item_id:
                return t.asked_when
        raise KeyError(item_id)

    def routing_conditions(self, item_id: str, block_no: int = CSP_LEVEL) -> list[tuple[str, str]]:
        """Every (question, option) that must hold for the item to be asked, chains followed.

        A question is asked when its condition question was asked and answered with the
        option; by induction that is the conjunction of the whole chain on the raw answers.
        """
        conditions: list[tuple[str, str]] = []
        pending = list(self._direct_condition(item_id, block_no))
        while pending:
            question_id, option_id = pending.pop()
            if (question_id, option_id) in conditions:
                continue
            conditions.append((question_id, option_id))
            pending.extend(self.question(question_id).asked_when)
        return conditions


def _expand(template: str, block_no: int, option_id: str | None = None) -> str:
    return template.format(block=block_no, option=option_id)


def _condition(raw) -> tuple[tuple[str, str], ...]:
    if raw in (None, "always"):
        return ()
    return tuple((str(k), str(v)) for k, v in raw.items())


def _parse(doc: dict) -> Questionnaire:
    questions = []
    for qi, q in enumerate(doc["questions"]):
        for o in q["options"]:
            # YAML reads 0_100 as an octal number and yes as true: ids must be quoted strings.
            if not isinstance(o["id"], str):
                raise ValueError(f"{doc['version']}: option id {o['id']!r} of {q['id']} must be a quoted string")
        options = tuple(
            Option(
                id=str(o["id"]),
                label=str(o["label"]),
                order=oi,
                exclusive=bool(o.get("exclusive", False)),
                declares_arrangements=tuple(o["declares_arrangements"]) if "declares_arrangements" in o else None,
            )
            for oi, o in enumerate(q["options"])
        )
        derived = tuple(
            DerivedOption(
                id=str(d["id"]),
                label=str(d["label"]),
                order=len(options) + di,
                all_of=tuple(d.get("all_of", ())),
                min_selected=d.get("min_selected"),
            )
            for di, d in enumerate(q.get("derived_options", ()))
        )
        questions.append(
            Question(
                id=q["id"],
                type=q["type"],
                unit=q["unit"],
                column=q["column"],
                text=q["text"],
                base=q["base"],
                order=qi,
                options=options,
                derived_options=derived,
                asked_when=_condition(q.get("asked_when")),
            )
        )
    blocks = doc.get("arrangement_blocks", {"count": 0, "asked_when": []})
    block_routing = {}
    for rule in blocks["asked_when"]:
        for b in rule["blocks"]:
            block_routing[int(b)] = _condition(rule["when"])
    free_text = tuple(
        FreeText(t["id"], t["unit"], t["column"], _condition(t.get("asked_when"))) for t in doc.get("free_text", ())
    )
    qn = Questionnaire(
        version=doc["version"],
        title=doc["title"],
        first_survey_year=int(doc["first_survey_year"]),
        timestamp_format=doc["timestamp_format"],
        required_metadata_columns=tuple(doc["required_metadata_columns"]),
        personal_data_columns=tuple(doc["personal_data_columns"]),
        screening_question=doc["screening_question"],
        questions=tuple(questions),
        free_text=free_text,
        block_count=int(blocks["count"]),
        block_routing=block_routing,
        declared_by=tuple(blocks.get("declared_by", ())),
    )
    _validate(qn)
    return qn


def _validate(qn: Questionnaire) -> None:
    """Refuse a questionnaire file that contradicts itself, before any data meets it."""
    ids = [q.id for q in qn.questions]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{qn.version}: duplicate question ids")
    for q in qn.questions:
        if q.type not in ("single", "multi") or q.unit not in ("csp", "arrangement"):
            raise ValueError(f"{qn.version}: {q.id} has type {q.type!r} / unit {q.unit!r}")
        labels = [normalise_label(o.label) for o in q.options]
        if len(labels) != len(set(labels)) or len(q.option_ids) != len(set(q.option_ids)):
            raise ValueError(f"{qn.version}: {q.id} has duplicate options")
        for d in q.derived_options:
            if not set(d.all_of) <= set(q.option_ids):
                raise ValueError(f"{qn.version}: {q.id}/{d.id} names unknown options")
    for item in [*qn.questions, *qn.free_text]:
        for cond_q, cond_o in item.asked_when:
            target = qn.question(cond_q)
            if target.type != "single" or cond_o not in target.option_ids:
                raise ValueError(f"{qn.version}: {item.id} is routed on {cond_q}={cond_o}, not a single-choice option")
    names = qn.expected_columns
    if len(names) != len(set(names)):
        raise ValueError(f"{qn.version}: two items expand to the same export column")


# Spaces that may surround a label: exports and Excel re-saves pad with these.
LABEL_PADDING = " \t\r\n\u00a0"


def normalise_label(value: str) -> str:
    """Labels may vary in case and in the spaces around them (spec: question columns).

    The SQL models apply the same rule: `lower(trim(value, LABEL_PADDING))`.
    """
    return value.strip(LABEL_PADDING).lower()


@cache
def load_questionnaire(version: str) -> Questionnaire:
    path = QUESTIONNAIRE_DIR / f"{version}.yaml"
    with path.open(encoding="utf-8") as fh:
        return _parse(load_yaml(fh.read()))


@cache
def all_questionnaires() -> tuple[Questionnaire, ...]:
    return tuple(
        sorted(
            (load_questionnaire(p.stem) for p in Path(QUESTIONNAIRE_DIR).glob("*.yaml")),
            key=lambda q: q.first_survey_year,
        )
    )


def questionnaire_for_year(year: int) -> Questionnaire:
    """The questionnaire in force in a survey year: the latest one first used in or before it.

    A new survey year therefore needs no code change; a new questionnaire version is a new YAML.
    """
    candidates = [q for q in all_questionnaires() if q.first_survey_year <= int(year)]
    if not candidates:
        raise ValueError(f"no questionnaire is defined for survey year {year}")
    return candidates[-1]
