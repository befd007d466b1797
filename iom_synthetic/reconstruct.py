"""Write a reconstructed (SYNTHETIC) survey year into a landing directory.

The real IOM survey microdata is not public. This module builds, for one survey year, the three
landing files of the input contract (docs/spec/survey-export-format.md):

* `survey_export.csv`: one row per submission, in the survey tool's exact format (UTF-8 with a
  byte-order mark, RFC 4180 quoting, the questionnaire's timestamp format, its columns);
* `frame.csv`: the CSPs the survey was sent to (`csp_code,csp_name`);
* `published.csv`: that year's rows of `assets/published/published-figures.csv`.

The rows are built so that applying the contract's rules (one return per CSP, which row
counts, routing, multi-select, arrangements) and bases reproduces every published figure of
the year. The export also carries the mess real exports have (abandoned partial returns,
corrected resubmissions, names typed differently, unknown CSPs, routing violations, ...),
injected so that it changes no figure when the rules are applied correctly.

Nothing here depends on the survey year: the questionnaire comes from
`assets/questionnaires/`, and every count, the frame rule, the seed and the mess to inject from
`assets/synthetic/reconstruction_<year>.yaml`. The derivation of the counts is documented in
docs/reconstruction.md.

Usage: `python -m iom_synthetic.reconstruct --year 2013 --out DIR`
"""

from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import io
import random
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import yaml

from iom_pipeline.paths import ASSETS_DIR, PUBLISHED_FIGURES_CSV, REFERENCE_DIR, landing_dir
from iom_pipeline.questionnaire import (
    CSP_LEVEL,
    Question,
    Questionnaire,
    load_questionnaire,
    questionnaire_for_year,
)

SYNTHETIC_DIR = ASSETS_DIR / "synthetic"
CSP_LOOKUP_CSV = REFERENCE_DIR / "ons_lad17_csp17_pfa17_lookup_EW_jan2017_v2.csv"

EXPORT_FILE = "survey_export.csv"
FRAME_FILE = "frame.csv"
PUBLISHED_FILE = "published.csv"

COUNTED = "counted"
SUPERSEDED = "superseded"
NOT_ANALYSABLE = "not_analysable"
QUARANTINED = "quarantined"

# Obviously fictitious personal data: names are ordinary, but every address is on a domain
# reserved for documentation (RFC 2606) and every number in a range Ofcom reserves for drama.
_FIRST_NAMES = (
    "Alex", "Amira", "Bethan", "Chris", "Dev", "Eilidh", "Femi", "Gareth", "Hannah", "Imran",
    "Jo", "Kiran", "Leah", "Marcus", "Niamh", "Owen", "Priya", "Rhys", "Sam", "Siân", "Tom",
    "Yusuf", "Zoë", "Seán", "Claire", "Dafydd", "Grace", "Lewis", "Mei", "Paul",
)
_SURNAMES = (
    "Example", "Sample", "Specimen", "Testwood", "Placeholder", "Dummyford", "Fictor", "Mockley",
    "Pretendon", "Illustre", "Demoson", "Trialby", "Exempli", "Madeupton", "Notreal",
)
_EMAIL_DOMAINS = ("example.org", "example.com", "example.net")
_PHONE_PREFIXES = ("01632 960", "07700 900", "0113 496 0", "020 7946 0")

# How a typed CSP name may differ from the frame's (spec, rule 1).
_NAME_VARIANTS = ("case_and_spaces", "ampersand", "apostrophe", "punctuation")
# How a label's case and the spaces around it may vary (spec: question columns).
_LABEL_FORMS = ("lower", "upper", "pad_left", "pad_right", "pad_both")


class ReconstructionError(ValueError):
    """The parameters cannot produce the requested data (a count, a constraint, a case)."""


# ----------------------------------------------------------------------------------------
# Parameters and reference data
# ----------------------------------------------------------------------------------------
def parameters_path(year: int) -> Path:
    return SYNTHETIC_DIR / f"reconstruction_{int(year)}.yaml"


def load_parameters(year: int) -> dict:
    path = parameters_path(year)
    if not path.exists():
        raise ReconstructionError(f"no reconstruction parameters for survey year {year}: {path} is missing")
    with path.open(encoding="utf-8") as fh:
        params = yaml.safe_load(fh)
    if int(params["survey_year"]) != int(year):
        raise ReconstructionError(f"{path.name} describes survey year {params['survey_year']}, not {year}")
    return params


def ons_csps() -> dict[str, str]:
    """Every CSP of the ONS lookup: code -> name (the lookup has one row per district)."""
    csps: dict[str, str] = {}
    with CSP_LOOKUP_CSV.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            csps[row["CSP17CD"]] = row["CSP17NM"]
    return dict(sorted(csps.items()))


def select_frame(spec: dict) -> dict[str, str]:
    """The survey frame: the `size` ONS CSPs that rank first by SHA-256 of `<salt>:<code>`.

    A documented, reproducible rule that favours no area; `size` equal to the number of ONS
    CSPs keeps them all. Returned in code order.
    """
    csps = ons_csps()
    size = int(spec["size"])
    if not 0 < size <= len(csps):
        raise ReconstructionError(f"frame size {size} is not between 1 and the {len(csps)} ONS CSPs")
    salt = str(spec["salt"])
    ranked = sorted(csps, key=lambda code: hashlib.sha256(f"{salt}:{code}".encode()).hexdigest())
    return {code: csps[code] for code in sorted(ranked[:size])}


def normalise_csp_name(name: str) -> str:
    """Rule 1 of the spec: case folded, `&` read as `and`, apostrophes removed, every other
    punctuation mark read as a space, runs of spaces collapsed, ends trimmed."""
    s = name.casefold().replace("&", " and ")
    s = re.sub(r"['\u2018\u2019]", "", s)
    s = "".join(" " if unicodedata.category(ch).startswith(("P", "S")) else ch for ch in s)
    return " ".join(s.split())


# ----------------------------------------------------------------------------------------
# Data structures
# ----------------------------------------------------------------------------------------
Answers = dict[str, Any]  # question id -> option id (single) | [option ids] (multi); free-text id -> text


@dataclass
class Return:
    """A responding CSP's counted return, before any mess."""

    csp_code: str
    csp_name: str
    answers: Answers = field(default_factory=dict)
    blocks: dict[int, Answers] = field(default_factory=dict)
    status: str = "Completed"
    answers_only: tuple[str, ...] | None = None  # a partial return answers these items only
    pins: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def answers_item(self, item_id: str) -> bool:
        return self.answers_only is None or item_id in self.answers_only


@dataclass
class Row:
    """One submission of the export."""

    order: int
    cases: list[str]
    frame_code: str | None  # the frame CSP the row belongs to (None: matches none)
    csp_code: str  # as exported
    csp_name: str  # as typed
    status: str
    started: datetime
    ended: datetime | None
    person: dict[str, str]
    answers: Answers
    blocks: dict[int, Answers]
    outcome: str
    reason: str | None = None
    response_id: int = 0
    used: bool = False  # already the target of a mess case


@dataclass
class Reconstruction:
    year: int
    questionnaire: Questionnaire
    frame: dict[str, str]
    header: list[str]
    rows: list[Row]
    published_header: list[str]
    published_rows: list[dict[str, str]]
    params: dict = field(default_factory=dict)

    def manifest(self) -> list[dict]:
        """Every row that is not a plain counted return: what it is and how it must end."""
        return [
            {
                "response_id": r.response_id,
                "csp_code": r.frame_code,
                "status": r.status,
                "outcome": r.outcome,
                "reason": r.reason,
                "cases": list(r.cases),
            }
            for r in self.rows
            if r.cases != ["counted"]
        ]

    def outcome_counts(self) -> dict[str, int]:
        counts = {COUNTED: 0, SUPERSEDED: 0, NOT_ANALYSABLE: 0, QUARANTINED: 0}
        for r in self.rows:
            counts[r.outcome] += 1
        return counts


# ----------------------------------------------------------------------------------------
# Routing helpers
# ----------------------------------------------------------------------------------------
def _holds(conditions, answers: Answers) -> bool:
    """Every (question, option) holds. A multi-select answer holds an option when it is ticked."""
    for question_id, option_id in conditions:
        value = answers.get(question_id)
        if isinstance(value, list):
            if str(option_id) not in value:
                return False
        elif value != str(option_id):
            return False
    return True


def _asked(qn: Questionnaire, item_id: str, answers: Answers) -> bool:
    return _holds(qn.routing_conditions(item_id), answers)


def _block_asked(qn: Questionnaire, block_no: int, answers: Answers) -> bool:
    return _holds(qn.block_routing.get(block_no, ()), answers) if block_no in qn.block_routing else False


def _asked_blocks(qn: Questionnaire, answers: Answers) -> list[int]:
    """Blocks the routing asks, chains followed (a block under q3 = several is under q1 = Yes)."""
    asked = []
    for block_no in qn.blocks:
        conditions = []
        for question_id, option_id in qn.block_routing.get(block_no, ()):
            conditions.append((question_id, option_id))
            conditions.extend(qn.routing_conditions(question_id))
        if block_no in qn.block_routing and _holds(conditions, answers):
            asked.append(block_no)
    return asked


def _restrict(qn: Questionnaire, answers: Answers, blocks: dict[int, Answers], only) -> tuple[Answers, dict]:
    """Keep what the routing asks (given the answers themselves), and only `only` items if given."""
    kept: Answers = {}
    items = {q.id for q in qn.questions} | {t.id for t in qn.free_text}
    for question in qn.questions:  # questionnaire order: a condition is settled before it is used
        if question.unit == "csp" and question.id in answers and _asked(qn, question.id, kept):
            if only is None or question.id in only:
                kept[question.id] = copy.deepcopy(answers[question.id])
    for text in qn.free_text:
        if text.unit == "csp" and text.id in answers and _asked(qn, text.id, kept):
            if only is None or text.id in only:
                kept[text.id] = answers[text.id]
    asked = _asked_blocks(qn, kept)
    kept_blocks = {}
    for block_no, block in blocks.items():
        if block_no in asked:
            b = {k: copy.deepcopy(v) for k, v in block.items() if k in items and (only is None or k in only)}
            if b:
                kept_blocks[block_no] = b
    return kept, kept_blocks


# ----------------------------------------------------------------------------------------
# Allocation of answers to units so that every count is exact
# ----------------------------------------------------------------------------------------
def _allocate_single(question: Question, keys: list, spec: dict, pins: dict, rng: random.Random) -> dict:
    counts = {str(k): int(v) for k, v in (spec.get("options") or {}).items()}
    _check_options(question, counts)
    if sum(counts.values()) != len(keys):
        raise ReconstructionError(
            f"{question.id}: the option counts add up to {sum(counts.values())}, "
            f"but {len(keys)} units answer it"
        )
    result = {}
    for key in keys:
        if key in pins:
            option = pins[key]
            if counts.get(option, 0) <= 0:
                raise ReconstructionError(f"{question.id}: no {option!r} answer left for a pinned return")
            counts[option] -= 1
            result[key] = option
    free = [k for k in keys if k not in pins]
    rng.shuffle(free)
    stream = [o.id for o in question.options for _ in range(counts.get(o.id, 0))]
    for key, option in zip(free, stream):
        result[key] = option
    return result


def _allocate_multi(question: Question, keys: list, spec: dict, rng: random.Random) -> dict:
    """Tick options so that every option count, exclusive count and derived count is exact.

    Exclusive-only units first; then, for a `min_selected` derived option, the units below the
    threshold get one tick each; then, for an `all_of` derived option, its units get the whole
    group; the remaining ticks are dealt round-robin (group options first, over units that must
    not complete the group), so a run of one option never ticks a unit twice.
    """
    counts = {str(k): int(v) for k, v in (spec.get("options") or {}).items()}
    exclusive = {str(k): int(v) for k, v in (spec.get("exclusive_only") or {}).items()}
    derived = {str(k): int(v) for k, v in (spec.get("derived") or {}).items()}
    _check_options(question, {**counts, **exclusive})
    for option_id in exclusive:
        if not question.option(option_id).exclusive:
            raise ReconstructionError(f"{question.id}/{option_id} is not an exclusive option")
    for option_id in counts:
        if question.option(option_id).exclusive:
            raise ReconstructionError(f"{question.id}/{option_id} is exclusive: give it under exclusive_only")
    known = {d.id: d for d in question.derived_options}
    for d_id in derived:
        if d_id not in known:
            raise ReconstructionError(f"{question.id} has no derived option {d_id!r}")

    order = list(keys)
    rng.shuffle(order)
    ticks: dict = {k: [] for k in order}
    pos = 0
    for option_id, n in exclusive.items():
        for key in order[pos : pos + n]:
            ticks[key] = [option_id]
        pos += n
    pool = order[pos:]
    if pos > len(order):
        raise ReconstructionError(f"{question.id}: more exclusive-only units than units")

    groups = [(known[d].all_of, n) for d, n in derived.items() if known[d].all_of]
    thresholds = [(known[d].min_selected, n) for d, n in derived.items() if known[d].min_selected]
    if len(groups) > 1 or len(thresholds) > 1:
        raise ReconstructionError(f"{question.id}: at most one all_of and one min_selected constraint")

    remaining = dict(counts)
    if thresholds:
        _, high = thresholds[0]
        low_n = len(pool) - high
        if low_n < 0:
            raise ReconstructionError(f"{question.id}: {high} units above the threshold, only {len(pool)} units")
        low, pool = pool[:low_n], pool[low_n:]
        options = [o.id for o in question.options if remaining.get(o.id, 0) > 0]
        for key in low:
            option_id = rng.choices(options, weights=[max(remaining[o], 0) for o in options])[0]
            ticks[key] = [option_id]
            remaining[option_id] -= 1
    group: tuple[str, ...] = ()
    complete: list = []
    if groups:
        group, k = groups[0]
        complete, pool = pool[:k], pool[k:]
        for key in complete:
            ticks[key] = list(group)
        for option_id in group:
            remaining[option_id] -= k
    if any(v < 0 for v in remaining.values()):
        raise ReconstructionError(f"{question.id}: the derived counts need more ticks than the option counts give")

    cursor = 0
    for phase_options, units in (
        ([o for o in question.option_ids if o in group], pool),
        ([o for o in question.option_ids if o not in group], pool + complete),
    ):
        for option_id in phase_options:
            n = remaining.get(option_id, 0)
            if n == 0:
                continue
            if n > len(units):
                raise ReconstructionError(f"{question.id}/{option_id}: {n} ticks for {len(units)} units")
            for _ in range(n):
                ticks[units[cursor % len(units)]].append(option_id)
                cursor += 1
    position = {o: i for i, o in enumerate(question.option_ids)}
    result = {k: sorted(v, key=position.__getitem__) for k, v in ticks.items()}
    _verify_multi(question, result, counts, exclusive, derived)
    return result


def _verify_multi(question: Question, result: dict, counts: dict, exclusive: dict, derived: dict) -> None:
    for key, ticked in result.items():
        if not ticked:
            raise ReconstructionError(f"{question.id}: a unit that answers was left without a tick")
        if len(set(ticked)) != len(ticked):
            raise ReconstructionError(f"{question.id}: an option ticked twice")
        if any(question.option(o).exclusive for o in ticked) and len(ticked) > 1:
            raise ReconstructionError(f"{question.id}: an exclusive option ticked with another")
    for option_id, n in {**counts, **exclusive}.items():
        got = sum(option_id in t for t in result.values())
        if got != n:
            raise ReconstructionError(f"{question.id}/{option_id}: {got} ticks, {n} wanted")
    for d in question.derived_options:
        if d.id not in derived:
            continue
        if d.all_of:
            got = sum(all(o in t for o in d.all_of) for t in result.values())
        else:
            got = sum(len(t) >= d.min_selected for t in result.values())
        if got != derived[d.id]:
            raise ReconstructionError(
                f"{question.id}/{d.id}: {got} units, {derived[d.id]} wanted (the other counts do not allow it)"
            )


def _check_options(question: Question, counts: dict) -> None:
    unknown = set(counts) - set(question.option_ids)
    if unknown:
        raise ReconstructionError(f"{question.id} has no option(s) {sorted(unknown)}")


# ----------------------------------------------------------------------------------------
# The builder
# ----------------------------------------------------------------------------------------
def _option_id(question: Question, raw: object) -> str:
    """The questionnaire's id of an option named in the parameters (derived options included).

    Ids that look like numbers (`2`, `0_100`) are compared as text; an id that YAML 1.1 reads
    as a number when unquoted (`0_100` -> 64) is matched under either reading.
    """
    ids = question.option_ids + [d.id for d in question.derived_options]
    for candidate in (str(raw), str(yaml.safe_load(str(raw)))):
        if candidate in ids:
            return candidate
    raise ReconstructionError(f"{question.id} has no option {raw!r}")


def _canonical(qn: Questionnaire, params: dict) -> dict:
    """The parameters with every option id spelled as the questionnaire spells it."""
    params = copy.deepcopy(params)
    question_ids = {q.id for q in qn.questions}

    def answers_map(d: dict | None) -> dict:
        out = {}
        for item_id, value in (d or {}).items():
            if item_id in question_ids:
                q = qn.question(item_id)
                value = [_option_id(q, v) for v in value] if isinstance(value, list) else _option_id(q, value)
            out[item_id] = value
        return out

    for question_id, spec in (params.get("answers") or {}).items():
        q = qn.question(question_id)
        for key in ("options", "exclusive_only", "derived"):
            if spec.get(key):
                spec[key] = {_option_id(q, k): v for k, v in spec[key].items()}
    for m in (params.get("arrangement_blocks") or {}).get("mismatches") or []:
        m["when"] = answers_map(m.get("when"))
    for spec in (params.get("free_text") or {}).values():
        when = spec.get("when_ticked")
        if when:
            when["option"] = _option_id(qn.question(when["question"]), when["option"])
    mess = params.get("mess") or {}
    for kind in ("counted_partials", "earlier_partials", "later_partials", "earlier_completed",
                 "routing_violations", "exclusive_with_other"):
        for spec in mess.get(kind) or []:
            for key in ("pin", "changes", "when", "fill"):
                if key in spec:
                    spec[key] = answers_map(spec[key])
            if "preceded_by" in spec:
                spec["preceded_by"]["changes"] = answers_map(spec["preceded_by"].get("changes"))
            if "fill_blocks" in spec:
                spec["fill_blocks"] = {b: answers_map(v) for b, v in spec["fill_blocks"].items()}
            if kind == "exclusive_with_other" and "option" in spec:
                spec["option"] = _option_id(qn.question(spec["question"]), spec["option"])
    return params


class _Builder:
    def __init__(self, year: int, params: dict, qn: Questionnaire):
        self.year = year
        self.params = _canonical(qn, params)
        params = self.params
        self.qn = qn
        self.seed = str(params["seed"])
        self.fieldwork = params["fieldwork"]
        self.opens = _parse_datetime(self.fieldwork["opens"])
        self.closes = _parse_datetime(self.fieldwork["closes"])
        self.mess = params.get("mess") or {}
        self.rows: list[Row] = []
        self.frame: dict[str, str] = {}
        self.returns: list[Return] = []
        self._order = 0

    def rng(self, *labels: object) -> random.Random:
        # Seeding with a str is deterministic (hashed with SHA-512), whatever PYTHONHASHSEED is.
        return random.Random(":".join([self.seed, *map(str, labels)]))

    # -- frame and responding CSPs ------------------------------------------------------
    def build(self) -> Reconstruction:
        self.frame = select_frame(self.params["frame"])
        responding = int(self.params["responding"])
        if responding > len(self.frame):
            raise ReconstructionError(f"{responding} responding CSPs in a frame of {len(self.frame)}")
        codes = list(self.frame)
        self.rng("responding").shuffle(codes)
        self.responding = codes[:responding]
        self.non_responding = sorted(codes[responding:])
        self.returns = [Return(code, self.frame[code]) for code in self.responding]
        self._pin_counted_partials()
        self._answer_csp_questions()
        self._build_blocks()
        self._answer_arrangement_questions()
        self._fill_free_text()
        self._counted_rows()
        self._inject_mess()
        self._number_rows()
        header = self._header()
        published_header, published_rows = _published_rows(self.year)
        return Reconstruction(
            self.year, self.qn, self.frame, header, self.rows, published_header, published_rows, self.params
        )

    def _pin_counted_partials(self) -> None:
        rng = self.rng("counted_partials")
        candidates = list(range(len(self.returns)))
        rng.shuffle(candidates)
        self.counted_partials: list[tuple[int, dict]] = []
        for spec in self.mess.get("counted_partials") or []:
            index = candidates.pop()
            ret = self.returns[index]
            ret.status = "Partial"
            ret.answers_only = tuple(spec["answers_only"])
            ret.pins = {str(k): str(v) for k, v in (spec.get("pin") or {}).items()}
            self.counted_partials.append((index, spec))

    # -- CSP-level answers --------------------------------------------------------------
    def _answering(self, item_id: str, eligible: list, spec: dict, ret_of: Callable, rng) -> list:
        forced = [k for k in eligible if not ret_of(k).answers_item(item_id)]
        k = int(spec.get("unanswered", 0))
        if len(forced) > k:
            raise ReconstructionError(
                f"{item_id}: {len(forced)} partial returns stop before it, but only {k} units leave it unanswered"
            )
        rest = [u for u in eligible if u not in forced and item_id not in ret_of(u).pins]
        skipped = forced + rng.sample(rest, k - len(forced))
        return [u for u in eligible if u not in skipped]

    def _answer_csp_questions(self) -> None:
        specs = self.params.get("answers") or {}
        for question in self.qn.csp_questions:
            eligible = [i for i, r in enumerate(self.returns) if _asked(self.qn, question.id, r.answers)]
            spec = specs.get(question.id)
            if spec is None:
                if eligible:
                    raise ReconstructionError(f"no counts given for {question.id}, asked of {len(eligible)} CSPs")
                continue
            rng = self.rng("answers", question.id)
            keys = self._answering(question.id, eligible, spec, lambda i: self.returns[i], rng)
            if question.type == "single":
                pins = {i: self.returns[i].pins[question.id] for i in keys if question.id in self.returns[i].pins}
                chosen = _allocate_single(question, keys, spec, pins, rng)
            else:
                chosen = _allocate_multi(question, keys, spec, rng)
            for i, value in chosen.items():
                self.returns[i].answers[question.id] = value
        for ret in self.returns:
            for question_id, option_id in ret.pins.items():
                if ret.answers.get(question_id) != option_id:
                    raise ReconstructionError(f"a pinned answer {question_id}={option_id} could not be given")

    # -- arrangement blocks -------------------------------------------------------------
    def _build_blocks(self) -> None:
        spec = self.params.get("arrangement_blocks") or {}
        arrangement_items = [q.id for q in self.qn.arrangement_questions] + [
            t.id for t in self.qn.free_text if t.unit == "arrangement"
        ]
        count: dict[int, int] = {}
        asked: dict[int, list[int]] = {}
        declared: dict[int, tuple] = {}
        for i, ret in enumerate(self.returns):
            asked[i] = _asked_blocks(self.qn, ret.answers)
            if not asked[i] or not any(ret.answers_item(item) for item in arrangement_items):
                count[i] = 0
                continue
            for question_id in self.qn.declared_by:
                option_id = ret.answers.get(question_id)
                if option_id is not None:
                    declared[i] = self.qn.question(question_id).option(option_id).declares_arrangements
            count[i] = declared[i][0] if i in declared else len(asked[i])
        rng = self.rng("arrangement_blocks")
        mismatched = set()
        for m in spec.get("mismatches") or []:
            when = [(str(k), str(v)) for k, v in m["when"].items()]
            candidates = [
                i for i in count
                if count[i] and _holds(when, self.returns[i].answers) and i not in mismatched
                and self.returns[i].status == "Completed"
            ]
            if not candidates:
                raise ReconstructionError(f"no return fits the arrangement count mismatch {m}")
            i = rng.choice(candidates)
            returned = int(m["returned"])
            if not 1 <= returned <= len(asked[i]) or returned == count[i]:
                raise ReconstructionError(f"cannot return {returned} blocks for the mismatch {m}")
            self.returns[i].notes.append(f"arrangement_count_mismatch: declares {count[i]}, returns {returned} blocks")
            count[i] = returned
            mismatched.add(i)
        if "total" in spec:
            extra = int(spec["total"]) - sum(count.values())
            open_ended = [i for i in declared if declared[i][1] is None and i not in mismatched and count[i]]
            rng.shuffle(open_ended)
            if extra < 0:
                raise ReconstructionError(f"the declared arrangements already exceed the total {spec['total']}")
            while extra > 0:
                grown = False
                for i in open_ended:
                    if extra and count[i] < len(asked[i]):
                        count[i] += 1
                        extra -= 1
                        grown = True
                if not grown:
                    raise ReconstructionError(f"cannot reach {spec['total']} arrangements")
            if sum(count.values()) != int(spec["total"]):
                raise ReconstructionError("arrangement total not reached")
        for i, ret in enumerate(self.returns):
            ret.blocks = {b: {} for b in asked[i][: count[i]]}

    def _answer_arrangement_questions(self) -> None:
        specs = self.params.get("answers") or {}
        units = [(i, b) for i, ret in enumerate(self.returns) for b in ret.blocks]
        for question in self.qn.arrangement_questions:
            spec = specs.get(question.id)
            if spec is None:
                if units:
                    raise ReconstructionError(f"no counts given for {question.id}")
                continue
            rng = self.rng("answers", question.id)
            keys = self._answering(question.id, units, spec, lambda k: self.returns[k[0]], rng)
            if question.type == "single":
                chosen = _allocate_single(question, keys, spec, {}, rng)
            else:
                chosen = _allocate_multi(question, keys, spec, rng)
            for (i, b), value in chosen.items():
                self.returns[i].blocks[b][question.id] = value

    def _fill_free_text(self) -> None:
        specs = self.params.get("free_text") or {}
        for text in self.qn.free_text:
            spec = specs.get(text.id)
            if not spec:
                continue
            rng = self.rng("free_text", text.id)
            values = [str(v) for v in spec["values"]]
            when = spec.get("when_ticked")
            for ret in self.returns:
                if not ret.answers_item(text.id):
                    continue
                places = [(ret.answers, CSP_LEVEL)] if text.unit == "csp" else [
                    (block, b) for b, block in ret.blocks.items()
                ]
                drawn = rng.sample(values, len(values))  # distinct values within a return, while they last
                for n, (place, block_no) in enumerate(places):
                    if text.unit == "csp" and not _asked(self.qn, text.id, ret.answers):
                        continue
                    if text.unit == "arrangement" and not place:
                        continue
                    if when and str(when["option"]) not in (place.get(when["question"]) or []):
                        continue
                    place[text.id] = drawn[n % len(drawn)].format(csp=ret.csp_name, block=block_no)

    # -- rows ---------------------------------------------------------------------------
    def _new_row(self, **kw) -> Row:
        self._order += 1
        return Row(order=self._order, **kw)

    def _person(self, rng: random.Random) -> dict[str, str]:
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_SURNAMES)
        ascii_name = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode().lower()
        person = {}
        for column in self.qn.personal_data_columns:
            if column.endswith("_name"):
                person[column] = f"{first} {last}"
            elif column.endswith("_email"):
                person[column] = f"{ascii_name}@{rng.choice(_EMAIL_DOMAINS)}"
            elif column.endswith("_phone"):
                person[column] = f"{rng.choice(_PHONE_PREFIXES)}{rng.randrange(1000):03d}"
            else:
                raise ReconstructionError(f"no fictitious value is defined for personal data column {column}")
        return person

    def _span(self, rng: random.Random, completed: bool) -> tuple[datetime, datetime | None]:
        days = max((self.closes - self.opens).days - 1, 1)
        started = max(self._office_time(self.opens + timedelta(days=rng.randrange(days)), rng), self.opens)
        if not completed:
            return started, None
        if rng.random() < 0.1:  # saved and finished on another day
            duration = timedelta(days=rng.randint(1, 4), minutes=rng.randint(0, 90))
        else:
            duration = timedelta(minutes=rng.randint(6, 85), seconds=rng.randint(0, 59))
        return started, min(started + duration, self.closes)

    def _counted_rows(self) -> None:
        rng = self.rng("rows")
        for ret in self.returns:
            started, ended = self._span(rng, ret.status == "Completed")
            cases = ["counted"] + (["counted_partial"] if ret.status == "Partial" else []) + ret.notes
            self.rows.append(
                self._new_row(
                    cases=cases, frame_code=ret.csp_code, csp_code=ret.csp_code, csp_name=ret.csp_name,
                    status=ret.status, started=started, ended=ended, person=self._person(rng),
                    answers=copy.deepcopy(ret.answers), blocks=copy.deepcopy(ret.blocks), outcome=COUNTED,
                    used=ret.status == "Partial" or bool(ret.notes),
                )
            )

    def _counted(self, code: str) -> Row:
        return next(r for r in self.rows if r.frame_code == code and r.outcome == COUNTED)

    def _pick(self, rng: random.Random, what: str, fits: Callable[[Row], bool] = lambda r: True) -> Row:
        candidates = [r for r in self.rows if r.outcome == COUNTED and not r.used and fits(r)]
        if not candidates:
            raise ReconstructionError(f"no counted return fits the case {what!r}")
        row = rng.choice(candidates)
        row.used = True
        return row

    @staticmethod
    def _office_time(day: datetime, rng: random.Random) -> datetime:
        """A time in office hours (08:00 to 18:00) on `day`'s date."""
        start = day.replace(hour=8, minute=0, second=0, microsecond=0)
        return start + timedelta(seconds=rng.randrange(10 * 3600))

    def _days_from(self, when: datetime, days: int, rng: random.Random) -> datetime:
        return self._office_time(when + timedelta(days=days), rng)

    def _room(self, row: Row, before: timedelta, after: timedelta, rng: random.Random) -> None:
        """Move a counted row so that other submissions fit before and after it in fieldwork."""
        end = row.ended or row.started
        if row.started - before >= self.opens and end + after <= self.closes:
            return
        span = (self.closes - self.opens) - before - after
        started = self._office_time(self.opens + before + span * rng.uniform(0.2, 0.6), rng)
        if row.ended is not None:
            duration = row.ended - row.started
            row.ended = started + (duration if duration < timedelta(days=1) else timedelta(minutes=47))
        row.started = started

    def _changed(self, row: Row, changes: dict) -> tuple[Answers, dict] | None:
        """The row's answers with `changes` applied, or None when a change is not asked or no change."""
        answers = copy.deepcopy(row.answers)
        for item_id, value in changes.items():
            value = [str(v) for v in value] if isinstance(value, list) else str(value)
            if not _asked(self.qn, item_id, answers) or answers.get(item_id) == value:
                return None
            answers[item_id] = value
        return _restrict(self.qn, answers, row.blocks, None)

    def _extra_row(self, base: Row, case: str, status: str, started, ended, answers, blocks, outcome, reason,
                   person=None, spec: dict | None = None) -> Row:
        spec = spec or {}
        code, name = base.csp_code, base.csp_name
        if spec.get("csp_code") == "empty":
            code = ""
        if spec.get("name_variant"):
            name = self._name_variant(base.csp_name if base.frame_code is None else self.frame[base.frame_code],
                                      spec["name_variant"])
            case += f"; typed name {name!r}" + ("; no code" if code == "" else "")
        row = self._new_row(
            cases=[case], frame_code=base.frame_code, csp_code=code, csp_name=name, status=status,
            started=started, ended=ended, person=person if person is not None else dict(base.person),
            answers=answers, blocks=blocks, outcome=outcome, reason=reason,
        )
        self.rows.append(row)
        return row

    def _inject_mess(self) -> None:
        m = self.mess
        rng = self.rng("mess")
        day = timedelta(days=1)

        # A CSP whose only returns are partial: the latest partial counts; an earlier one is superseded.
        for index, spec in self.counted_partials:
            row = self._counted(self.returns[index].csp_code)
            before = spec.get("preceded_by")
            if before:
                self._room(row, timedelta(days=4), day, rng)
                answers, blocks = self._changed(row, before.get("changes") or {}) or (None, None)
                if answers is None:
                    raise ReconstructionError(f"the change {before.get('changes')} does not apply to the counted partial")
                answers, blocks = _restrict(self.qn, answers, blocks, before.get("answers_only"))
                started = self._days_from(row.started, -rng.randint(1, 3), rng)
                case = "earlier partial of a CSP with partial returns only" + _differs(before.get("changes"))
                self._extra_row(row, case, "Partial", started, None,
                                answers, blocks, SUPERSEDED, "later_return_counted", spec=before)

        # Abandoned partial returns before (and after) the completed return that counts.
        for kind, label in (("earlier_partials", "earlier"), ("later_partials", "later")):
            for spec in m.get(kind) or []:
                changes = spec.get("changes") or {}
                row = self._pick(rng, kind, lambda r: r.status == "Completed" and self._fits_variant(r, spec)
                                 and (not changes or self._changed(r, changes) is not None))
                self._room(row, timedelta(days=6), timedelta(days=6), rng)
                answers, blocks = self._changed(row, changes) if changes else (row.answers, row.blocks)
                answers, blocks = _restrict(self.qn, answers, blocks, spec.get("answers_only"))
                if label == "earlier":
                    started = self._days_from(row.started, -rng.randint(1, 5), rng)
                else:
                    started = self._days_from(row.ended, rng.randint(1, 5), rng)
                case = f"{label} partial return of a CSP that completed one" + _differs(changes)
                self._extra_row(row, case, "Partial", started,
                                None, answers, blocks, SUPERSEDED, "completed_return_preferred", spec=spec)

        # Corrected resubmissions: two completed returns; the one ended later counts.
        for spec in m.get("earlier_completed") or []:
            changes = spec.get("changes") or {}
            when = [(str(k), str(v)) for k, v in (spec.get("when") or {}).items()]
            row = self._pick(rng, "earlier_completed", lambda r: r.status == "Completed" and _holds(when, r.answers)
                             and self._fits_variant(r, spec)
                             and self._changed(r, changes) is not None)
            answers, blocks = self._changed(row, changes)
            stamps = spec.get("timestamps")
            if stamps:
                row.started, row.ended = (_parse_datetime(stamps["counted"][k]) for k in ("started", "ended"))
                started, ended = (_parse_datetime(stamps["superseded"][k]) for k in ("started", "ended"))
            else:
                self._room(row, timedelta(days=12), day, rng)
                started = self._days_from(row.started, -rng.randint(2, 10), rng)
                ended = started + timedelta(minutes=rng.randint(10, 70))
            if not (ended < row.ended and self.opens <= started <= ended <= self.closes):
                raise ReconstructionError(f"the resubmission timestamps {stamps} do not make the counted row the later")
            person = None if spec.get("same_person", True) else self._person(rng)
            case = "superseded completed return (corrected resubmission)" + _differs(changes)
            if person is not None:
                case += "; another respondent"
            self._extra_row(row, case, "Completed", started, ended,
                            answers, blocks, SUPERSEDED, "later_return_counted", person=person, spec=spec)

        # Rows that do not answer the screening question.
        for spec in m.get("not_analysable") or []:
            completed = spec.get("status", "Completed") == "Completed"
            if spec.get("csp") == "responding":
                row = self._pick(rng, "not_analysable", lambda r: r.status == "Completed" and self._fits_variant(r, spec))
                source_answers, source_blocks = row.answers, row.blocks
                self._room(row, day, timedelta(days=5), rng)
                started = self._days_from(row.ended, rng.randint(1, 4), rng)
                base = row
            else:
                code = rng.choice([c for c in self.non_responding if c not in {r.frame_code for r in self.rows}])
                wanted = [i for i in spec.get("answers_only") or () if i in {q.id for q in self.qn.csp_questions}]
                donor = rng.choice([r for r in self.rows if r.outcome == COUNTED and r.status == "Completed"
                                    and all(i in r.answers for i in wanted)])
                source_answers, source_blocks = donor.answers, donor.blocks
                started, _ = self._span(rng, False)
                base = self._new_row(
                    cases=[], frame_code=code, csp_code=code, csp_name=self.frame[code], status="", started=started,
                    ended=None, person=self._person(rng), answers={}, blocks={}, outcome="",
                )
            only = tuple(spec.get("answers_only") or ())
            if self.qn.screening_question in only:
                raise ReconstructionError("a not_analysable row must leave the screening question unanswered")
            answers = {k: copy.deepcopy(v) for k, v in source_answers.items() if k in only}
            blocks = {b: {k: copy.deepcopy(v) for k, v in bl.items() if k in only} for b, bl in source_blocks.items()}
            blocks = {b: bl for b, bl in blocks.items() if bl}
            ended = started + timedelta(minutes=rng.randint(3, 25)) if completed else None
            who = "a responding" if spec.get("csp") == "responding" else "a non-responding"
            self._extra_row(base, f"screening question unanswered ({who} CSP)", "Completed" if completed else "Partial",
                            started, ended, answers, blocks, NOT_ANALYSABLE, "screening_question_unanswered", spec=spec)

        # Counted returns that carry no code, only a name typed differently.
        for variant in m.get("name_only") or []:
            def fits(r: Row, strict: bool) -> bool:
                return self._name_variant(self.frame[r.frame_code], variant, natural_only=True, strict=strict) is not None

            try:
                row = self._pick(rng, f"name_only {variant}", lambda r: fits(r, True))
            except ReconstructionError:
                row = self._pick(rng, f"name_only {variant}", lambda r: fits(r, False))
            row.csp_code = ""
            row.csp_name = self._name_variant(self.frame[row.frame_code], variant)
            row.cases.append(f"no code; typed name {row.csp_name!r} ({variant})")

        # A code that is not in the frame, with a name that matches.
        for spec in m.get("code_not_in_frame") or []:
            code = str(spec["code"])
            if code in self.frame:
                raise ReconstructionError(f"{code} is in the frame")
            row = self._pick(rng, "code_not_in_frame", lambda r: self._fits_variant(r, spec))
            row.csp_code = code
            if spec.get("name_variant"):
                row.csp_name = self._name_variant(self.frame[row.frame_code], spec["name_variant"])
            row.cases.append(f"code {code} not in the frame; name {row.csp_name!r} matches")

        # Rows that match no frame CSP.
        frame_names = {normalise_csp_name(n) for n in self.frame.values()}
        for spec in m.get("unknown_csp") or []:
            code, name = str(spec.get("csp_code") or ""), str(spec["csp_name"])
            if code in self.frame or normalise_csp_name(name) in frame_names:
                raise ReconstructionError(f"the unknown CSP {code!r} {name!r} matches the frame")
            donor = rng.choice([r for r in self.rows if r.outcome == COUNTED and r.status == "Completed"])
            started, ended = self._span(rng, True)
            self.rows.append(
                self._new_row(
                    cases=[f"matches no frame CSP (code {code!r}, name {name!r})"], frame_code=None, csp_code=code,
                    csp_name=name,
                    status="Completed", started=started, ended=ended, person=self._person(rng),
                    answers=copy.deepcopy(donor.answers), blocks=copy.deepcopy(donor.blocks),
                    outcome=QUARANTINED, reason="unknown_csp",
                )
            )

        # Answers the routing did not ask, in counted returns: to be ignored.
        for spec in m.get("routing_violations") or []:
            when = [(str(k), str(v)) for k, v in (spec.get("when") or {}).items()]
            fill = spec.get("fill") or {}
            fill_blocks = {int(b): v for b, v in (spec.get("fill_blocks") or {}).items()}
            row = self._pick(rng, "routing_violations", lambda r: r.status == "Completed" and _holds(when, r.answers))
            asked_blocks = _asked_blocks(self.qn, row.answers)
            for item_id, value in fill.items():
                if _asked(self.qn, item_id, row.answers) or item_id in row.answers:
                    raise ReconstructionError(f"{item_id} is asked of the chosen return: no routing violation")
                row.answers[item_id] = [str(v) for v in value] if isinstance(value, list) else str(value)
            for block_no, block in fill_blocks.items():
                if block_no in asked_blocks or block_no in row.blocks:
                    raise ReconstructionError(f"block {block_no} is asked of the chosen return")
                row.blocks[block_no] = {
                    k: [str(x) for x in v] if isinstance(v, list) else str(v).format(csp=row.csp_name, block=block_no)
                    for k, v in block.items()
                }
            filled = list(fill) + [f"block a{b}" for b in fill_blocks]
            row.cases.append(f"routing violation: {', '.join(filled)} answered when not asked ({_fmt_when(when)})")

        # An exclusive option (`none`) ticked together with another option.
        for spec in m.get("exclusive_with_other") or []:
            question = self.qn.question(spec["question"])
            exclusive = [o.id for o in question.options if o.exclusive]
            if not exclusive:
                raise ReconstructionError(f"{question.id} has no exclusive option")
            option_id = str(spec.get("option", exclusive[0]))
            when = [(str(k), str(v)) for k, v in (spec.get("when") or {}).items()]
            row = self._pick(rng, "exclusive_with_other", lambda r: isinstance(r.answers.get(question.id), list)
                             and option_id not in r.answers[question.id] and _holds(when, r.answers))
            position = {o: i for i, o in enumerate(question.option_ids)}
            row.answers[question.id] = sorted(row.answers[question.id] + [option_id], key=position.__getitem__)
            others = [o for o in row.answers[question.id] if o != option_id]
            row.cases.append(f"{question.id}: exclusive {option_id!r} ticked together with {', '.join(others)}")

    def _fits_variant(self, row: Row, spec: dict) -> bool:
        kind = spec.get("name_variant")
        return not kind or self._name_variant(self.frame[row.frame_code], kind, natural_only=True) is not None

    def _name_variant(self, name: str, kind: str, natural_only: bool = False, strict: bool = False) -> str | None:
        """`name` as a respondent might type it. `strict`: only the usual form of the variant
        (an apostrophe dropped, not added)."""
        if kind not in _NAME_VARIANTS:
            raise ReconstructionError(f"unknown name variant {kind!r}; known: {_NAME_VARIANTS}")
        out = None
        if kind == "case_and_spaces":
            out = "  ".join(name.upper().split(" ")) + " "
        elif kind == "ampersand" and " and " in name:
            out = name.replace(" and ", " & ", 1)
        elif kind == "apostrophe":
            if "'" in name:
                out = name.replace("'", "")
            elif not strict:
                words = name.split(" ")
                for i in range(len(words) - 1, -1, -1):
                    w = words[i]
                    if len(w) >= 4 and w.endswith("s") and w.isalpha():
                        words[i] = w[:-1] + "'s"
                        out = " ".join(words)
                        break
        elif kind == "punctuation" and re.search(r"[-,.]", name):
            out = re.sub(r"\s+", " ", name.replace("-", " ").replace(",", "").replace(".", ""))
        if out is None:
            if natural_only:
                return None
            raise ReconstructionError(f"the name variant {kind!r} does not apply to {name!r}")
        if out == name or normalise_csp_name(out) != normalise_csp_name(name):
            raise ReconstructionError(f"the variant {out!r} of {name!r} is not a variant rule 1 matches")
        return out

    # -- numbering and output ------------------------------------------------------------
    def _number_rows(self) -> None:
        for r in self.rows:
            if not (self.opens <= r.started <= self.closes) or (r.ended and not r.started <= r.ended <= self.closes):
                raise ReconstructionError(f"a row falls outside fieldwork: {r.cases}")
            if (r.status == "Partial") != (r.ended is None):
                raise ReconstructionError(f"a {r.status} row with ended={r.ended}")
        self.rows.sort(key=lambda r: (r.started, r.order))
        ids = self.params.get("response_ids") or {}
        rng = self.rng("response_ids")
        next_id = int(ids.get("first", 1))
        for r in self.rows:
            r.response_id = next_id
            next_id += rng.randint(1, int(ids.get("max_step", 1)))

    def _header(self) -> list[str]:
        header = list(self.qn.expected_columns)
        last = [str(c) for c in self.params.get("columns_last") or []]
        unknown = set(last) - set(header)
        if unknown:
            raise ReconstructionError(f"columns_last names columns the questionnaire does not have: {sorted(unknown)}")
        return [c for c in header if c not in last] + last


def _differs(changes: dict | None) -> str:
    if not changes:
        return ""
    shown = ", ".join(f"{k}={'+'.join(v) if isinstance(v, list) else v}" for k, v in changes.items())
    return f"; answers {shown}"


def _fmt_when(when) -> str:
    return ", ".join(f"{k}={v}" for k, v in when) or "always"


def _parse_datetime(value) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _published_rows(year: int) -> tuple[list[str], list[dict[str, str]]]:
    with PUBLISHED_FIGURES_CSV.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = [r for r in reader if r["survey_year"].strip() == str(year)]
    if not rows:
        raise ReconstructionError(f"published-figures.csv has no figures for {year}")
    return header, rows


# ----------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------
def _cells(qn: Questionnaire, row: Row) -> dict[str, str]:
    single, tick, text = {}, {}, {}
    for c in qn.columns():
        if c.role == "single":
            single[(c.item_id, c.block_no)] = c.name
        elif c.role == "tick":
            tick[(c.item_id, c.block_no, c.option_id)] = (c.name, c.label)
        else:
            text[(c.item_id, c.block_no)] = c.name
    cells: dict[str, str] = {}
    places = [(CSP_LEVEL, row.answers)] + sorted(row.blocks.items())
    for block_no, answers in places:
        for item_id, value in answers.items():
            if isinstance(value, list):
                for option_id in value:
                    name, label = tick[(item_id, block_no, option_id)]
                    cells[name] = label
            elif (item_id, block_no) in single:
                cells[single[(item_id, block_no)]] = qn.question(item_id).option(value).label
            elif (item_id, block_no) in text:
                cells[text[(item_id, block_no)]] = value
            else:
                raise ReconstructionError(f"no export column for {item_id} in block {block_no}")
    return cells


def _vary_label(label: str, form: str) -> str:
    return {
        "lower": label.lower(),
        "upper": label.upper(),
        "pad_left": " " + label,
        "pad_right": label + "  ",
        "pad_both": " " + label + " ",
    }[form]


def export_text(rec: Reconstruction) -> str:
    qn, params = rec.questionnaire, rec.params
    label_columns = {c.name for c in qn.columns() if c.role in ("single", "tick")}
    variation = (params.get("mess") or {}).get("label_variation") or {}
    share = float(variation.get("share", 0))
    forms = [str(f) for f in variation.get("forms", _LABEL_FORMS)]
    rng = random.Random(f"{params['seed']}:label_variation")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(rec.header)
    fmt = qn.timestamp_format
    for r in rec.rows:
        cells = _cells(qn, r)
        for name in sorted(cells):
            if name in label_columns and rng.random() < share:
                cells[name] = _vary_label(cells[name], rng.choice(forms))
        cells.update(r.person)
        cells.update(
            response_id=str(r.response_id),
            started=r.started.strftime(fmt),
            ended=r.ended.strftime(fmt) if r.ended else "",
            status=r.status,
            csp_code=r.csp_code,
            csp_name=r.csp_name,
        )
        unknown = set(cells) - set(rec.header)
        if unknown:
            raise ReconstructionError(f"cells outside the header: {sorted(unknown)}")
        writer.writerow([cells.get(c, "") for c in rec.header])
    return out.getvalue()


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


# ----------------------------------------------------------------------------------------
# Entry points
# ----------------------------------------------------------------------------------------
def reconstruct_year(year: int) -> Reconstruction:
    """Build (without writing) the reconstructed landing data of a survey year."""
    params = load_parameters(year)
    version = params.get("questionnaire")
    qn = load_questionnaire(version) if version else questionnaire_for_year(year)
    return _Builder(int(year), params, qn).build()


def write_reconstructed_year(year: int, out_dir: Path) -> dict:
    """Write survey_export.csv, frame.csv and published.csv for `year` into `out_dir`.

    Returns the row counts written (headers excluded) and the outcome every export row must
    get under the contract's rules.
    """
    rec = reconstruct_year(year)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        EXPORT_FILE: ("utf-8-sig", export_text(rec)),
        FRAME_FILE: ("utf-8", _csv_text(["csp_code", "csp_name"], [[c, n] for c, n in rec.frame.items()])),
        PUBLISHED_FILE: (
            "utf-8",
            _csv_text(rec.published_header, [[r.get(c, "") for c in rec.published_header] for r in rec.published_rows]),
        ),
    }
    for name, (encoding, text) in files.items():
        tmp = out_dir / f".{name}.tmp"
        with tmp.open("w", encoding=encoding, newline="") as fh:
            fh.write(text)
        tmp.replace(out_dir / name)
    return {
        "survey_year": rec.year,
        "survey_export": len(rec.rows),
        "frame": len(rec.frame),
        "published": len(rec.published_rows),
        "outcomes": rec.outcome_counts(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m iom_synthetic.reconstruct",
        description="Write a reconstructed (SYNTHETIC) survey year's landing files.",
    )
    parser.add_argument("--year", type=int, required=True, help="survey year, e.g. 2013")
    parser.add_argument("--out", type=Path, help="landing directory (default: $IOM_DATA_DIR/landing/<year>)")
    parser.add_argument("--manifest", action="store_true", help="also print the rows that are not plain returns")
    args = parser.parse_args(argv)
    out = args.out or landing_dir(args.year)
    try:
        counts = write_reconstructed_year(args.year, out)
    except ReconstructionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"SYNTHETIC survey year {args.year} written to {out}")
    print(f"  {EXPORT_FILE}: {counts['survey_export']} rows ({', '.join(f'{k} {v}' for k, v in counts['outcomes'].items())})")
    print(f"  {FRAME_FILE}: {counts['frame']} CSPs")
    print(f"  {PUBLISHED_FILE}: {counts['published']} figures")
    if args.manifest:
        for entry in reconstruct_year(args.year).manifest():
            print(f"  {entry['response_id']}\t{entry['csp_code']}\t{entry['outcome']}\t{entry['reason'] or ''}\t"
                  f"{' | '.join(entry['cases'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
