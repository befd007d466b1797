"""Reader labels: no internal code (a snake_case id, or a code from the marts) reaches a reader,
in any table of either spreadsheet, in the report's text, its tables and alt text, or a figure."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import pandas as pd
import pytest

from iom_pipeline.paths import load_yaml
from iom_pipeline.publication import render_figures, render_report, write_spreadsheets
from iom_pipeline.publication.config import PUBLICATION_ASSETS
from iom_pipeline.publication.data import read_marts_csv
from test_publication_spreadsheets import ods_displayed, xlsx_displayed

FIXTURES = Path(__file__).parent / "fixtures" / "publication"
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
EMAIL = re.compile(r"\S+@\S+")

# Every code the marts may hold, as docs/data-dictionary.md lists them.
OUTCOME_REASONS = [
    ("counted", None),
    ("superseded", "completed_return_preferred"),
    ("superseded", "later_return_counted"),
    ("not_analysable", "screening_question_unanswered"),
    ("quarantined", "unknown_csp"),
    ("quarantined", "ambiguous_csp"),
    ("quarantined", "invalid_value"),
    ("quarantined", "invalid_timestamp"),
]
WARNINGS = ["routing", "exclusive_option_with_other", "arrangement_count_mismatch", "unknown_column"]
UNITS = ["csp", "arrangement"]


def codes_of(marts: dict) -> set[str]:
    """The codes in the marts a careless table could show: those with a letter in them."""
    codes: set[str] = set(UNITS) | set(WARNINGS) | {c for pair in OUTCOME_REASONS for c in pair if c}
    for name, columns in (
        ("question_summary", ("question_id", "option_id", "unit")),
        ("submission_outcome", ("outcome", "reason")),
        ("quality_warning", ("warning",)),
        ("year_comparison", ("question_id", "option_id")),
    ):
        df = marts.get(name)
        if df is not None and len(df):
            for column in columns:
                codes |= {str(v) for v in df[column].dropna()}
    return {c for c in codes if re.search(r"[a-z]", c)}


def codes_in(texts, codes: set[str]) -> list[str]:
    """Reader-facing texts that are an internal code, or contain a snake_case one. Pass an empty
    `codes` for fragments of wrapped text, where a single word may be a line of its own."""
    found = []
    for text in texts:
        text = str(text)
        if text.strip() in codes:
            found.append(text)
        elif SNAKE.search(EMAIL.sub("", text)):
            found.append(text)
    return found


def report_texts(html: str) -> list[str]:
    """The report as readers meet it: its text (tags removed), and its alt text and labels."""
    no_data = re.sub(r'(src|href)="data:[^"]*"', "", html)
    no_style = re.sub(r"<style>.*?</style>", "", no_data, flags=re.S)
    texts = [html_lib.unescape(t).strip() for t in re.split(r"<[^>]+>", no_style)]
    attrs = re.findall(r'\s(?:alt|aria-label|title)="([^"]*)"', no_style)
    return [t for t in texts if t] + [html_lib.unescape(a) for a in attrs]


def svg_texts(svg_path: Path) -> list[str]:
    svg = Path(svg_path).read_text(encoding="utf-8")
    return [html_lib.unescape(t) for t in re.findall(r"<(?:text|title|desc)[^>]*>([^<]+)<", svg)]


def every_code_marts(marts: dict) -> dict:
    """The fixture with one submission of each outcome and reason and one warning of each kind."""
    changed = {k: v.copy() for k, v in marts.items()}
    changed["submission_outcome"] = pd.DataFrame(
        [
            {"survey_year": 2013, "response_id": 5000 + i, "csp_code": "", "outcome": o, "reason": r}
            for i, (o, r) in enumerate(OUTCOME_REASONS)
        ]
    )
    changed["quality_warning"] = pd.DataFrame(
        [
            {"survey_year": 2013, "response_id": 6000 + i, "csp_code": "", "warning": w, "item": "established", "detail": "x"}
            for i, w in enumerate(WARNINGS)
        ]
    )
    return changed


def publish(year: int, marts: dict, out: Path, synthetic: bool = True) -> dict:
    figures = render_figures(year, marts["question_summary"], out, marts.get("year_comparison"))
    report = render_report(year, marts, figures, out / "report.html", synthetic=synthetic)
    files = write_spreadsheets(year, marts, out, synthetic=synthetic)
    return {"figures": figures, "html": report.read_text(encoding="utf-8"), "xlsx": files[0], "ods": files[1]}


@pytest.fixture(scope="module")
def marts():
    return read_marts_csv(FIXTURES)


@pytest.fixture(scope="module", params=["2013", "2011", "2013-every-code"])
def published(request, marts, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    if request.param == "2011":
        year_marts = read_marts_csv(FIXTURES / "2011")
        return year_marts, publish(2011, year_marts, out)
    year_marts = every_code_marts(marts) if request.param.endswith("every-code") else marts
    return year_marts, publish(2013, year_marts, out)


def test_the_detector_finds_codes():
    codes = {"counted", "unknown_csp", "csp"}
    found = codes_in(["Counted", "counted", "CSP not recognised", "Reason: unknown_csp.", "CSPs", "iom_survey@x.gov.uk"], codes)
    assert found == ["counted", "Reason: unknown_csp."]


def test_no_code_in_any_spreadsheet_cell(published):
    marts, result = published
    codes = codes_of(marts)
    for displayed in (xlsx_displayed(result["xlsx"]), ods_displayed(result["ods"])[0]):
        for sheet, rows in displayed.items():
            cells = [c for row in rows for c in row if c]
            assert not codes_in(cells, codes), (sheet, codes_in(cells, codes))


def test_no_code_in_the_report(published):
    marts, result = published
    codes = codes_of(marts)
    texts = report_texts(result["html"])
    assert len(texts) > 100
    assert not codes_in(texts, codes)


def test_no_code_in_a_figure(published):
    marts, result = published
    codes = codes_of(marts)
    for figure in result["figures"]:
        whole = [figure["alt_text"], figure["title"], figure["subtitle"]]
        assert not codes_in(whole, codes), (figure["id"], codes_in(whole, codes))
        lines = svg_texts(figure["svg"])  # wrapped: "arrangements" may be a line of a headline
        assert len(lines) > 10 and not codes_in(lines, set()), (figure["id"], codes_in(lines, set()))


def test_labels_come_from_the_configuration(marts, tmp_path):
    """Each code reads as publication.yaml words it (read here straight from the file)."""
    config = load_yaml(PUBLICATION_ASSETS / "publication.yaml")["labels"]
    result = publish(2013, every_code_marts(marts), tmp_path)
    sheets = xlsx_displayed(result["xlsx"])
    submissions = {c for row in sheets["Submissions"] for c in row}
    warnings = {c for row in sheets["Warnings"] for c in row}
    bases = {c for row in sheets["Bases"] for c in row}
    text = " ".join(report_texts(result["html"]))
    for outcome, reason in OUTCOME_REASONS:
        assert config["outcome"][outcome]["label"] in submissions
        if reason:
            assert config["reason"][reason]["label"] in submissions and config["reason"][reason]["description"] in submissions
            assert config["reason"][reason]["label"] in text
    for warning in WARNINGS:
        assert config["warning"][warning]["label"] in warnings and config["warning"][warning]["label"] in text
    assert {config["unit"]["csp"]["label"], config["unit"]["arrangement"]["label"]} <= bases
    # The codes stay in the CSV, beside the labels, for machines.
    csv_text = (tmp_path / "submissions.csv").read_text(encoding="utf-8")
    assert "ambiguous_csp" in csv_text and config["reason"]["ambiguous_csp"]["label"] in csv_text


def test_a_code_without_a_label_is_made_readable(marts, tmp_path):
    changed = {k: v.copy() for k, v in marts.items()}
    changed["quality_warning"].loc[0, "warning"] = "duplicate_block"
    result = publish(2013, changed, tmp_path)
    warnings = [row for row in xlsx_displayed(result["xlsx"])["Warnings"] if row]
    assert any(row[0] == "Duplicate block" for row in warnings)
    assert not codes_in(report_texts(result["html"]), codes_of(changed))


def test_the_marts_read_as_counts_publish_the_same_tables_and_report_as_whole_rows(marts, tmp_path):
    """The pipeline reads submission_outcome and quality_warning as counts per code (row_count),
    not a million rows each: the tables, the report's numbers and the release gate see the same."""
    from iom_pipeline.publication.data import ROW_COUNT
    from iom_pipeline.publication.release import unlabelled_codes
    from iom_pipeline.publication.tables import build_tables

    counted = dict(marts)
    for name, columns in (("submission_outcome", ["survey_year", "outcome", "reason"]),
                          ("quality_warning", ["survey_year", "warning"])):
        whole = marts[name]
        assert len(whole) > 1
        counted[name] = whole.groupby(columns, dropna=False).size().rename(ROW_COUNT).reset_index()
        assert len(counted[name]) < len(whole)

    def tables(m):
        return {t.id: (t.rows, t.notes) for t in build_tables(2013, m) if t.id in ("submissions", "warnings")}

    assert tables(counted) == tables(marts) and len(tables(marts)) == 2
    assert unlabelled_codes(counted, 2013) == unlabelled_codes(marts, 2013)
    figures = render_figures(2013, marts["question_summary"], tmp_path / "figures", marts.get("year_comparison"))
    whole_html = render_report(2013, marts, figures, tmp_path / "whole.html", synthetic=True).read_text(encoding="utf-8")
    counted_html = render_report(2013, counted, figures, tmp_path / "counted.html", synthetic=True).read_text(encoding="utf-8")
    assert counted_html.replace("counted.html", "") == whole_html.replace("whole.html", "")
