"""Release metadata: status, dates and contact from releases.yaml, in the report and on the
spreadsheet's cover; a real publication without them is named by release_problems."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from iom_pipeline.publication import load_settings, render_figures, render_report, write_spreadsheets
from iom_pipeline.publication.config import load_releases, releases_from_doc
from iom_pipeline.publication.data import read_marts_csv
from iom_pipeline.publication.release import format_date, release_for, release_problems

FIXTURES = Path(__file__).parent / "fixtures" / "publication"
OLD_PLACEHOLDER = "[Contact name and email address to be added before publication]"

STATUSES = {
    "Official statistics in development": "Official statistics that are still being developed.",
    "Management information": "Figures collected to run a programme.",
    "Synthetic data": "Not statistics: a synthetic reconstruction.",
}
SYNTHETIC = {
    "status": "Synthetic data",
    "published": "Not published (synthetic data)",
    "next_update": "None (synthetic data are not released)",
    "contact_name": "None (synthetic data are not released)",
}
UNRELEASED = {
    "status": "[Statistics status to be added]",
    "published": "[Publication date to be added]",
    "next_update": "[Next update to be added]",
    "contact_name": "[Contact name to be added]",
    "contact_email": "[Contact email to be added]",
}
READY_2013 = {
    "status": "Official statistics in development",
    "published": date(2014, 3, 27),
    "next_update": "March 2015 (provisional)",
    "contact_name": "Crime and Policing Analysis Unit",
    "contact_email": "iom.survey@example.gov.uk",
}


def settings_with(years: dict) -> object:
    doc = {"statuses": STATUSES, "synthetic": SYNTHETIC, "unreleased": UNRELEASED, "years": years}
    return load_settings().with_overrides(releases=releases_from_doc(doc, source="releases.yaml"))


@pytest.fixture(scope="module")
def marts():
    return read_marts_csv(FIXTURES)


@pytest.fixture(scope="module")
def figures(marts, tmp_path_factory):
    return render_figures(2013, marts["question_summary"], tmp_path_factory.mktemp("fig"), marts["year_comparison"])


def cover_text(xlsx: Path) -> list[str]:
    from openpyxl import load_workbook

    return [row[0] for row in load_workbook(xlsx)["Cover"].iter_rows(values_only=True) if row and row[0]]


def ods_cover_text(ods: Path) -> list[str]:
    from odf import teletype
    from odf.opendocument import load
    from odf.table import Table, TableCell

    doc = load(str(ods))
    cover = next(t for t in doc.spreadsheet.getElementsByType(Table) if t.getAttribute("name") == "Cover")
    return [teletype.extractText(c) for c in cover.getElementsByType(TableCell) if teletype.extractText(c)]


# -- the check ------------------------------------------------------------------------------


def test_a_complete_entry_passes():
    assert release_problems(2013, synthetic=False, settings=settings_with({2013: READY_2013})) == []


def test_no_entry_for_a_real_year_is_named():
    problems = release_problems(2013, synthetic=False, settings=settings_with({2015: READY_2013}))
    assert len(problems) == 1
    assert "no release entry for 2013" in problems[0] and "releases.yaml" in problems[0]


def test_a_placeholder_contact_is_named():
    entry = {**READY_2013, "contact_name": OLD_PLACEHOLDER}
    problems = release_problems(2013, synthetic=False, settings=settings_with({2013: entry}))
    assert problems == [f"release 2013: the contact name is still a placeholder ({OLD_PLACEHOLDER!r})"]


@pytest.mark.parametrize(
    "change, words",
    [
        ({"contact_email": None}, "no contact email address"),
        ({"contact_email": "iom.survey at example"}, "is not an email address"),
        ({"status": "National statistics"}, "is not one of"),
        ({"published": "spring 2014"}, "is not a date"),
        ({"next_update": ""}, "no next update"),
        ({"status": "[Status to be added]"}, "statistics status is still a placeholder"),
    ],
)
def test_each_unfinished_field_is_named(change, words):
    entry = {**READY_2013, **change}
    problems = release_problems(2013, synthetic=False, settings=settings_with({2013: entry}))
    assert len(problems) == 1 and words in problems[0], problems


def test_synthetic_data_is_never_released_so_never_refused():
    assert release_problems(2013, synthetic=True, settings=settings_with({})) == []
    assert release_problems(2013, synthetic=True, settings=settings_with({2013: {"contact_name": OLD_PLACEHOLDER}})) == []


def test_the_shipped_configuration():
    """The synthetic sample has its documented default; a real 2011 or 2013 is refused until
    its release is filled in."""
    releases = load_releases()
    assert releases.synthetic["status"] in releases.statuses
    assert {"Official statistics in development", "Management information"} <= set(releases.statuses)
    for year in (2011, 2013):
        assert release_problems(year, synthetic=True) == []
        assert any(f"no release entry for {year}" in p for p in release_problems(year, synthetic=False))
    shown = release_for(2013, synthetic=True)
    assert shown.status == "Synthetic data" and shown.status_description
    assert "[" not in shown.contact + shown.published + shown.next_update


def test_unlabelled_codes_are_named_with_the_marts(marts):
    changed = {k: v.copy() for k, v in marts.items()}
    changed["quality_warning"].loc[0, "warning"] = "duplicate_block"
    problems = release_problems(2013, synthetic=True, marts=changed)
    assert problems == [
        "warning code 'duplicate_block' has no reader label in assets/publication/publication.yaml "
        "(labels.warning); it would be shown as 'Duplicate block'"
    ]
    assert release_problems(2013, synthetic=True, marts=marts) == []


def test_dates_read_as_gov_uk_writes_them():
    assert format_date(date(2014, 3, 7)) == "7 March 2014"
    assert format_date("March 2015 (provisional)") == "March 2015 (provisional)"


# -- what readers see -----------------------------------------------------------------------


def test_report_and_cover_show_the_release(marts, figures, tmp_path):
    settings = settings_with({2013: READY_2013})
    html = render_report(2013, marts, figures, tmp_path / "report.html", synthetic=False, settings=settings).read_text(
        encoding="utf-8"
    )
    assert "<dt>Statistics status</dt>" in html
    assert "Official statistics in development" in html and "Official statistics that are still being developed." in html
    assert "<dt>Published</dt>\n    <dd>27 March 2014</dd>" in html
    assert "<dt>Next update</dt>\n    <dd>March 2015 (provisional)</dd>" in html
    assert '<a href="mailto:iom.survey@example.gov.uk">iom.survey@example.gov.uk</a>' in html
    assert "Crime and Policing Analysis Unit" in html
    paths = write_spreadsheets(2013, marts, tmp_path, synthetic=False, settings=settings)
    for cover in (cover_text(paths[0]), ods_cover_text(paths[1])):
        for heading, value in (
            ("Statistics status", "Official statistics in development"),
            ("Publication date", "27 March 2014"),
            ("Next update", "March 2015 (provisional)"),
            ("Contact", "Crime and Policing Analysis Unit"),
        ):
            assert cover[cover.index(heading) + 1] == value, heading
        assert "iom.survey@example.gov.uk" in cover


def test_unfinished_release_does_not_stop_rendering(marts, figures, tmp_path):
    """The check reports it; the report and spreadsheets are still written, with placeholders."""
    settings = settings_with({})
    html = render_report(2013, marts, figures, tmp_path / "report.html", synthetic=False, settings=settings).read_text(
        encoding="utf-8"
    )
    assert "[Contact name to be added]" in html and "[Publication date to be added]" in html
    paths = write_spreadsheets(2013, marts, tmp_path, synthetic=False, settings=settings)
    assert "[Contact name to be added]" in cover_text(paths[0])


def test_synthetic_publication_shows_the_synthetic_default(marts, figures, tmp_path):
    html = render_report(2013, marts, figures, tmp_path / "report.html", synthetic=True).read_text(encoding="utf-8")
    paths = write_spreadsheets(2013, marts, tmp_path, synthetic=True)
    default = load_releases().synthetic
    for text in (html, "\n".join(cover_text(paths[0])), "\n".join(ods_cover_text(paths[1]))):
        assert OLD_PLACEHOLDER not in text
        assert default["status"] in text and default["published"] in text and default["contact_name"] in text
