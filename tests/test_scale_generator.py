"""The scale generator (iom_synthetic.scale): valid, deterministic, and every awkward case in it.

The generated files are checked with the independent pandas computation (bench/pandas_baseline.py),
which also cross-checks what the generator says it injected.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

import pandas_baseline as pb
from iom_pipeline.questionnaire import load_questionnaire
from iom_synthetic import scale

ROOT = Path(__file__).resolve().parent.parent


QN = load_questionnaire("iom_2013")


def read_export(directory: Path) -> pd.DataFrame:
    return pd.read_csv(directory / "survey_export.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    out = tmp_path_factory.mktemp("scale5k")
    stats = scale.generate(out, 5000, seed=7, chunk_rows=1500)  # several chunks: CSPs straddle them
    export, frame = pb.load(out, 2013)
    outcomes, answers = pb.classify(export, frame, 2013)
    ended = pd.to_datetime(export["ended"], format="%d/%m/%Y %H:%M", errors="coerce")
    started = pd.to_datetime(export["started"], format="%d/%m/%Y %H:%M", errors="coerce")
    return SimpleNamespace(out=out, stats=stats, export=export, frame=frame, outcomes=outcomes, answers=answers,
                           started=started, ended=ended)


# --- shape of the files -------------------------------------------------------------------------


def test_deterministic_for_a_seed(tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        scale.generate(tmp_path / name, 1200, seed=seed, chunk_rows=500)
    for f in ("survey_export.csv", "frame.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert (tmp_path / "a" / "survey_export.csv").read_bytes() != (tmp_path / "c" / "survey_export.csv").read_bytes()


@pytest.mark.parametrize("rows", [1, 19, 500, 1501, 3000])
def test_row_count_is_exact(tmp_path, rows):
    stats = scale.generate(tmp_path, rows, seed=1, chunk_rows=500)
    export = read_export(tmp_path)
    assert len(export) == rows == stats.rows
    assert export["response_id"].is_unique
    assert export["response_id"].str.fullmatch(r"\d+").all()


def test_header_is_the_questionnaires_columns(tmp_path):
    scale.generate(tmp_path / "plain", 300, seed=2)
    raw = (tmp_path / "plain" / "survey_export.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    raw.decode("utf-8")
    header = list(read_export(tmp_path / "plain").columns)
    assert header == QN.expected_columns
    scale.generate(tmp_path / "shuffled", 300, seed=2, shuffle_columns=True)
    shuffled = list(read_export(tmp_path / "shuffled").columns)
    assert set(shuffled) == set(QN.expected_columns) and shuffled != header


def test_frame(tmp_path):
    scale.generate(tmp_path / "small", 100, seed=5)
    scale.generate(tmp_path / "large", 7000, seed=5)
    scale.generate(tmp_path / "fixed", 400, seed=5, csps=50)
    small, large, fixed = (pd.read_csv(tmp_path / d / "frame.csv", dtype=str, keep_default_na=False)
                           for d in ("small", "large", "fixed"))
    assert list(small.columns) == ["csp_code", "csp_name"]
    assert len(small) == 292 and len(large) == 2000 and len(fixed) == 50
    for frame in (small, large):
        assert frame.csp_code.str.fullmatch(r"(E22|W14)\d{6}").all()
        assert frame.csp_code.is_unique
        assert pb.normalise_name(frame.csp_name).is_unique
        assert frame.csp_code.str.startswith("W14").any() and frame.csp_code.str.startswith("E22").any()


def test_spec_reading_agrees_with_the_questionnaire():
    """The baseline copies the questions from the spec by hand; the YAML must say the same."""
    for year, version in ((2013, "iom_2013"), (2011, "iom_2011")):
        qn = load_questionnaire(version)
        assert set(pb.expected_columns(year)) == set(qn.expected_columns)
        spec = pb.spec_for_year(year)
        labels = {}
        for q in spec.questions:
            for block in (spec.blocks if q.unit == "arrangement" else [None]):
                for opt, col in pb.question_columns(spec, q, block).items():
                    labels[col] = dict(q.options)[opt] if opt else sorted(label for _, label in q.options)
        for c in qn.columns():
            if c.role == "tick":
                assert labels[c.name] == c.label, c.name
            elif c.role == "single":
                assert labels[c.name] == sorted(o.label for o in qn.question(c.item_id).options), c.name


# --- every injected case is there, and found ----------------------------------------------------


def test_outcomes_match_what_was_injected(gen):
    tally = gen.outcomes.outcome.value_counts()
    assert tally.sum() == len(gen.export) == 5000
    assert tally["quarantined"] == gen.stats.unknown_csp_rows > 0
    assert (gen.outcomes.reason[gen.outcomes.outcome == "quarantined"] == "unknown_csp").all()
    assert tally["not_analysable"] == gen.stats.q1_unanswered_rows > 0
    assert tally["counted"] == gen.stats.responding_csps
    assert 0.5 < gen.stats.responding_csps / len(gen.frame) < 0.75


def test_resubmissions(gen):
    o, export = gen.outcomes, gen.export
    assert (o.outcome == "superseded").sum() > 1000
    assert set(o.reason[o.outcome == "superseded"]) == {"completed_return_preferred", "later_return_counted"}
    partial = export.status.eq("Partial")
    assert partial.any() and (~partial).any()
    assert export.ended[partial].eq("").all() and export.ended[~partial].ne("").all()
    assert (gen.ended[~partial] >= gen.started[~partial]).all()
    # A CSP with Partial rows only: its latest Partial counts.
    assert (o.outcome.eq("counted") & partial).any()

    eligible = pd.DataFrame({"csp": o.csp_code, "outcome": o.outcome, "completed": ~partial, "started": gen.started,
                             "ended": gen.ended, "id": o.response_id})[o.outcome.isin(["counted", "superseded"])]
    done = eligible[eligible.completed]
    counted = done[done.outcome == "counted"].set_index("csp")
    latest_started = done.groupby("csp").started.max()
    # The latest Completed by `ended` counts even where another Completed row started later.
    assert (counted.started < latest_started[counted.index]).sum() > 0
    # Two Completed rows with the same `ended`: the larger response_id counts.
    same_end = done.merge(counted[["ended", "id"]], left_on="csp", right_index=True, suffixes=("", "_counted"))
    ties = same_end[(same_end.ended == same_end.ended_counted) & (same_end.id != same_end.id_counted)]
    assert len(ties) > 0 and (ties.id < ties.id_counted).all()


def test_unknown_csps_and_matching_by_name(gen):
    o, export = gen.outcomes, gen.export
    frame_codes = set(gen.frame.csp_code)
    unknown = o.reason.eq("unknown_csp")
    assert (unknown & export.csp_code.eq("")).any()
    assert (unknown & export.csp_code.ne("") & ~export.csp_code.isin(frame_codes)).any()
    by_name = o.matched_by.eq("name")
    assert (by_name & export.csp_code.eq("")).sum() > 100
    assert (by_name & export.csp_code.ne("")).sum() > 50  # a code not in the frame, the name found
    frame_name = o.csp_code.map(gen.frame.set_index("csp_code").csp_name)
    typed = export.csp_name[by_name & export.csp_name.ne(frame_name)]
    assert typed.str.contains("&").any()
    assert typed.str.contains("  ").any()
    assert (typed == typed.str.upper()).any() and (typed == typed.str.lower()).any()
    assert typed.str.endswith(".").any()
    assert (frame_name.str.contains("'") & ~export.csp_name.str.contains("'") & by_name).any()


def test_routing_violations(gen):
    e = gen.export

    def has(col):
        return e[col].str.strip().ne("")

    q1 = e.q1_iom_in_place.str.strip().str.lower()
    q3 = e.q3_arrangements.str.strip().str.lower()
    q5 = e.q5_prioritise.str.strip().str.lower()
    assert (q1.eq("no") & has("q2_established")).any()
    assert (q1.eq("yes") & has("q1a_no_iom_plans")).any()
    assert (q3.str.startswith("one") & has("q3a_arrangement_count")).any()
    assert (q5.eq("no") & e.filter(like="q5_type_").apply(lambda s: s.str.strip().ne("")).any(axis=1)).any()
    block2 = e[[c for c in e.columns if c.startswith("a2_")]].apply(lambda s: s.str.strip().ne("")).any(axis=1)
    assert (q3.str.startswith("one") & block2).any()
    block1 = e[[c for c in e.columns if c.startswith("a1_")]].apply(lambda s: s.str.strip().ne("")).any(axis=1)
    assert (q1.eq("no") & block1).any()
    assert gen.stats.routing_violations > 100


def test_none_ticked_with_other_options(gen):
    e = gen.export
    for prefix in ("q4_coloc_", "q6_monitor_", "q7_tool_"):
        cols = [c for c in e.columns if c.startswith(prefix)]
        ticked = e[cols].apply(lambda s: s.str.strip().ne(""))
        others = ticked.drop(columns=prefix + "none").any(axis=1)
        assert (ticked[prefix + "none"] & others).any(), prefix
        assert (ticked[prefix + "none"] & ~others).any(), prefix


def test_arrangement_blocks(gen):
    counted = gen.answers[gen.outcomes.outcome.eq("counted")]
    arrangements = pb.arrangements(pb.SPEC_2013, counted, gen.export[gen.outcomes.outcome.eq("counted")])
    per_csp = arrangements.groupby(level=0).size()
    assert set(per_csp) == {1, 2, 3, 4, 5, 6}
    assert gen.stats.count_mismatch_rows > 0
    # A block can count with no agency ticked (its name only): outside the agency base.
    assert (arrangements.filter(like="agency_").sum(axis=1) == 0).any()


def test_label_variations_and_personal_data(gen):
    e = gen.export
    cells = pd.concat([e[c] for c in QN.answer_column_names if not c.endswith(("_text", "_name"))])
    cells = cells[cells.ne("")]
    labels = {c.label for c in QN.columns() if c.label} | {o.label for q in QN.questions for o in q.options}
    odd = cells[~cells.isin(labels)]
    assert len(odd) > 100
    assert odd.str.strip().str.lower().isin({label.lower() for label in labels}).all()
    assert (odd != odd.str.strip()).any() and (odd == odd.str.upper()).any()
    emails = e.respondent_email[e.respondent_email.ne("")]
    assert emails.str.fullmatch(r"[A-Za-z.]+@example\.org|[a-z]+\d{2}@example\.org").all()
    phones = e.respondent_phone[e.respondent_phone.ne("")]
    assert phones.str.fullmatch(r"(01632 960|07700 900)\d{3}").all()
    assert e.respondent_name.ne("").mean() > 0.9


def test_baseline_cli_runs_on_generated_data(gen, tmp_path):
    assert pb.main(["--landing", str(gen.out), "--year", "2013", "--out", str(tmp_path), "--no-charts"]) == 0
    summary = pd.read_csv(tmp_path / "question_summary.csv", keep_default_na=False, dtype={"option_id": str})
    assert len(summary) == 59
    assert (summary.n <= summary.base_n).all()
    responded = summary[summary.question_id == "response"].iloc[0]
    assert (responded.base_n, responded.n) == (len(gen.frame), gen.stats.responding_csps)


def test_cli(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "iom_synthetic.scale", "--rows", "400", "--out", str(tmp_path), "--seed", "9",
         "--csps", "300"],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )
    assert "400 rows, 300 CSPs" in result.stdout
    assert len(read_export(tmp_path)) == 400


def test_2011_questionnaire(tmp_path):
    scale.generate(tmp_path, 900, seed=11, questionnaire="iom_2011")
    export = read_export(tmp_path)
    assert set(export.columns) == set(load_questionnaire("iom_2011").expected_columns)
    assert export.started.str.fullmatch(r"2011-\d\d-\d\d \d\d:\d\d:\d\d").all()
    frame = pd.read_csv(tmp_path / "frame.csv", dtype=str, keep_default_na=False)
    summary = pb.question_summary(export, frame, 2011)
    assert set(summary.question_id) == {"response", "iom_in_place", "no_iom_plans", "established", "agency"}
    assert summary.loc[summary.option_id == "dont_know", "n"].iloc[0] > 0


def test_response_rate_makes_most_rows_a_different_csp(tmp_path):
    """The bench's load shape: nearly one CSP per row, about 90 % of them responding."""
    stats = scale.generate(tmp_path, 4000, seed=5, csps=4000, response_rate=0.92, chunk_rows=1500)
    assert stats.frame_csps == 4000
    assert 0.85 * 4000 <= stats.responding_csps <= 0.93 * 4000
    export, frame = pb.load(tmp_path, 2013)
    outcomes, _ = pb.classify(export, frame, 2013)
    assert (outcomes["outcome"] == "counted").sum() == stats.responding_csps


def test_response_rate_must_be_a_share(tmp_path):
    with pytest.raises(ValueError):
        scale.generate(tmp_path, 100, response_rate=0)


def test_a_large_export_lands_with_each_row_s_record_number(tmp_path, monkeypatch):
    """The raw copy is written in parallel, so its rows are stored in no particular order: each
    must still carry its own record number (`source_row`), the one a person counts in the file."""
    import csv

    import duckdb

    from iom_pipeline.pipeline import land

    landing = tmp_path / "landing" / "2013"
    scale.generate(landing, 60_000, seed=11)
    monkeypatch.setenv("IOM_DATA_DIR", str(tmp_path))
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    assert land(con, 2013).export_rows == 60_000
    with (landing / "survey_export.csv").open(encoding="utf-8-sig", newline="") as fh:
        records = csv.reader(fh)
        header = next(records)
        in_file = [(number, dict(zip(header, fields))) for number, fields in enumerate(records, start=1)]
    landed = {row[0]: row[1:] for row in con.execute(
        "select source_row, response_id, csp_code, q1_iom_in_place from raw.survey_export_2013").fetchall()}
    assert sorted(landed) == list(range(1, 60_001))
    assert all(landed[n] == (r["response_id"], r["csp_code"] or None, r["q1_iom_in_place"] or None) for n, r in in_file)
    con.close()
