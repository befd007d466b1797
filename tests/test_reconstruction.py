"""The reconstructed (SYNTHETIC) survey years: format, determinism, mess, and every published figure.

`Reference` below is a small, independent reading of docs/spec/survey-export-format.md (rules
1 to 6 and the bases), written against the files only: it does not use the generator's code.
Applied to the generated files, it must reproduce every published figure of the year.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from iom_pipeline.paths import REFERENCE_DIR
from iom_pipeline.questionnaire import CSP_LEVEL, Questionnaire, questionnaire_for_year
from iom_synthetic.reconstruct import write_reconstructed_year

YEARS = (2013, 2011)
FILES = ("survey_export.csv", "frame.csv", "published.csv")
# By hand, from docs/reconstruction.md ("Outcomes, 2013: 195 rows = 184 counted + 7 superseded + 2
# not analysable + 2 quarantined", and 2011's) and assets/published/published-figures.csv: what
# the generated files must hold, whatever the generator reports about itself.
OUTCOMES = {
    2013: {"counted": 184, "superseded": 7, "not_analysable": 2, "quarantined": 2},
    2011: {"counted": 215, "superseded": 4, "not_analysable": 1, "quarantined": 1},
}
EXPORT_ROWS = {2013: 195, 2011: 221}
FRAME_CSPS = {2013: 292, 2011: 314}
PUBLISHED_ROWS = {2013: 47, 2011: 6}
LABEL_PADDING = " \t\r\n\u00a0"


# ----------------------------------------------------------------------------------------
# An independent reading of the contract
# ----------------------------------------------------------------------------------------
def half_up(x: float) -> int:
    return math.floor(x + 0.5)


def norm_name(name: str) -> str:
    s = name.casefold().replace("&", " and ")
    s = re.sub(r"['\u2019]", "", s)
    s = "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in s)
    return " ".join(s.split())


def norm_label(value: str) -> str:
    return value.strip(LABEL_PADDING).lower()


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


@dataclass
class Reference:
    qn: Questionnaire
    frame: dict[str, str]
    rows: list[dict[str, str]]
    outcome: dict[str, str] = field(default_factory=dict)  # response_id -> outcome
    csp_of: dict[str, str | None] = field(default_factory=dict)
    counted: dict[str, dict[str, str]] = field(default_factory=dict)  # csp -> row

    @classmethod
    def from_dir(cls, directory: Path, year: int) -> "Reference":
        _, frame_rows = read_csv(directory / "frame.csv")
        _, rows = read_csv(directory / "survey_export.csv")
        ref = cls(questionnaire_for_year(year), {r["csp_code"]: r["csp_name"] for r in frame_rows}, rows)
        ref.assign()
        return ref

    # rules 1 and 2
    def assign(self) -> None:
        by_name = {norm_name(n): c for c, n in self.frame.items()}
        q1 = self.qn.question(self.qn.screening_question).column
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in self.rows:
            rid = r["response_id"]
            code = r["csp_code"].strip()
            csp = code if code in self.frame else by_name.get(norm_name(r["csp_name"]))
            self.csp_of[rid] = csp
            if csp is None:
                self.outcome[rid] = "quarantined"
            elif not r[q1].strip(LABEL_PADDING):
                self.outcome[rid] = "not_analysable"
            else:
                groups[csp].append(r)
        fmt = self.qn.timestamp_format
        for csp, rs in groups.items():
            done = [r for r in rs if r["status"] == "Completed"]
            if done:
                chosen = max(done, key=lambda r: datetime.strptime(r["ended"], fmt))
            else:
                chosen = max(rs, key=lambda r: datetime.strptime(r["started"], fmt))
            self.counted[csp] = chosen
            for r in rs:
                self.outcome[r["response_id"]] = "counted" if r is chosen else "superseded"

    # decoding a row
    def raw(self, row: dict, question_id: str, block: int = CSP_LEVEL):
        """Single: option id or None; multi: list of ticked option ids."""
        q = self.qn.question(question_id)
        cols = [c for c in self.qn.columns() if c.item_id == question_id and c.block_no == block]
        if q.type == "single":
            value = row[cols[0].name]
            if not value.strip(LABEL_PADDING):
                return None
            return next(o.id for o in q.options if norm_label(o.label) == norm_label(value))
        ticked = []
        for c in cols:
            if row[c.name].strip(LABEL_PADDING):
                assert norm_label(row[c.name]) == norm_label(c.label), (c.name, row[c.name])
                ticked.append(c.option_id)
        return ticked

    def answers(self, row: dict) -> dict:
        """CSP-level answers after routing (rule 4) and the exclusive-option rule (rule 5)."""
        raw = {q.id: self.raw(row, q.id) for q in self.qn.csp_questions}
        kept = {}
        for q in self.qn.csp_questions:
            if all(raw.get(cq) == co for cq, co in self.qn.routing_conditions(q.id)):
                kept[q.id] = self.drop_exclusive(q.id, raw[q.id])
            else:
                kept[q.id] = None
        return kept

    def drop_exclusive(self, question_id: str, value):
        q = self.qn.question(question_id)
        if q.type == "multi" and value and len(value) > 1:
            exclusive = {o.id for o in q.options if o.exclusive}
            value = [v for v in value if v not in exclusive]
        return value

    def arrangements(self, row: dict, answers: dict) -> list[int]:
        """Blocks asked by the routing (chains followed) with a non-empty cell (rule 6)."""
        out = []
        for block in self.qn.blocks:
            conditions = self.qn.block_routing.get(block, ())
            chain = list(conditions) + [c for cq, _ in conditions for c in self.qn.routing_conditions(cq)]
            if not all(answers.get(cq) == co for cq, co in chain):
                continue
            cells = [c.name for c in self.qn.columns() if c.block_no == block]
            if any(row[c].strip(LABEL_PADDING) for c in cells):
                out.append(block)
        return out

    # the bases
    def figures(self) -> dict[tuple[str, str], tuple[int, int]]:
        out: dict[tuple[str, str], tuple[int, int]] = {("response", "responded"): (len(self.counted), len(self.frame))}
        counted = [(r, self.answers(r)) for r in self.counted.values()]
        for q in self.qn.csp_questions:
            answered = [a[q.id] for _, a in counted if a[q.id]]
            self._count(out, q, answered)
        units = []
        for r, a in counted:
            for block in self.arrangements(r, a):
                units.append({q.id: self.drop_exclusive(q.id, self.raw(r, q.id, block))
                              for q in self.qn.arrangement_questions})
        for q in self.qn.arrangement_questions:
            self._count(out, q, [u[q.id] for u in units if u[q.id]])
        return out

    @staticmethod
    def _count(out, q, answered) -> None:
        base = len(answered)
        for o in q.options:
            n = sum((v == o.id) if q.type == "single" else (o.id in v) for v in answered)
            out[(q.id, o.id)] = (n, base)
        for d in q.derived_options:
            if d.all_of:
                n = sum(all(x in v for x in d.all_of) for v in answered)
            else:
                n = sum(len(v) >= d.min_selected for v in answered)
            out[(q.id, d.id)] = (n, base)


# ----------------------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> dict[int, tuple[Path, dict]]:
    out = {}
    for year in YEARS:
        directory = tmp_path_factory.mktemp(f"landing_{year}")
        out[year] = (directory, write_reconstructed_year(year, directory))
    return out


@pytest.fixture(scope="module")
def reference(landing) -> dict[int, Reference]:
    return {year: Reference.from_dir(directory, year) for year, (directory, _) in landing.items()}


# ----------------------------------------------------------------------------------------
# Every published figure
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("year", YEARS)
def test_every_published_figure_is_reproduced(reference, year):
    from iom_pipeline.paths import PUBLISHED_FIGURES_CSV

    # the figures as published (the project's copy, not the file the generator wrote)
    _, published = read_csv(PUBLISHED_FIGURES_CSV)
    published = [p for p in published if p["survey_year"] == str(year)]
    assert len(published) == PUBLISHED_ROWS[year]
    figures = reference[year].figures()
    wrong = []
    for p in published:
        n, base = figures[(p["question_id"], p["option_id"])]
        pct = half_up(100 * n / base) if base else None
        if p["published_pct"] and pct != int(p["published_pct"]):
            wrong.append(f"{p['question_id']}/{p['option_id']}: {n}/{base} = {pct}%, published {p['published_pct']}%")
        if p["published_n"] and n != int(p["published_n"]):
            wrong.append(f"{p['question_id']}/{p['option_id']}: n = {n}, published {p['published_n']}")
    assert not wrong, "\n".join(wrong)


def test_published_file_is_that_years_rows(landing):
    from iom_pipeline.paths import PUBLISHED_FIGURES_CSV

    header, allrows = read_csv(PUBLISHED_FIGURES_CSV)
    for year, (directory, counts) in landing.items():
        h, rows = read_csv(directory / "published.csv")
        assert h == header
        assert rows == [r for r in allrows if r["survey_year"] == str(year)]
        assert len(rows) == PUBLISHED_ROWS[year] == counts["published"]


def test_2011_core_agencies_within_three_points_of_2013(reference):
    f11, f13 = reference[2011].figures(), reference[2013].figures()
    for agency in ("police", "probation", "local_authority", "drug_alcohol"):
        n11, b11 = f11[("agency", agency)]
        n13, b13 = f13[("agency", agency)]
        assert abs(100 * n11 / b11 - 100 * n13 / b13) <= 3, agency


def test_2013_bases_the_report_implies(reference):
    f = reference[2013].figures()
    assert f[("response", "responded")] == (184, 292)
    assert f[("agency", "police")][1] == 225  # Figure 1: IOM arrangements
    assert f[("offenders", "over_500")] == (5, 225)  # Figure 3
    assert f[("arrangement_count", "2")][1] == 22


# ----------------------------------------------------------------------------------------
# Format
# ----------------------------------------------------------------------------------------
def test_two_runs_give_byte_identical_files(landing, tmp_path):
    for year, (directory, _) in landing.items():
        again = tmp_path / str(year)
        write_reconstructed_year(year, again)
        for name in FILES:
            assert (directory / name).read_bytes() == (again / name).read_bytes(), (year, name)


@pytest.mark.parametrize("year", YEARS)
def test_header_is_the_questionnaires_columns(landing, year):
    directory, _ = landing[year]
    header, _ = read_csv(directory / "survey_export.csv")
    assert len(header) == len(set(header))
    assert set(header) == set(questionnaire_for_year(year).expected_columns)


@pytest.mark.parametrize("year", YEARS)
def test_export_is_utf8_with_bom_and_crlf(landing, year):
    directory, _ = landing[year]
    data = (directory / "survey_export.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    data.decode("utf-8")
    assert data.split(b"\n", 1)[0].endswith(b"\r")


def test_frame_2013_is_292_ons_csps(landing):
    directory, counts = landing[2013]
    header, rows = read_csv(directory / "frame.csv")
    assert header == ["csp_code", "csp_name"]
    with (REFERENCE_DIR / "ons_lad17_csp17_pfa17_lookup_EW_jan2017_v2.csv").open(encoding="utf-8-sig") as fh:
        ons = {r["CSP17CD"]: r["CSP17NM"] for r in csv.DictReader(fh)}
    codes = [r["csp_code"] for r in rows]
    assert len(codes) == len(set(codes)) == FRAME_CSPS[2013] == counts["frame"]
    assert all(ons.get(r["csp_code"]) == r["csp_name"] for r in rows)


@pytest.mark.parametrize("year", YEARS)
def test_timestamps_status_and_personal_data(landing, year):
    directory, _ = landing[year]
    qn = questionnaire_for_year(year)
    _, rows = read_csv(directory / "survey_export.csv")
    ids = [r["response_id"] for r in rows]
    assert len(ids) == len(set(ids)) and all(i.isdigit() for i in ids)
    for r in rows:
        datetime.strptime(r["started"], qn.timestamp_format)
        assert r["status"] in ("Completed", "Partial")
        if r["status"] == "Partial":
            assert r["ended"] == ""
        else:
            assert datetime.strptime(r["ended"], qn.timestamp_format) >= datetime.strptime(r["started"], qn.timestamp_format)
        assert re.fullmatch(r"[a-z.]+@example\.(org|com|net)", r["respondent_email"])


def test_2011_format_differs(landing):
    header11, rows11 = read_csv(landing[2011][0] / "survey_export.csv")
    header13, rows13 = read_csv(landing[2013][0] / "survey_export.csv")
    assert "respondent_phone" not in header11 and "respondent_phone" in header13
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r["started"]) for r in rows11)
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", r["started"]) for r in rows13)
    assert not any(c.startswith(("q3", "q4", "q5", "q6", "q7", "a2_")) for c in header11)
    assert "a1_offenders" not in header11 and "a1_name" not in header11
    assert "a1_agency_nhs_cb" not in header11


# ----------------------------------------------------------------------------------------
# The mess
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("year", YEARS)
def test_every_row_has_one_outcome_and_they_add_up(landing, reference, year):
    _, counts = landing[year]
    ref = reference[year]
    got = defaultdict(int)
    for r in ref.rows:
        got[ref.outcome[r["response_id"]]] += 1
    assert dict(got) == OUTCOMES[year]
    assert len(ref.frame) == FRAME_CSPS[year]
    assert sum(got.values()) == EXPORT_ROWS[year] == len(ref.rows)
    # and what the generator reports about itself agrees
    assert {k: v for k, v in counts["outcomes"].items() if v} == OUTCOMES[year]
    assert counts["survey_export"] == EXPORT_ROWS[year] and counts["frame"] == FRAME_CSPS[year]


@pytest.mark.parametrize("year", YEARS)
def test_messy_cases_are_present(reference, year):
    ref = reference[year]
    out, csp_of = ref.outcome, ref.csp_of
    rows_of = defaultdict(list)
    for r in ref.rows:
        if csp_of[r["response_id"]]:
            rows_of[csp_of[r["response_id"]]].append(r)
    counted_ids = {r["response_id"] for r in ref.counted.values()}

    # a partial return later completed
    assert any(
        any(r["status"] == "Partial" and out[r["response_id"]] == "superseded" for r in rs)
        and ref.counted[c]["status"] == "Completed"
        for c, rs in rows_of.items() if c in ref.counted
    )
    # a corrected resubmission: two completed rows with different answers
    assert any(
        len([r for r in rs if r["status"] == "Completed" and out[r["response_id"]] != "not_analysable"]) >= 2
        for rs in rows_of.values()
    )
    # a CSP whose counted row is a partial that answers q1
    assert any(r["status"] == "Partial" for r in ref.counted.values())
    # rows matched by name only (empty code, a name not spelled as the frame spells it)
    by_name = [r for r in ref.rows if r["response_id"] in counted_ids and not r["csp_code"]]
    assert len(by_name) >= 3 and all(r["csp_name"] != ref.frame[csp_of[r["response_id"]]] for r in by_name)
    # a code not in the frame with a matching name
    assert any(r["csp_code"] and r["csp_code"] not in ref.frame and out[r["response_id"]] == "counted" for r in ref.rows)
    # rows matching no frame CSP, and rows that do not answer q1
    assert "quarantined" in out.values() and "not_analysable" in out.values()
    # routing violations in counted rows: an answer in a column the routing did not ask
    violations = 0
    for r in ref.counted.values():
        raw = {q.id: ref.raw(r, q.id) for q in ref.qn.csp_questions}
        for q in ref.qn.csp_questions:
            asked = all(raw.get(cq) == co for cq, co in ref.qn.routing_conditions(q.id))
            violations += bool(raw[q.id]) and not asked
    assert violations >= 2
    # label case/spacing variations
    labels = {c.name: c.label for c in ref.qn.columns() if c.role == "tick"}
    assert any(r[n] and r[n] != lab and norm_label(r[n]) == norm_label(lab) for r in ref.rows for n, lab in labels.items())


def test_2013_specific_mess(reference):
    ref = reference[2013]
    qn = ref.qn
    # an exclusive option ticked with another, in a counted row
    assert any(
        len(v := ref.raw(r, q.id)) > 1 and any(qn.question(q.id).option(o).exclusive for o in v)
        for r in ref.counted.values() for q in qn.csp_questions if q.type == "multi"
    )
    # a block filled that the routing did not ask, and a q3a count that differs from the blocks returned
    unasked_block = mismatch = False
    for r in ref.counted.values():
        a = ref.answers(r)
        returned = ref.arrangements(r, a)
        filled = [b for b in qn.blocks if any(r[c.name].strip() for c in qn.columns() if c.block_no == b)]
        unasked_block |= set(filled) != set(returned)
        declared = a.get("arrangement_count")
        if declared in ("2", "3"):
            mismatch |= len(returned) != int(declared)
    assert unasked_block and mismatch
    # the counted row of a resubmission sorts first as DD/MM text but ended last
    fmt = qn.timestamp_format
    assert any(
        r["status"] == "Completed" and ref.outcome[r["response_id"]] == "superseded"
        and r["ended"] > ref.counted[ref.csp_of[r["response_id"]]]["ended"]
        and datetime.strptime(r["ended"], fmt) < datetime.strptime(ref.counted[ref.csp_of[r["response_id"]]]["ended"], fmt)
        for r in ref.rows
    )
