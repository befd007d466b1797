"""A synthetic survey export and frame of any size, for load tests and benchmarks.

    python -m iom_synthetic.scale --rows 1000000 --out data/landing/2013 [--seed 0] [--csps M] [--response-rate R]

Writes `survey_export.csv` (UTF-8 with a byte-order mark, CRLF lines, RFC 4180 quoting) and
`frame.csv` (`csp_code,csp_name`) following docs/spec/survey-export-format.md. Column names,
labels, routing and arrangement blocks come from the questionnaire YAML, so the file is a valid
export of that questionnaire (2013 by default). Every awkward case the spec describes is in it,
at rates that survive at a few thousand rows:

- resubmissions: several rows per CSP, Completed and Partial; Partial rows have no `ended`;
  Completed rows that finish late after starting early (the latest `ended` counts, not the
  latest `started`); two Completed rows with the same `ended` (the larger response_id counts);
  CSPs with Partial rows only;
- rows for unknown CSPs (a code not in the frame, or none, and a name matching no CSP);
- rows matched by name only (empty or wrong code; the name in another case or spacing, `&` for
  `and`, apostrophes dropped, hyphens as spaces, a trailing full stop);
- rows that leave the screening question (q1) unanswered;
- routing violations (answers to questions that were not asked, blocks filled beyond q3);
- `none` ticked with other options; arrangement counts that disagree with q3a;
- 1 to 6 arrangement blocks according to q3 / q3a; labels in other cases and padded with spaces;
- fake personal data (names, example.org addresses, Ofcom drama-range phone numbers).

Rows are generated and written in chunks (vectorised with numpy, written by polars), so memory
does not grow with `--rows`. The output is deterministic for (seed, rows, csps, response rate,
chunk size).

By default the frame has one CSP per 3.5 rows and 63 % of them respond (the 2013 survey's shape),
so most rows are resubmissions. A load test of the per-return models wants the opposite: with
`--csps 1000000 --response-rate 0.92`, a 1M-row export has about 900,000 responding CSPs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import unicodedata
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from iom_pipeline.questionnaire import CSP_LEVEL, Question, Questionnaire, load_questionnaire

CHUNK_ROWS = 50_000
ROWS_PER_CSP = 3.5  # default frame size: one CSP per this many export rows
MIN_FRAME = 292  # the 2013 frame
MAX_FRAME = 1_000_000  # codes are E22 / W14 + six digits
RESPONSE_RATE = 184 / 292  # share of frame CSPs that send anything (the 2013 report)
UNKNOWN_SHARE = 0.012  # rows for a CSP that is not in the frame
WELSH_SHARE = 21 / 314

# How often each awkward case is injected (per row unless stated).
P_EMPTY_CODE = 0.07  # name-only match, code left empty
P_WRONG_CODE = 0.03  # name-only match, code not in the frame
P_NAME_VARIANT_WITH_CODE = 0.15  # matched by code, name typed differently
P_PARTIAL_EARLY = 0.35  # status of a CSP's earlier rows
P_PARTIAL_LAST = 0.12  # status of a CSP's last row
P_PARTIAL_ONLY_CSP = 0.05  # per CSP: no Completed row at all
P_TIE_CSP = 0.04  # per CSP: its last two rows are Completed with the same `ended`
P_LONG_SESSION = 0.08  # Completed rows left open for days (ended after a later row's)
P_Q1_BLANK_COMPLETED = 0.01
P_SKIP = 0.02  # an asked question left unanswered
P_ROUTING_VIOLATION = 0.03  # per question: answered although not asked
P_EXCLUSIVE_WITH_OTHER = 0.04  # `none` ticked as well as other options
P_COUNT_MISMATCH = 0.04  # blocks returned differ from the count declared at q3/q3a
P_LABEL_VARIANT = 0.06  # a label in another case or padded with spaces
P_PERSONAL_BLANK = 0.05

SURVEY_WINDOW_DAYS = 56  # the survey was open for eight weeks from the first Monday of June

SINGLE_P: dict[str, dict[str, float]] = {
    "iom_in_place": {"yes": 0.97, "no": 0.03},
    "no_iom_plans": {"planning": 0.35, "no_plans": 0.65},
    "established": {"fully": 0.79, "partly": 0.21, "dont_know": 0.04},
    "arrangements": {"one": 0.86, "several": 0.14},
    "arrangement_count": {"2": 0.36, "3": 0.32, "4_or_more": 0.32},
    "prioritises": {"yes": 0.85, "no": 0.15},
    "offenders": {"0_100": 0.45, "101_200": 0.3, "201_500": 0.18, "over_500": 0.07},
}
TICK_P: dict[str, dict[str, float]] = {
    "colocated": {"probation": 0.72, "drug_alcohol": 0.55, "local_authority": 0.5, "housing": 0.3,
                  "youth_offending": 0.35, "other": 0.2},
    "priority_type": {"ppo": 0.92, "drug_misusing": 0.62, "non_statutory": 0.5, "young": 0.33, "women": 0.25,
                      "dangerous": 0.2, "gang": 0.22, "foreign_national": 0.08, "other": 0.22},
    "monitoring": {"local_evaluation": 0.5, "local_system": 0.6, "idiom": 0.45, "other": 0.15},
    "support_tool": {"key_principles": 0.75, "kp_self_assessment": 0.45, "ppo_self_assessment": 0.35, "other": 0.08},
    "agency": {"police": 0.96, "probation": 0.96, "local_authority": 0.88, "drug_alcohol": 0.86, "housing": 0.8,
               "youth_offending": 0.77, "prison": 0.66, "vcse": 0.5, "courts": 0.2, "cps": 0.15, "nhs_cb": 0.1,
               "nhs_lat": 0.12, "other": 0.25},
}
P_EXCLUSIVE_ALONE = 0.7  # an asked multi-select with nothing else ticked: `none` ticked

# --- words for names and free text ----------------------------------------------------------
_STEMS = (
    "Ash Barn Bel Black Brad Bram Brook Burn Cal Carl Chester Clay Cold Corn Crow Dun Elm Fair Fern Glen Gold "
    "Green Hal Ham Hart Hay High Holm Kings Lang Lin Long Mar Mel Mill Moor New Oak Old Red Rich Ros Rother Sand "
    "Sel Shep Stan Stock Stone Sud Thorn Wake Wal Water Wel Whit Wick Wil Win Wood Wor Ayles Bex Cran Dor Eves "
    "Frod Gains Hather Ips Kettle Lud Mal Nor Ox Pet Ruth Sher Tad Ux Ver Yar"
).split()
_ENDINGS = (
    "bury by caster cester don field ford gate ham hampton ley mouth port stead stow ton well wich worth wood "
    "bridge brook combe dale hurst minster moor sey thorpe wick"
).split()
_WELSH_STEMS = "Aber Llan Pen Caer Pont Bryn Cwm Tre Rhos Maes Abert Llanf Cefn Porth".split()
_WELSH_ENDINGS = "dâr gwyn ffordd teg fach mawr wen coed môn dulais nant afon".split()
_RIVERS = "Tees Trent Severn Avon Wye Ouse Tyne Tamar Exe Dee Soar Tame Lune Wear".split()
_POSSESSIVES = "Bishop King Queen Abbot Monk Earl Canon Castle Shepherd".split()
_AREA_WORDS = ("North", "South", "East", "West", "Central", "City of", "Vale of", "Mid")
_FIRST = (
    "Aisha Alan Amanda Andrew Anita Ben Bronwen Carol Chloe Chris Claire Daniel David Deborah Dylan Emma Fatima "
    "Gareth Hannah Ian Imran James Jane Joanne John Karen Kevin Laura Lee Lisa Mark Martin Mary Michelle Mohammed "
    "Nia Nicola Paul Priya Rachel Rhys Richard Sally Sam Sarah Simon Siobhan Stephen Susan Tom Wendy Zoe Siân Zoë"
).split()
_LAST = (
    "Ahmed Ali Baker Bell Brown Campbell Clarke Cooper Davies Edwards Evans Green Griffiths Hall Harris Hughes "
    "Jackson James Jones Khan Lewis Martin Morgan Morris O'Brien O'Neill Owen Patel Phillips Price Roberts Robinson "
    "Shah Smith Taylor Thomas Thompson Turner Walker Ward Watson White Williams Wilson Wood Wright Young Ní-Bhriain"
).split()
_UNKNOWN_NAMES = (
    "Test submission", "TEST", "Home Office test", "n/a", "Not sure", "Training account", "Safer Northshire Partnership",
    "Southland Community Safety Partnership", "Police HQ", "see email", "Probation Trust", "x", "County-wide",
    "Reducing Reoffending Board", "Youth Offending Service", "?",
)
_PRIORITY_OTHER = (
    "Burglary offenders", "Violent offenders", "Domestic abuse perpetrators", "Offenders released from short sentences",
    "Acquisitive crime, incl. vehicle crime", 'Those scored "high" on OGRS', "- see above", "Veterans",
    "Sex offenders (with MAPPA)", "Café-culture night-time economy offenders",
)
_AGENCY_OTHER = (
    "Fire and rescue service", "Jobcentre Plus", "Mentoring charity, local", '"Turning Point"', "Mental health trust",
    "Department for Work and Pensions", "Registered social landlords", "=see notes", "Education, training and employment",
)
_ARRANGEMENT_NAMES = (
    "Whole area", "North locality", "South locality", "East division", "West division", "City centre", "County IOM team",
    "Town hub", "Rural area", "Joint IOM unit", "Locality 1", "Locality 2", "Pan-county scheme",
)
_APOSTROPHE = re.compile(r"['\u2019\u2018\u02bc]")
_PUNCT = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")


def _ascii_local(name: str) -> str:
    """A name as the local part of an e-mail address: accents and punctuation dropped."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", plain.lower())


def window_start(survey_year: int) -> int:
    """09:00 on the first Monday of June of the survey year, in epoch seconds."""
    june = dt.datetime(survey_year, 6, 1, 9, 0, tzinfo=dt.timezone.utc)
    return int((june + dt.timedelta(days=(7 - june.weekday()) % 7)).timestamp())


def normalise_name(name: str) -> str:
    """Rule 1's name normalisation (used here only to keep frame names distinct)."""
    name = name.casefold().replace("&", " and ")
    return _SPACES.sub(" ", _PUNCT.sub(" ", _APOSTROPHE.sub("", name))).strip()


# ---------------------------------------------------------------------------------------------
# The frame
# ---------------------------------------------------------------------------------------------


@dataclass
class Frame:
    codes: np.ndarray  # object array of str
    names: np.ndarray
    spare_codes: list[str]  # codes of the right form that are not in the frame
    keys: set[str]  # normalised names


def _towns(stems, endings) -> list[str]:
    return sorted({s + e for s in stems for e in endings})


def build_frame(n: int, rng: np.random.Generator) -> Frame:
    if not 1 <= n <= MAX_FRAME:
        raise ValueError(f"the frame must hold 1 to {MAX_FRAME} CSPs, not {n}")
    n_welsh = max(1, round(n * WELSH_SHARE)) if n > 1 else 0
    n_english = n - n_welsh
    spare = 400
    english_numbers = rng.permutation(1_000_000)[: n_english + spare]
    welsh_numbers = rng.permutation(1_000_000)[: n_welsh + spare]
    codes = [f"E22{x:06d}" for x in english_numbers[:n_english]] + [f"W14{x:06d}" for x in welsh_numbers[:n_welsh]]
    spare_codes = [f"E22{x:06d}" for x in english_numbers[n_english:]] + [f"W14{x:06d}" for x in welsh_numbers[n_welsh:]]

    english, welsh = _towns(_STEMS, _ENDINGS), _towns(_WELSH_STEMS, _WELSH_ENDINGS)
    none = pl.DataFrame(schema={"name": pl.String, "key": pl.String})
    english_names = _distinct_names(n_english, english, rng, none)
    names = pl.concat([english_names, _distinct_names(n_welsh, welsh, rng, english_names)])
    if names["key"].n_unique() != len(names):
        raise RuntimeError("frame names are not distinct after normalisation")
    return Frame(np.array(codes, dtype=object), np.array(names["name"].to_list(), dtype=object), spare_codes,
                 set(names["key"].to_list()))


def _normalise_expr(name: pl.Expr) -> pl.Expr:
    """Rule 1's name normalisation, as a polars expression."""
    return (
        name.str.to_lowercase()
        .str.replace_all("&", " and ", literal=True)
        .str.replace_all(r"['\u2019\u2018\u02bc]", "")
        .str.replace_all(r"[^\w\s]|_", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def _distinct_names(count: int, towns: list[str], rng: np.random.Generator, seen: pl.DataFrame) -> pl.DataFrame:
    """`count` place names built from `towns`, distinct after normalisation (and from `seen`)."""
    town = pl.Series(towns, dtype=pl.String)
    rivers, possessives, areas = (pl.Series(x, dtype=pl.String) for x in (_RIVERS, _POSSESSIVES, _AREA_WORDS))
    found = seen.clear()
    yield_rate = 1.0
    for _attempt in range(100):
        missing = count - len(found)
        if missing <= 0:
            break
        batch = int(missing / max(yield_rate, 0.02) * 1.2) + 256
        df = pl.DataFrame({
            "a": town.gather(rng.integers(0, len(town), batch)),
            "b": town.gather(rng.integers(0, len(town), batch)),
            "c": town.gather(rng.integers(0, len(town), batch)),
            "r": rivers.gather(rng.integers(0, len(rivers), batch)),
            "p": possessives.gather(rng.integers(0, len(possessives), batch)),
            "w": areas.gather(rng.integers(0, len(areas), batch)),
            "k": rng.random(batch),
        })
        a, b, c, k = pl.col("a"), pl.col("b"), pl.col("c"), pl.col("k")
        name = (
            pl.when(k < 0.30).then(a)
            .when(k < 0.55).then(pl.concat_str(a, pl.lit(" and "), b))
            .when(k < 0.67).then(pl.concat_str(a, pl.lit("-on-"), pl.col("r")))
            .when(k < 0.80).then(pl.concat_str(pl.col("p"), pl.lit("'s "), a))
            .when(k < 0.93).then(pl.concat_str(pl.col("w"), pl.lit(" "), a))
            .otherwise(pl.concat_str(a, pl.lit(", "), b, pl.lit(" and "), c))
        )
        df = df.select(name.alias("name")).with_columns(_normalise_expr(pl.col("name")).alias("key"))
        df = df.filter(pl.col("key").is_first_distinct())
        df = df.join(pl.concat([seen, found]), on="key", how="anti", maintain_order="left")
        yield_rate = max(len(df), 1) / batch
        found = pl.concat([found, df.head(missing)])
    if len(found) < count:
        raise RuntimeError(f"could not find {count} distinct CSP names")
    return found


def write_frame(frame: Frame, path: Path) -> None:
    pl.DataFrame({"csp_code": frame.codes.tolist(), "csp_name": frame.names.tolist()}).write_csv(
        path, line_terminator="\r\n"
    )


# ---------------------------------------------------------------------------------------------
# The plan: which CSP each row belongs to, decided up front at frame size (not row size)
# ---------------------------------------------------------------------------------------------


@dataclass
class Plan:
    group_end: np.ndarray  # cumulative row count at the end of each group
    group_csp: np.ndarray  # frame index, or -1 for a row of an unknown CSP
    group_size: np.ndarray
    base_time: np.ndarray  # per frame CSP: epoch seconds of its first row
    step: np.ndarray  # per frame CSP: seconds between its rows
    tie: np.ndarray  # per frame CSP: last two rows Completed with the same `ended`
    partial_only: np.ndarray


def make_plan(rows: int, n_csps: int, rng: np.random.Generator, window_start: int,
              response_rate: float = RESPONSE_RATE) -> Plan:
    unknown = min(rows, int(round(rows * UNKNOWN_SHARE)) or (1 if rows >= 20 else 0))
    known_rows = rows - unknown
    respondents = min(n_csps, known_rows, max(1, int(round(n_csps * response_rate))) if known_rows else 0)
    responding = np.sort(rng.choice(n_csps, size=respondents, replace=False)) if respondents else np.zeros(0, np.int64)
    sizes = np.zeros(n_csps, dtype=np.int64)
    if respondents:
        weights = rng.gamma(0.9, size=respondents)
        extra = rng.multinomial(known_rows - respondents, weights / weights.sum())
        sizes[responding] = 1 + extra
    group_csp = np.concatenate([responding, np.full(unknown, -1, dtype=np.int64)])
    group_size = np.concatenate([sizes[responding], np.ones(unknown, dtype=np.int64)])
    order = rng.permutation(len(group_csp))
    group_csp, group_size = group_csp[order], group_size[order]
    return Plan(
        group_end=np.cumsum(group_size),
        group_csp=group_csp,
        group_size=group_size,
        base_time=window_start + rng.integers(0, SURVEY_WINDOW_DAYS * 86400 // 2, n_csps),
        step=rng.integers(1800, 4 * 86400, n_csps),
        tie=rng.random(n_csps) < P_TIE_CSP,
        partial_only=rng.random(n_csps) < P_PARTIAL_ONLY_CSP,
    )


# ---------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------


@dataclass
class Stats:
    """What was injected, so a test can check the pipeline found each case."""

    rows: int = 0
    frame_csps: int = 0
    unknown_csp_rows: int = 0
    name_only_rows: int = 0  # empty code, matched by name
    wrong_code_rows: int = 0  # code not in the frame, matched by name
    name_variant_rows: int = 0  # name typed differently from the frame
    partial_rows: int = 0
    q1_unanswered_rows: int = 0  # of known CSPs: not analysable
    tie_csps: int = 0
    routing_violations: int = 0  # cells (or blocks) answered although not asked
    exclusive_with_other: int = 0
    count_mismatch_rows: int = 0
    label_variants: int = 0
    blocks_filled: dict[str, int] = field(default_factory=dict)  # blocks filled -> rows
    responding_csps: int = 0  # frame CSPs with at least one analysable row
    seconds: float = 0.0


class _Labels:
    """Per question: a polars lookup of every label variant, and how to index it."""

    VARIANTS = 6  # exact, UPPER, lower, leading space, trailing spaces, no-break space padded

    def __init__(self, labels: list[str]):
        table = []
        for label in labels:
            table += [label, label.upper(), label.lower(), " " + label, label + "  ", "\u00a0" + label.lower() + " "]
        self.n = len(labels)
        self.null = len(table)
        self.table = pl.Series(table + [None], dtype=pl.String)

    def cells(self, option_idx: np.ndarray, present: np.ndarray, variant: np.ndarray) -> pl.Series:
        idx = np.where(present, option_idx * self.VARIANTS + variant, self.null).astype(np.uint32)
        return self.table.gather(idx)


class Generator:
    def __init__(self, qn: Questionnaire, frame: Frame, plan: Plan, seed: int, survey_year: int):
        self.qn = qn
        self.frame = frame
        self.plan = plan
        self.seed = seed
        self.survey_year = survey_year
        self.stats = Stats(frame_csps=len(frame.codes))
        self.responding = np.zeros(len(frame.codes), dtype=bool)
        self.codes = pl.Series(list(frame.codes) + [None], dtype=pl.String)
        self.names = pl.Series(list(frame.names), dtype=pl.String)
        self.spare_codes = pl.Series(frame.spare_codes, dtype=pl.String)
        unknown = [n for n in _UNKNOWN_NAMES if normalise_name(n) not in frame.keys]
        self.unknown_names = pl.Series(unknown + [""], dtype=pl.String)
        self.labels = {q.id: _Labels([o.label for o in q.options]) for q in qn.questions if q.type == "single"}
        self.ticks = {
            (q.id, o.id): _Labels([o.label]) for q in qn.questions if q.type == "multi" for o in q.options
        }
        # The order a respondent meets the items (a Partial row stops part-way through them).
        self.items = [q.id for q in qn.csp_questions] + [f"block{b}" for b in qn.blocks]
        first = pl.Series(_FIRST, dtype=pl.String)
        last = pl.Series(_LAST, dtype=pl.String)
        self.first, self.last = first, last
        self.first_mail = pl.Series([_ascii_local(x) for x in _FIRST], dtype=pl.String)
        self.last_mail = pl.Series([_ascii_local(x) for x in _LAST], dtype=pl.String)
        self.texts = {
            "priority_type_other_text": pl.Series(_PRIORITY_OTHER),
            "agency_other_text": pl.Series(_AGENCY_OTHER),
            "arrangement_name": pl.Series(_ARRANGEMENT_NAMES),
        }

    # -- helpers ---------------------------------------------------------------------------
    def _variant(self, rng, n: int) -> np.ndarray:
        v = np.where(rng.random(n) < P_LABEL_VARIANT, rng.integers(1, _Labels.VARIANTS, n), 0)
        return v

    def _text(self, item: str, rng, present: np.ndarray) -> pl.Series:
        pool = self.texts[item]
        idx = rng.integers(0, len(pool), len(present))
        return pool.gather(idx).set(pl.Series(~present), None) if (~present).any() else pool.gather(idx)

    # -- one chunk ---------------------------------------------------------------------------
    def chunk(self, index: int, start: int, stop: int, response_id_base: int) -> pl.DataFrame:
        qn, plan, st = self.qn, self.plan, self.stats
        rng = np.random.default_rng([self.seed, index])
        n = stop - start
        pos = np.arange(start, stop)
        g = np.searchsorted(plan.group_end, pos, side="right")
        csp = plan.group_csp[g]
        size = plan.group_size[g]
        rank = pos - (plan.group_end[g] - size)
        known = csp >= 0
        c = np.where(known, csp, 0)
        last = rank == size - 1
        cols: dict[str, pl.Series] = {}

        # Status and timestamps.
        tie = known & plan.tie[c] & (size >= 2) & (rank >= size - 2)
        partial = rng.random(n) < np.where(last, P_PARTIAL_LAST, P_PARTIAL_EARLY)
        partial = np.where(known & plan.partial_only[c], True, partial)
        partial &= ~tie
        started = np.where(
            known,
            plan.base_time[c] + rank * plan.step[c] + rng.integers(0, 1 + plan.step[c] // 2),
            self.window_start + rng.integers(0, SURVEY_WINDOW_DAYS * 86400, n),
        )
        # Long sessions make a row started early end late; a tie CSP's tied rows must be its latest.
        long_session = (rng.random(n) < P_LONG_SESSION) & ~(known & plan.tie[c])
        duration = np.where(long_session, rng.integers(86400, 9 * 86400, n), rng.integers(240, 5400, n))
        ended = np.where(tie, plan.base_time[c] + size * plan.step[c] + 3600, started + duration)
        st.partial_rows += int(partial.sum())
        st.tie_csps += int((tie & last).sum())
        fmt = qn.timestamp_format
        cols["started"] = pl.from_epoch(pl.Series(started), time_unit="s").dt.strftime(fmt)
        cols["ended"] = pl.from_epoch(pl.Series(np.where(partial, 0, ended)), time_unit="s").dt.strftime(fmt)
        cols["ended"] = cols["ended"].set(pl.Series(partial), None) if partial.any() else cols["ended"]
        cols["status"] = pl.Series(np.where(partial, "Partial", "Completed"))

        # Which CSP: code, and the name as typed.
        mode = rng.random(n)
        empty_code = known & (mode < P_EMPTY_CODE)
        wrong_code = known & ~empty_code & (mode < P_EMPTY_CODE + P_WRONG_CODE)
        by_name = empty_code | wrong_code
        code_idx = np.where(known & ~by_name, c, len(self.frame.codes))
        code = self.codes.gather(code_idx.astype(np.uint32))
        spare = self.spare_codes.gather(rng.integers(0, len(self.spare_codes), n).astype(np.uint32))
        unknown_wrong = ~known & (rng.random(n) < 0.5)
        code = pl.select(
            pl.when(pl.Series(wrong_code | unknown_wrong)).then(spare).otherwise(code)
        ).to_series()
        variant_kind = np.where(by_name | (rng.random(n) < P_NAME_VARIANT_WITH_CODE), rng.integers(1, 9, n), 0)
        variant_kind = np.where(known, variant_kind, 0)
        name = self._name_variants(self.names.gather(c.astype(np.uint32)), variant_kind)
        unknown_name = self.unknown_names.gather(rng.integers(0, len(self.unknown_names), n).astype(np.uint32))
        name = pl.select(pl.when(pl.Series(known)).then(name).otherwise(unknown_name)).to_series()
        cols["csp_code"] = code.fill_null("")
        cols["csp_name"] = name
        st.unknown_csp_rows += int((~known).sum())
        st.name_only_rows += int(empty_code.sum())
        st.wrong_code_rows += int(wrong_code.sum())
        st.name_variant_rows += int((variant_kind > 0).sum())

        # Answers: a Partial row stops after `cut` items.
        cut = np.where(partial, rng.integers(0, len(self.items) + 1, n), len(self.items) + 1)
        exported: dict[str, np.ndarray] = {}  # single question -> option index, -1 blank
        for qi, q in enumerate(qn.csp_questions):
            asked = self._asked(q.id, CSP_LEVEL, exported, n)
            reached = cut > qi
            if q.id == qn.screening_question:
                skipped = ~partial & (rng.random(n) < P_Q1_BLANK_COMPLETED)
            else:
                skipped = rng.random(n) < P_SKIP
            violation = ~asked & reached & (rng.random(n) < P_ROUTING_VIOLATION)
            answered = (asked & reached & ~skipped) | violation
            st.routing_violations += int(violation.sum())
            if q.type == "single":
                exported[q.id] = self._single(q, rng, answered, cols)
            else:
                self._multi(q, CSP_LEVEL, rng, answered, cols)
        q1 = exported[qn.screening_question]
        st.q1_unanswered_rows += int((known & (q1 < 0)).sum())
        self.responding[csp[known & (q1 >= 0)]] = True

        for t in qn.free_text:
            if t.unit == "csp":
                present = self._other_ticked(t.id, CSP_LEVEL, cols, n) & (rng.random(n) < 0.8)
                cols[t.column] = self._text(t.id, rng, present)

        self._blocks(rng, n, exported, cut, cols)

        # Personal data.
        fi = rng.integers(0, len(self.first), n).astype(np.uint32)
        li = rng.integers(0, len(self.last), n).astype(np.uint32)
        blank = pl.Series(rng.random(n) < P_PERSONAL_BLANK)
        style = pl.Series(rng.integers(0, 3, n))
        digits = pl.Series(rng.integers(0, 1000, n)).cast(pl.String).str.zfill(3)
        first, last_name = self.first.gather(fi), self.last.gather(li)
        fm, lm = self.first_mail.gather(fi), self.last_mail.gather(li)
        frame = pl.DataFrame({"f": first, "l": last_name, "fm": fm, "lm": lm, "blank": blank, "style": style, "d": digits})
        personal = frame.select(
            respondent_name=pl.when(pl.col("blank")).then(None).otherwise(pl.concat_str("f", pl.lit(" "), "l")),
            respondent_email=pl.when(pl.col("blank")).then(None)
            .when(pl.col("style") == 0).then(pl.concat_str("fm", pl.lit("."), "lm", pl.lit("@example.org")))
            .when(pl.col("style") == 1).then(pl.concat_str(pl.col("fm").str.slice(0, 1), "lm", pl.col("d").str.slice(1), pl.lit("@example.org")))
            .otherwise(pl.concat_str(pl.col("fm").str.to_uppercase().str.slice(0, 1), pl.col("fm").str.slice(1), pl.lit("."),
                                     pl.col("lm").str.to_uppercase().str.slice(0, 1), pl.col("lm").str.slice(1),
                                     pl.lit("@example.org"))),
            respondent_phone=pl.when(pl.col("blank")).then(None)
            .when(pl.col("style") == 1).then(pl.concat_str(pl.lit("07700 900"), "d"))
            .otherwise(pl.concat_str(pl.lit("01632 960"), "d")),
        )
        for col in qn.personal_data_columns:
            cols[col] = personal[col]

        # Shuffle rows within the chunk so a CSP's rows are not side by side; ids in file order.
        perm = rng.permutation(n)
        cols["response_id"] = pl.Series(np.arange(response_id_base, response_id_base + n, dtype=np.int64))
        out = pl.DataFrame([v.alias(k) for k, v in cols.items() if k != "response_id"])
        return out.select(pl.all().gather(perm)).with_columns(cols["response_id"].alias("response_id"))

    # -- pieces ------------------------------------------------------------------------------
    @property
    def window_start(self) -> int:
        return window_start(self.survey_year)

    def _other_ticked(self, text_id: str, block_no: int, cols, n: int) -> np.ndarray:
        """Free text `<question>_other_text` is typed when that question's `other` is ticked."""
        qid = text_id.removesuffix("_other_text")
        try:
            q = self.qn.question(qid)
        except KeyError:
            return np.ones(n, dtype=bool)
        if "other" not in q.option_ids:
            return np.ones(n, dtype=bool)
        return cols[q.column.format(block=block_no, option="other")].is_not_null().to_numpy()

    def _asked(self, item_id: str, block_no: int, exported: dict[str, np.ndarray], n: int) -> np.ndarray:
        asked = np.ones(n, dtype=bool)
        for qid, oid in self.qn.routing_conditions(item_id, block_no):
            q = self.qn.question(qid)
            asked &= exported[qid] == q.option_ids.index(oid)
        return asked

    def _single(self, q: Question, rng, answered: np.ndarray, cols, column: str | None = None) -> np.ndarray:
        n = len(answered)
        probs = np.array([SINGLE_P.get(q.id, {}).get(o.id, 1.0 / len(q.options)) for o in q.options])
        raw = rng.choice(len(q.options), size=n, p=probs / probs.sum())
        variant = self._variant(rng, n)
        self.stats.label_variants += int((answered & (variant > 0)).sum())
        cols[column or q.column] = self.labels[q.id].cells(raw, answered, variant)
        return np.where(answered, raw, -1)

    def _multi(self, q: Question, block_no: int, rng, answered: np.ndarray, cols) -> np.ndarray:
        n = len(answered)
        opts = q.options
        exclusive = [i for i, o in enumerate(opts) if o.exclusive]
        p = np.array([TICK_P.get(q.id, {}).get(o.id, 0.3) for o in opts])
        ticks = rng.random((n, len(opts))) < p
        if exclusive:
            e = exclusive[0]
            others = np.delete(ticks, e, axis=1).any(axis=1)
            alone = ~others & (rng.random(n) < P_EXCLUSIVE_ALONE)
            both = others & (rng.random(n) < P_EXCLUSIVE_WITH_OTHER)
            ticks[:, e] = alone | both
            self.stats.exclusive_with_other += int((both & answered).sum())
        ticks &= answered[:, None]
        for i, o in enumerate(opts):
            variant = self._variant(rng, n)
            self.stats.label_variants += int((ticks[:, i] & (variant > 0)).sum())
            column = q.column.format(block=block_no, option=o.id)
            cols[column] = self.ticks[(q.id, o.id)].cells(np.zeros(n, np.int64), ticks[:, i], variant)
        return ticks

    def _blocks(self, rng, n: int, exported: dict[str, np.ndarray], cut: np.ndarray, cols) -> None:
        qn, st = self.qn, self.stats
        if not qn.blocks:
            return
        yes = exported[qn.screening_question] == qn.question(qn.screening_question).option_ids.index("yes")
        target = np.where(yes, 1, 0)
        if "arrangements" in exported and len(qn.blocks) > 1:
            q3 = qn.question("arrangements")
            several = exported["arrangements"] == q3.option_ids.index("several")
            count = exported.get("arrangement_count", np.full(n, -1))
            declared = np.select(
                [count == 0, count == 1, count == 2], [2, 3, rng.integers(4, len(qn.blocks) + 1, n)],
                default=rng.integers(2, 5, n),
            )
            target = np.where(several & yes, declared, target)
            mismatch = several & yes & (rng.random(n) < P_COUNT_MISMATCH)
            target = np.where(mismatch, np.clip(target + rng.choice([-1, 1], n), 1, len(qn.blocks)), target)
            st.count_mismatch_rows += int(mismatch.sum())
            extra = (target == 1) & (rng.random(n) < P_ROUTING_VIOLATION)  # blocks beyond q3 = one
            target = np.where(extra, rng.integers(2, 4, n), target)
        stray = ~yes & (exported[qn.screening_question] >= 0) & (rng.random(n) < P_ROUTING_VIOLATION)
        target = np.where(stray, 1, target)  # block a1 filled although q1 = No
        first_block_item = len(qn.csp_questions)
        filled_count = np.zeros(n, dtype=np.int64)
        agency = next(q for q in qn.arrangement_questions if q.type == "multi")
        for b in qn.blocks:
            reached = cut > first_block_item + b - 1
            filled = (target >= b) & reached
            asked = self._asked(agency.id, b, exported, n)
            st.routing_violations += int((filled & ~asked).sum())
            filled_count += filled
            agencies_given = filled & (rng.random(n) >= 0.03)
            for q in qn.arrangement_questions:
                if q.type == "multi":
                    self._multi(q, b, rng, agencies_given, cols)
                else:
                    self._single(q, rng, filled & (rng.random(n) >= 0.05), cols, column=q.column.format(block=b))
            for t in qn.free_text:
                if t.unit != "arrangement":
                    continue
                if t.id.endswith("_other_text"):
                    present = self._other_ticked(t.id, b, cols, n) & (rng.random(n) < 0.8)
                else:
                    present = filled & (rng.random(n) < 0.9)
                cols[t.column.format(block=b)] = self._text(t.id, rng, present)
            # A filled block has at least one non-empty cell.
            block_cols = [c.name for c in qn.columns() if c.block_no == b]
            empty = np.ones(n, dtype=bool)
            for col in block_cols:
                empty &= cols[col].is_null().to_numpy()
            fix = filled & empty
            if fix.any():
                name_col = next((c for c in block_cols if c.endswith("_name")), None)
                if name_col is None:
                    police = agency.column.format(block=b, option=agency.options[0].id)
                    cols[police] = cols[police].set(pl.Series(fix), agency.options[0].label)
                else:
                    cols[name_col] = cols[name_col].set(pl.Series(fix), "Whole area")
        for k, v in zip(*np.unique(filled_count, return_counts=True)):
            st.blocks_filled[str(int(k))] = st.blocks_filled.get(str(int(k)), 0) + int(v)

    @staticmethod
    def _name_variants(names: pl.Series, kind: np.ndarray) -> pl.Series:
        """The frame's name as someone might type it: same CSP after rule 1's normalisation."""
        k = pl.Series("k", kind)
        s = pl.col("name")
        expr = (
            pl.when(pl.col("k") == 1).then(s.str.to_uppercase())
            .when(pl.col("k") == 2).then(s.str.to_lowercase())
            .when(pl.col("k") == 3).then(s.str.replace_all(" and ", " & ", literal=True))
            .when(pl.col("k") == 4).then(s.str.replace_all("'", "", literal=True))
            .when(pl.col("k") == 5).then(s.str.replace_all("-", " ", literal=True))
            .when(pl.col("k") == 6).then(s.str.replace_all(" ", "  ", literal=True))
            .when(pl.col("k") == 7).then(pl.concat_str(pl.lit("  "), s, pl.lit(" ")))
            .when(pl.col("k") == 8).then(pl.concat_str(s.str.replace_all(" and ", " & ", literal=True).str.to_lowercase(), pl.lit(".")))
            .otherwise(s)
        )
        return pl.DataFrame({"name": names, "k": k}).select(expr.alias("csp_name")).to_series()


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------


def generate(
    out: Path | str,
    rows: int,
    seed: int = 0,
    csps: int | None = None,
    questionnaire: str = "iom_2013",
    shuffle_columns: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    response_rate: float = RESPONSE_RATE,
) -> Stats:
    """Write `survey_export.csv` and `frame.csv` into `out`; returns what was injected."""
    if rows < 1:
        raise ValueError("an export needs at least one row")
    if not 0 < response_rate <= 1:
        raise ValueError(f"the response rate must be in (0, 1], not {response_rate}")
    t0 = time.perf_counter()
    qn = load_questionnaire(questionnaire)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_csps = csps if csps is not None else min(MAX_FRAME, max(MIN_FRAME, int(round(rows / ROWS_PER_CSP))))
    rng = np.random.default_rng([seed, 2**31])
    frame = build_frame(n_csps, rng)
    write_frame(frame, out / "frame.csv")
    plan = make_plan(rows, n_csps, rng, window_start(qn.first_survey_year), response_rate)
    gen = Generator(qn, frame, plan, seed, qn.first_survey_year)
    columns = list(qn.expected_columns)
    if shuffle_columns:
        columns = [columns[i] for i in rng.permutation(len(columns))]
    response_id_base = 100_000 + int(rng.integers(0, 900_000))
    tmp = out / "survey_export.csv.partial"
    with tmp.open("wb") as fh:
        for index, start in enumerate(range(0, rows, chunk_rows)):
            stop = min(rows, start + chunk_rows)
            chunk = gen.chunk(index, start, stop, response_id_base + start).select(columns)
            chunk.write_csv(fh, include_bom=index == 0, include_header=index == 0, line_terminator="\r\n")
    tmp.replace(out / "survey_export.csv")
    # Generated data says so, as the reconstructed sample does: the report carries the synthetic
    # banner, and no release entry is needed to publish it.
    (out / "SYNTHETIC.txt").write_text(
        "These files are generated by iom_synthetic.scale for load tests. They contain no real survey returns.\n",
        encoding="utf-8",
    )
    gen.stats.rows = rows
    gen.stats.responding_csps = int(gen.responding.sum())
    gen.stats.seconds = round(time.perf_counter() - t0, 3)
    return gen.stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic IOM survey export and frame of any size.")
    parser.add_argument("--rows", type=int, required=True, help="export rows to write")
    parser.add_argument("--out", type=Path, required=True, help="folder for survey_export.csv and frame.csv")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csps", type=int, default=None,
                        help=f"frame size (default: rows / {ROWS_PER_CSP}, at least {MIN_FRAME}, at most {MAX_FRAME})")
    parser.add_argument("--response-rate", type=float, default=RESPONSE_RATE,
                        help=f"share of frame CSPs that send anything (default {RESPONSE_RATE:.3f}, the 2013 survey's)")
    parser.add_argument("--questionnaire", default="iom_2013", help="questionnaire version (default iom_2013)")
    parser.add_argument("--shuffle-columns", action="store_true", help="write the columns in a random order")
    parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help=argparse.SUPPRESS)
    parser.add_argument("--stats", action="store_true", help="print what was injected, as JSON")
    args = parser.parse_args(argv)
    stats = generate(args.out, args.rows, args.seed, args.csps, args.questionnaire, args.shuffle_columns, args.chunk_rows,
                     args.response_rate)
    size = (args.out / "survey_export.csv").stat().st_size
    print(f"{stats.rows} rows, {stats.frame_csps} CSPs, {size / 1e6:.1f} MB in {stats.seconds:.1f}s -> {args.out}")
    if args.stats:
        print(json.dumps(asdict(stats), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
