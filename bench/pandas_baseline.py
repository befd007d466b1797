"""The IOM survey figures computed the way an analyst would: one pandas script.

This is an independent implementation of docs/spec/survey-export-format.md. It deliberately
imports nothing from `iom_pipeline` and does not read the questionnaire YAML: the questions,
labels and routing below are copied from the spec by hand, so that agreement between this
script and the pipeline is evidence that both read the spec the same way. It is also the
baseline the pipeline's run time is compared with (bench/), so it is written in ordinary
pandas idiom: read the CSVs, clean, pick the counted rows, count, chart.

    python bench/pandas_baseline.py --landing data/landing --year 2013 --out out/

`--landing` is either the landing root (holding `<year>/survey_export.csv`) or the year's
folder itself. Writes `question_summary.csv` (shaped like `marts.question_summary`),
`submission_outcome.csv` (one row per export row) and one bar chart per question (PNG).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# ---------------------------------------------------------------------------------------------
# The questionnaires, as the spec describes them
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # "single" or "multi"
    unit: str  # "csp" or "arrangement"
    column: str  # single: the column; multi: a template with {option}; blocks: also {block}
    text: str
    options: tuple[tuple[str, str], ...]  # (option id, label), in questionnaire order
    asked_when: tuple[tuple[str, str], ...] = ()  # direct condition: (question id, option id)
    exclusive: str | None = None  # the option that cannot be ticked with others ("none")
    all_of: dict[str, tuple[str, ...]] = field(default_factory=dict)  # derived: all ticked
    min_ticked: dict[str, int] = field(default_factory=dict)  # derived: at least k ticked


@dataclass(frozen=True)
class Spec:
    version: str
    timestamp_format: str
    personal_columns: tuple[str, ...]
    questions: tuple[Question, ...]
    csp_text_columns: tuple[str, ...]
    block_text: tuple[str, ...]  # per-block free-text column templates ({block})
    block_routing: dict[int, tuple[tuple[str, str], ...]]

    def question(self, question_id: str) -> Question:
        return next(q for q in self.questions if q.id == question_id)

    @property
    def blocks(self) -> list[int]:
        return sorted(self.block_routing)


META_COLUMNS = ("response_id", "started", "ended", "status", "csp_code", "csp_name")
YES = (("iom_in_place", "yes"),)

AGENCIES_2011 = (
    ("police", "Police"),
    ("probation", "Probation"),
    ("local_authority", "Local authority"),
    ("drug_alcohol", "Drug and alcohol services"),
    ("housing", "Housing services"),
    ("youth_offending", "Youth offending services"),
    ("prison", "Prison service"),
    ("vcse", "Voluntary, community and social enterprise sector"),
    ("courts", "Courts"),
    ("cps", "Crown Prosecution Service"),
)
AGENCIES_2013 = (*AGENCIES_2011, ("nhs_cb", "NHS Commissioning Board"), ("nhs_lat", "NHS England local area team"), ("other", "Other"))
AGENCIES_2011 = (*AGENCIES_2011, ("other", "Other"))

Q1 = Question("iom_in_place", "single", "csp", "q1_iom_in_place", "Does your CSP have IOM arrangements in place?",
              (("yes", "Yes"), ("no", "No")))

SPEC_2013 = Spec(
    version="iom_2013",
    timestamp_format="%d/%m/%Y %H:%M",
    personal_columns=("respondent_name", "respondent_email", "respondent_phone"),
    questions=(
        Q1,
        Question("no_iom_plans", "single", "csp", "q1a_no_iom_plans", "Are there plans to put IOM in place?",
                 (("planning", "Planning is under way"), ("no_plans", "No current plans")), (("iom_in_place", "no"),)),
        Question("established", "single", "csp", "q2_established", "Are the arrangements fully or partly established?",
                 (("fully", "Fully established"), ("partly", "Partially established")), YES),
        Question("arrangements", "single", "csp", "q3_arrangements", "How many IOM arrangements cover your CSP area?",
                 (("one", "One arrangement covering the whole area"),
                  ("several", "Several arrangements covering different parts of the area")), YES),
        Question("arrangement_count", "single", "csp", "q3a_arrangement_count", "If several, how many?",
                 (("2", "2"), ("3", "3"), ("4_or_more", "4 or more")), (("arrangements", "several"),)),
        Question("colocated", "multi", "csp", "q4_coloc_{option}",
                 "Which agencies are located on the same premises as the police?",
                 (("probation", "Probation"), ("drug_alcohol", "Drug and alcohol services"),
                  ("local_authority", "Local authority"), ("housing", "Housing services"),
                  ("youth_offending", "Youth offending services"), ("other", "Other"),
                  ("none", "No agencies share premises with the police")), YES,
                 exclusive="none", all_of={"all_four": ("probation", "drug_alcohol", "local_authority")}),
        Question("prioritises", "single", "csp", "q5_prioritise", "Does your IOM prioritise specific types of offender?",
                 (("yes", "Yes"), ("no", "No")), YES),
        Question("priority_type", "multi", "csp", "q5_type_{option}", "Which offender types are prioritised?",
                 (("ppo", "Prolific and other Priority Offenders (PPOs)"), ("drug_misusing", "Drug misusing offenders"),
                  ("non_statutory", "Non-statutory offenders"), ("young", "Young offenders"),
                  ("women", "Women offenders"), ("dangerous", "Dangerous offenders"), ("gang", "Gang members"),
                  ("foreign_national", "Foreign national offenders"), ("other", "Other")),
                 (("prioritises", "yes"),), min_ticked={"more_than_one": 2}),
        Question("monitoring", "multi", "csp", "q6_monitor_{option}", "How are outcomes monitored?",
                 (("local_evaluation", "Local evaluation"), ("local_system", "Local management system"),
                  ("idiom", "IDIOM"), ("other", "Other"), ("none", "Outcomes are not formally monitored")), YES,
                 exclusive="none"),
        Question("support_tool", "multi", "csp", "q7_tool_{option}", "Which support tools has your CSP used?",
                 (("key_principles", "IOM Key Principles"), ("kp_self_assessment", "IOM Key Principles self-assessment tool"),
                  ("ppo_self_assessment", "PPO self-assessment tool"), ("other", "Other"), ("none", "None of these")),
                 exclusive="none"),
        Question("agency", "multi", "arrangement", "a{block}_agency_{option}", "Which agencies are involved in the arrangement?",
                 AGENCIES_2013),
        Question("offenders", "single", "arrangement", "a{block}_offenders",
                 "How many offenders did the arrangement deal with in the last year?",
                 (("0_100", "0-100"), ("101_200", "101-200"), ("201_500", "201-500"), ("over_500", "More than 500"))),
    ),
    csp_text_columns=("q5_type_other_text",),
    block_text=("a{block}_name", "a{block}_agency_other_text"),
    block_routing={1: YES, **{k: (("arrangements", "several"),) for k in range(2, 7)}},
)

SPEC_2011 = Spec(
    version="iom_2011",
    timestamp_format="%Y-%m-%d %H:%M:%S",
    personal_columns=("respondent_name", "respondent_email"),
    questions=(
        Q1,
        Question("no_iom_plans", "single", "csp", "q1a_no_iom_plans", "Are there plans to put IOM in place?",
                 (("planning", "Planning to implement"), ("no_plans", "No plans to implement")), (("iom_in_place", "no"),)),
        Question("established", "single", "csp", "q2_established", "Are the arrangements fully or partly established?",
                 (("fully", "Fully established"), ("partly", "Partially established"), ("dont_know", "Don't know")), YES),
        Question("agency", "multi", "arrangement", "a{block}_agency_{option}",
                 "Which agencies are involved in IOM in your area?", AGENCIES_2011),
    ),
    csp_text_columns=(),
    block_text=("a{block}_agency_other_text",),
    block_routing={1: YES},
)


def spec_for_year(year: int) -> Spec:
    if year >= 2013:
        return SPEC_2013
    if year >= 2011:
        return SPEC_2011
    raise ValueError(f"no questionnaire for survey year {year}")


def question_columns(spec: Spec, q: Question, block: int | None = None) -> dict[str, str]:
    """Option id -> column (multi) or {"": column} (single)."""
    if q.kind == "single":
        return {"": q.column.format(block=block)}
    return {opt: q.column.format(block=block, option=opt) for opt, _ in q.options}


def block_columns(spec: Spec, block: int) -> list[str]:
    cols = []
    for q in spec.questions:
        if q.unit == "arrangement":
            cols += question_columns(spec, q, block).values()
    cols += [t.format(block=block) for t in spec.block_text]
    return cols


def answer_columns(spec: Spec) -> list[str]:
    cols = []
    for q in spec.questions:
        for block in (spec.blocks if q.unit == "arrangement" else [None]):
            cols += question_columns(spec, q, block).values()
    cols += spec.csp_text_columns
    for block in spec.blocks:
        cols += [t.format(block=block) for t in spec.block_text]
    return cols


def expected_columns(year: int) -> list[str]:
    spec = spec_for_year(year)
    return [*META_COLUMNS, *spec.personal_columns, *answer_columns(spec)]


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def read_csv_text(path: Path) -> tuple[pd.DataFrame, str]:
    """A CSV as all-text columns: UTF-8 (BOM or not), else Windows-1252, else refused."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding=encoding)
        except UnicodeDecodeError:
            continue
        df.columns = [c.strip() for c in df.columns]
        return df, encoding
    raise ValueError(f"{path}: neither UTF-8 nor Windows-1252 text; re-export it as CSV UTF-8")


def normalise_name(names: pd.Series) -> pd.Series:
    """Rule 1: case folded, & read as and, apostrophes removed, other punctuation a space."""
    return (
        names.str.casefold()
        .str.replace("&", " and ", regex=False)
        .str.replace(r"['\u2019\u2018\u02bc]", "", regex=True)
        .str.replace(r"[^\w\s]|_", " ", regex=True)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
    )


def normalise_label(values: pd.Series) -> pd.Series:
    return values.str.strip().str.lower()


INVALID = "\x00invalid"


def decode_column(values: pd.Series, lookup: dict[str, object]) -> pd.Series:
    """Map each raw cell through `lookup` (normalised label -> value); "" -> NA; others INVALID.

    Done on the column's distinct values, then mapped back: exports repeat a handful of labels.
    """
    distinct = pd.Series(values.unique())
    normalised = normalise_label(distinct)
    decoded = normalised.map(lookup).astype(object)
    decoded[normalised.eq("")] = pd.NA
    decoded[decoded.isna() & normalised.ne("")] = INVALID
    return values.map(dict(zip(distinct, decoded)))


# ---------------------------------------------------------------------------------------------
# Which row counts (rules 1 to 3)
# ---------------------------------------------------------------------------------------------


def load(landing: Path, year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    year_dir = landing / str(year) if (landing / str(year) / "survey_export.csv").exists() else landing
    export, _ = read_csv_text(year_dir / "survey_export.csv")
    frame, _ = read_csv_text(year_dir / "frame.csv")
    return export, frame


def decode_answers(export: pd.DataFrame, spec: Spec) -> tuple[pd.DataFrame, pd.Series]:
    """Every answer column decoded: single -> option id, tick -> True; and each row's first invalid cell."""
    decoded = {}
    invalid = pd.Series("", index=export.index)
    for q in spec.questions:
        for block in (spec.blocks if q.unit == "arrangement" else [None]):
            for opt, col in question_columns(spec, q, block).items():
                if q.kind == "single":
                    lookup = {label.strip().lower(): oid for oid, label in q.options}
                else:
                    lookup = {dict(q.options)[opt].strip().lower(): True}
                values = decode_column(export[col], lookup)
                bad = values.eq(INVALID)
                if bad.any():
                    invalid = invalid.mask(bad & invalid.eq(""), col + "=" + export[col].str.slice(0, 60))
                    values = values.mask(bad, pd.NA)
                decoded[col] = values
    return pd.DataFrame(decoded, index=export.index), invalid


def classify(export: pd.DataFrame, frame: pd.DataFrame, year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-row outcome table, and the export's answers decoded (same index)."""
    spec = spec_for_year(year)
    if len(export) == 0:
        raise ValueError("the export has no submission rows")
    missing = [c for c in expected_columns(year) if c not in export.columns]
    if missing:
        raise ValueError(f"the export lacks column(s): {', '.join(missing[:10])}")
    for col in ("csp_code", "csp_name"):
        if col not in frame.columns:
            raise ValueError(f"the frame lacks column {col}")
    response_id = pd.to_numeric(export["response_id"].str.strip(), errors="coerce")
    if response_id.isna().any() or (response_id % 1 != 0).any():
        raise ValueError("response_id must be an integer on every row")
    response_id = response_id.astype("int64")
    if response_id.duplicated().any():
        raise ValueError(f"response_id {response_id[response_id.duplicated()].iloc[0]} appears more than once")

    # Rule 1: match by code, else by normalised name.
    frame_code = frame["csp_code"].str.strip().str.upper()
    frame_key = normalise_name(frame["csp_name"])
    by_name = pd.Series(frame_code.values, index=frame_key.values)
    by_name = by_name[~by_name.index.duplicated(keep=False)]  # a name two CSPs share identifies neither
    code = export["csp_code"].str.strip().str.upper()
    matched = code.where(code.isin(set(frame_code)))
    matched_by = pd.Series(np.where(matched.notna(), "code", None), index=export.index, dtype=object)
    need_name = matched.isna()
    if need_name.any():
        via_name = normalise_name(export.loc[need_name, "csp_name"]).map(by_name)
        matched.loc[need_name] = via_name
        matched_by.loc[need_name & matched.notna()] = "name"

    # Timestamps and status.
    started = pd.to_datetime(export["started"].str.strip(), format=spec.timestamp_format, errors="coerce")
    ended_text = export["ended"].str.strip()
    ended = pd.to_datetime(ended_text, format=spec.timestamp_format, errors="coerce")
    status = export["status"].str.strip().str.lower()
    completed = status.eq("completed")
    bad_time = started.isna() | (ended.isna() & ended_text.ne("")) | (completed & ended.isna())

    answers, invalid = decode_answers(export, spec)
    invalid = invalid.mask(invalid.eq("") & ~status.isin(["completed", "partial"]), "status=" + export["status"])

    outcome = pd.Series("counted", index=export.index, dtype=object)
    reason = pd.Series(None, index=export.index, dtype=object)
    rules = [
        (matched.isna(), "quarantined", "unknown_csp"),
        (bad_time, "quarantined", "invalid_timestamp"),
        (invalid.ne(""), "quarantined", "invalid_value"),
        (answers[Q1.column].isna(), "not_analysable", "screening_question_unanswered"),
    ]
    decided = pd.Series(False, index=export.index)
    for mask, out, why in rules:
        hit = mask & ~decided
        outcome[hit] = out
        reason[hit] = why
        decided |= hit

    # Rule 2: latest Completed by ended, else latest Partial by started; ties -> larger response_id.
    eligible = pd.DataFrame({
        "csp": matched, "completed": completed, "when": ended.where(completed, started), "response_id": response_id,
    })[~decided]
    eligible = eligible.sort_values(["csp", "completed", "when", "response_id"])
    winners = eligible.groupby("csp", sort=False).tail(1)
    winner_of = pd.Series(winners.index, index=winners["csp"])  # csp -> row label of counted row
    losers = eligible.index.difference(winners.index)
    outcome[losers] = "superseded"
    winner_completed = eligible.loc[losers, "csp"].map(winners.set_index("csp")["completed"])
    reason[losers] = np.where(winner_completed & ~eligible.loc[losers, "completed"],
                              "completed_return_preferred", "later_return_counted")
    superseded_by = pd.Series(pd.NA, index=export.index, dtype="Int64")
    superseded_by[losers] = response_id.loc[winner_of[eligible.loc[losers, "csp"]].values].values

    outcomes = pd.DataFrame({
        "response_id": response_id,
        "csp_code": matched,
        "outcome": outcome,
        "reason": reason,
        "matched_by": matched_by,
        "status": status,
        "superseded_by": superseded_by,
        "detail": invalid.replace("", None),
    })
    return outcomes, answers


def submission_outcomes(export: pd.DataFrame, frame: pd.DataFrame, year: int) -> pd.DataFrame:
    """One row per export row: response_id, csp_code (matched frame CSP), outcome, reason, ..."""
    return classify(export, frame, year)[0]


# ---------------------------------------------------------------------------------------------
# The figures (rules 4 to 6, and the bases)
# ---------------------------------------------------------------------------------------------


def asked_mask(spec: Spec, answers: pd.DataFrame, conditions) -> pd.Series:
    """Routing with chains followed: every condition up the chain holds on the raw answers."""
    mask = pd.Series(True, index=answers.index)
    pending = list(conditions)
    seen = set()
    while pending:
        qid, opt = pending.pop()
        if (qid, opt) in seen:
            continue
        seen.add((qid, opt))
        q = spec.question(qid)
        mask &= answers[q.column].eq(opt).fillna(False).astype(bool)
        pending.extend(q.asked_when)
    return mask


def ticks_frame(spec: Spec, q: Question, answers: pd.DataFrame, block: int | None = None) -> pd.DataFrame:
    cols = question_columns(spec, q, block)
    ticks = pd.DataFrame({opt: answers[col].eq(True).fillna(False).astype(bool) for opt, col in cols.items()})
    if q.exclusive:
        others = ticks.drop(columns=q.exclusive).any(axis=1)
        ticks.loc[others, q.exclusive] = False  # rule 5: `none` with another option is dropped
    return ticks


def multi_counts(q: Question, ticks: pd.DataFrame) -> tuple[int, dict[str, int]]:
    answered = ticks.any(axis=1)
    base = ticks[answered]
    counts = {opt: int(base[opt].sum()) for opt, _ in q.options}
    for derived, needed in q.all_of.items():
        counts[derived] = int(base[list(needed)].all(axis=1).sum())
    for derived, k in q.min_ticked.items():
        counts[derived] = int((base.sum(axis=1) >= k).sum())
    return int(answered.sum()), counts


def single_counts(q: Question, values: pd.Series) -> tuple[int, dict[str, int]]:
    answered = values.dropna()
    tally = answered.value_counts()
    return len(answered), {opt: int(tally.get(opt, 0)) for opt, _ in q.options}


def arrangements(spec: Spec, counted: pd.DataFrame, export_counted: pd.DataFrame) -> pd.DataFrame:
    """One row per arrangement block that counts (rule 6): asked by the routing and not empty."""
    parts = []
    for block in spec.blocks:
        asked = asked_mask(spec, counted, spec.block_routing[block])
        cells = export_counted[block_columns(spec, block)]
        filled = cells.apply(lambda s: s.str.strip().ne("")).any(axis=1)
        rows = counted[asked & filled]
        if rows.empty:
            continue
        part = pd.DataFrame(index=rows.index)
        part["arrangement_no"] = block
        for q in spec.questions:
            if q.unit != "arrangement":
                continue
            if q.kind == "single":
                part[q.id] = rows[q.column.format(block=block)]
            else:
                ticks = ticks_frame(spec, q, rows, block)
                for opt in ticks.columns:
                    part[f"{q.id}_{opt}"] = ticks[opt]
        parts.append(part)
    return pd.concat(parts) if parts else pd.DataFrame()


def question_summary(export: pd.DataFrame, frame: pd.DataFrame, year: int, classified=None) -> pd.DataFrame:
    """Shaped like marts.question_summary: one row per (question, option), zero counts included.

    `classified` is `classify()`'s result when the caller already has it.
    """
    spec = spec_for_year(year)
    outcomes, answers = classified if classified is not None else classify(export, frame, year)
    is_counted = outcomes["outcome"].eq("counted")
    counted = answers[is_counted]
    rows = [("response", "responded", "csp", len(frame), int(is_counted.sum()))]

    for q in spec.questions:
        if q.unit != "csp":
            continue
        asked = asked_mask(spec, counted, q.asked_when)
        if q.kind == "single":
            base, counts = single_counts(q, counted.loc[asked, q.column])
        else:
            base, counts = multi_counts(q, ticks_frame(spec, q, counted[asked]))
        rows += [(q.id, opt, "csp", base, n) for opt, n in counts.items()]

    arr = arrangements(spec, counted, export[is_counted])
    for q in spec.questions:
        if q.unit != "arrangement":
            continue
        if q.kind == "single":
            base, counts = single_counts(q, arr[q.id] if len(arr) else pd.Series(dtype=object))
        else:
            ticks = arr[[f"{q.id}_{o}" for o, _ in q.options]] if len(arr) else pd.DataFrame(
                columns=[f"{q.id}_{o}" for o, _ in q.options], dtype=bool)
            ticks.columns = [o for o, _ in q.options]
            base, counts = multi_counts(q, ticks)
        rows += [(q.id, opt, "arrangement", base, n) for opt, n in counts.items()]

    summary = pd.DataFrame(rows, columns=["question_id", "option_id", "unit", "base_n", "n"])
    summary.insert(0, "survey_year", int(year))
    summary["pct"] = np.where(summary["base_n"] > 0, 100 * summary["n"] / summary["base_n"].where(summary["base_n"] > 0), np.nan)
    summary["pct_rounded"] = pd.array(
        [round_half_up(n, b) for n, b in zip(summary["n"], summary["base_n"])], dtype="Int64"
    )
    return summary


def round_half_up(n: int, base: int) -> int | None:
    """The whole percentage of n / base, halves rounded up (2.5 -> 3), in exact integer arithmetic."""
    if base <= 0:
        return None
    return (200 * n + base) // (2 * base)


# ---------------------------------------------------------------------------------------------
# Charts, as an analyst would draw them
# ---------------------------------------------------------------------------------------------


def draw_charts(summary: pd.DataFrame, year: int, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = spec_for_year(year)
    labels = {("response", "responded"): "Responded"}
    titles = {"response": "Response rate"}
    for q in spec.questions:
        titles[q.id] = q.text
        labels.update({(q.id, o): lab for o, lab in q.options})
        labels.update({(q.id, d): d.replace("_", " ").capitalize() for d in [*q.all_of, *q.min_ticked]})
    paths = []
    for qid, part in summary.groupby("question_id", sort=False):
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(part) + 1.6))
        names = [labels.get((qid, o), o) for o in part["option_id"]]
        ax.barh(names[::-1], part["pct"].fillna(0).values[::-1], color="#12436D")
        for y, (p, r) in enumerate(zip(part["pct"].values[::-1], part["pct_rounded"].values[::-1])):
            ax.text((0 if math.isnan(p) else p) + 1, y, "n/a" if pd.isna(r) else f"{r}%", va="center", fontsize=8)
        ax.set_xlim(0, 110)
        ax.set_xlabel("Per cent")
        base = part["base_n"].iloc[0]
        ax.set_title(f"{titles.get(qid, qid)}\n({year}; base: {base} {part['unit'].iloc[0]}s)", fontsize=10)
        fig.tight_layout()
        path = out / f"{qid}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landing", type=Path, required=True, help="landing root, or the year's landing folder")
    parser.add_argument("--year", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    export, frame = load(args.landing, args.year)
    outcomes, answers = classify(export, frame, args.year)
    summary = question_summary(export, frame, args.year, (outcomes, answers))
    args.out.mkdir(parents=True, exist_ok=True)
    summary.to_csv(args.out / "question_summary.csv", index=False)
    outcomes.to_csv(args.out / "submission_outcome.csv", index=False)
    charts = [] if args.no_charts else draw_charts(summary, args.year, args.out)
    tally = outcomes["outcome"].value_counts()
    print(
        f"{len(export)} rows: " + ", ".join(f"{k} {tally.get(k, 0)}" for k in ("counted", "superseded", "not_analysable", "quarantined"))
        + f"; {len(summary)} figures, {len(charts)} charts in {time.perf_counter() - t0:.2f}s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
