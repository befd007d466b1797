"""The report: sentences generated from the marts, accessible and self-contained HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from iom_pipeline.publication import render_figures, render_report
from iom_pipeline.publication.data import read_marts_csv

FIXTURES = Path(__file__).parent / "fixtures" / "publication"


@pytest.fixture(scope="module")
def marts():
    return read_marts_csv(FIXTURES)


@pytest.fixture(scope="module")
def built(marts, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    figures = render_figures(2013, marts["question_summary"], out, marts["year_comparison"])
    path = render_report(2013, marts, figures, out / "report.html", synthetic=True)
    return path, path.read_text(encoding="utf-8"), figures


@pytest.fixture(scope="module")
def html(built):
    return built[1]


def text_of(html: str) -> str:
    """The page's text with tags removed and spaces collapsed (sentences are checked whole)."""
    import html as html_lib

    no_data = re.sub(r'src="data:[^"]*"', "", html)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", no_data)).split())


def test_generated_sentences_quote_the_marts(html):
    """Each number by hand from tests/fixtures/publication/question_summary.csv: 184 of the 292
    CSPs responded (63 %); 181 of the 184 have IOM (98 %); of those 181, 143 are fully
    established (79 %) and 38 partly (21 %)."""
    text = text_of(html)
    assert "Of those CSPs that responded, 98 per cent (181 CSPs) said they had IOM arrangements in place." in text
    assert "The survey was sent to 292 CSPs, and 184 returned" in text
    assert "a response rate of 63 per cent" in text
    assert "79 per cent said their arrangements were fully established and 21 per cent" in text
    assert "Police and probation were each involved in 96 per cent of the 225 IOM arrangements" in text
    assert "local authorities (88 per cent), drug and alcohol services (86 per cent) and housing services (80 per cent)" in text
    assert "Five arrangements (2 per cent) dealt with more than 500." in text
    assert "Of these, 93 per cent prioritised more than one type." in text
    assert "Outcomes were not formally monitored in 3 per cent (5 CSPs)." in text
    assert "Of responding CSPs, 72 per cent had used the IOM Key Principles" in text


def test_numbers_in_sentences_match_the_fixture_when_it_changes(marts, tmp_path):
    changed = {k: v.copy() for k, v in marts.items()}
    qs = changed["question_summary"]
    pick = (qs.question_id == "iom_in_place") & (qs.option_id == "yes")
    qs.loc[pick, ["n", "pct_rounded"]] = [170, 92]
    figures = render_figures(2013, qs, tmp_path, None)
    html = render_report(2013, changed, figures, tmp_path / "report.html", synthetic=False).read_text(encoding="utf-8")
    assert "Of those CSPs that responded, 92 per cent (170 CSPs) said they had IOM arrangements in place." in text_of(html)


def test_synthetic_banner_only_when_flagged(html, built, marts, tmp_path):
    assert 'class="banner"' in html and "Synthetic data: not official statistics" in html
    assert "<title>Synthetic data:" in html
    path = render_report(2013, marts, built[2], tmp_path / "real.html", synthetic=False)
    real = path.read_text(encoding="utf-8")
    assert 'class="banner"' not in real and "Synthetic data" not in real


def test_figures_inline_with_alt_text_and_data_in_details(html):
    # the 2013 report's six figures and the comparison with 2011
    assert html.count("<details>") == 7
    for i in range(1, 8):
        assert f"Show the data for Figure {i}" in html
        assert f'<figure id="figure_{i}"' in html
    images = re.findall(r"<img\s[^>]*>", html)
    assert len(images) == 7
    for img in images:
        assert 'src="data:image/svg+xml;base64,' in img
        assert re.search(r'alt="[^"]{40,}"', img)


def test_self_contained_and_script_free(html):
    assert "<script" not in html.lower()
    assert not re.search(r"\son\w+\s*=", html)  # no event handlers
    assert "javascript:" not in html.lower()
    external = re.findall(r'(?:src|href)="(?!data:|#)([^"]*)"', html)
    assert all(not u.startswith(("http:", "https:", "//")) for u in external), external
    assert "<link" not in html and "@import" not in html and "url(" not in html


class Structure(HTMLParser):
    def __init__(self):
        super().__init__()
        self.headings: list[int] = []
        self.tables = 0
        self.captions = 0
        self.th_without_scope = 0
        self.lang = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "table":
            self.tables += 1
        if tag == "caption":
            self.captions += 1
        if tag == "th" and "scope" not in attrs:
            self.th_without_scope += 1


def test_accessible_structure(html):
    s = Structure()
    s.feed(html)
    assert s.lang == "en-GB"
    assert s.headings[0] == 1 and s.headings.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(s.headings, s.headings[1:]))
    assert s.tables and s.tables == s.captions
    assert s.th_without_scope == 0


def test_sections_of_the_2013_report(html):
    for heading in (
        "Introduction and response",
        "The spread of IOM",
        "Agencies involved",
        "Co-location with the police",
        "Offenders dealt with",
        "Priority offenders",
        "Monitoring outcomes",
        "Support tools",
        "Comparison with the 2011 survey",
        "Methodology",
        "Data quality",
    ):
        assert f">{heading}</h2>" in html, heading
    assert "Table 1: IOM in place" in html


def test_methodology_and_data_quality(html):
    text = text_of(html)
    assert "Wilson" in text and "half up (2.5 becomes 3)" in text
    assert "A percentage whose base is fewer than 10 is not published: it is shown as [c]" in text
    assert "quarantined" in text and "superseded" in text and "routing" in text
    assert "The survey export held 203 submissions: 184 counted, 12 superseded" in text
    assert "In all, 12 data-quality warnings were recorded" in text
    assert "The base of each question, 2013" in html
    assert "Survey submissions by outcome and reason, 2013" in html
    assert "Data-quality warnings by type, 2013" in html


def test_comparison_section_only_with_comparison_rows(marts, tmp_path):
    without = {**marts, "year_comparison": marts["year_comparison"].iloc[0:0]}
    figures = render_figures(2013, marts["question_summary"], tmp_path, None)
    html = render_report(2013, without, figures, tmp_path / "report.html", synthetic=False).read_text(encoding="utf-8")
    assert "Comparison with the" not in html and "Figure 7" not in html


def test_comparison_sentences(html):
    text = text_of(html)
    assert (
        "The percentage of responding CSPs with IOM in place rose from 74 per cent in 2011 to 98 per cent "
        "in 2013, a statistically significant increase of 24 percentage points." in text
    )
    assert "housing services (64 per cent in 2011, 80 per cent in 2013)" in text


def test_a_year_that_asked_less(tmp_path):
    marts = read_marts_csv(FIXTURES / "2011")
    figures = render_figures(2011, marts["question_summary"], tmp_path, None)
    html = render_report(2011, marts, figures, tmp_path / "report.html", synthetic=False).read_text(encoding="utf-8")
    text = text_of(html)
    assert "Of those CSPs that responded, 74 per cent (159 CSPs) said they had IOM arrangements in place." in text
    assert "Co-location with the police" not in text and "Support tools" not in text
    assert "Table 1:" in html and "Don&#39;t know" in html


def test_report_is_deterministic(marts, built):
    path, first, figures = built
    again = render_report(2013, marts, figures, path, synthetic=True)
    assert again.read_text(encoding="utf-8") == first


CHANGE_NOTE = (
    "Changes are calculated from unrounded percentages, so they may differ from the difference "
    "between the rounded percentages shown."
)


def test_comparison_tables_say_changes_come_from_unrounded_figures(html):
    """Other agencies read 13 per cent in both years and a change of +1 (0.68 points, rounded):
    the note under each table of changes explains it."""
    for table_id in ("table-comparison", "table-figure_7"):
        start = html.index(f'<table id="{table_id}">')
        end = html.index("</table>", start)
        row = re.search(r"<th scope=\"row\">Other agencies</th>(.*?)</tr>", html[start:end], re.S).group(1)
        assert re.findall(r'<td class="num">([^<]*)</td>', row)[:3] == ["13", "13", "+1"]
    comparison = html.index('<table id="table-comparison">')
    after = html[html.index("</table>", comparison):]
    notes = after[: after.index("</ul>")]
    assert CHANGE_NOTE in notes
    figure_7 = html[html.index('<figure id="figure_7"'):]
    assert CHANGE_NOTE in figure_7[: figure_7.index("</figure>")]


def test_no_change_note_without_changes(tmp_path):
    marts = read_marts_csv(FIXTURES / "2011")
    figures = render_figures(2011, marts["question_summary"], tmp_path, None)
    html = render_report(2011, marts, figures, tmp_path / "report.html", synthetic=False).read_text(encoding="utf-8")
    assert CHANGE_NOTE not in html
