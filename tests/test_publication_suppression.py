"""Small-base suppression: [c] in tables, CSVs, figures and sentences; the marts keep numbers."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from iom_pipeline.publication import load_settings, render_figures, render_report, write_spreadsheets
from iom_pipeline.publication.data import SummaryView, read_marts_csv
from iom_pipeline.publication.suppression import is_suppressed
from iom_pipeline.publication.tables import build_tables

FIXTURES = Path(__file__).parent / "fixtures" / "publication"


@pytest.fixture()
def marts():
    marts = read_marts_csv(FIXTURES)
    qs = marts["question_summary"]
    small = qs["question_id"] == "monitoring"
    qs.loc[small, "base_n"] = 8
    qs.loc[small, "n"] = [5, 4, 1, 0, 1]
    return marts


def read_csv(path: Path) -> list[dict]:
    with Path(path).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_default_rule_is_base_under_10():
    settings = load_settings()
    assert settings.suppress_below_base == 10 and settings.suppression_symbol == "[c]"
    assert is_suppressed(9, settings) and not is_suppressed(10, settings)
    assert not is_suppressed(3, settings.with_overrides(suppress_below_base=0))


def test_figure_bars_omitted_and_labelled(marts, tmp_path):
    figures = {f["id"]: f for f in render_figures(2013, marts["question_summary"], tmp_path)}
    fig = figures["figure_5"]
    rows = read_csv(fig["csv"])
    assert {r["percentage"] for r in rows} == {"[c]"}
    assert {r["number"] for r in rows} == {"[c]"} and {r["ci_lower_95"] for r in rows} == {"[c]"}
    assert {r["base"] for r in rows} == {"8"}  # the base itself is published
    svg = Path(fig["svg"]).read_text(encoding="utf-8")
    assert svg.count(">[c]<") == 4
    labels = re.findall(r">(\d+)%</text>", svg)
    assert labels == ["0", "20", "40", "60", "80", "100"]  # axis ticks only: no data labels
    assert "Local evaluation" in svg
    assert not fig["finding"]  # no headline that would quote hidden numbers
    assert fig["title"] == "How IOM outcomes are monitored, 2013"
    assert "[c]" in fig["alt_text"] and "60" not in fig["alt_text"]
    # Figures with bases of 10 or more are untouched.
    assert "[c]" not in Path(figures["figure_1"]["csv"]).read_text(encoding="utf-8")


def test_tables_and_spreadsheets(marts, tmp_path):
    from openpyxl import load_workbook

    tables = {t.id: t for t in build_tables(2013, marts)}
    values = tables["figure_5"].values()
    assert all(row[1:3] == ["[c]", "[c]"] for row in values)
    paths = write_spreadsheets(2013, marts, tmp_path, synthetic=False)
    wb = load_workbook(paths[0])
    cells = [c for row in wb["Figure_5"].iter_rows(values_only=True) for c in row]
    assert "[c]" in cells and 60 not in cells
    notes = [c for row in wb["Notes"].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert any(n.startswith("[c] means") for n in notes)


def test_narrative_uses_c(marts, tmp_path):
    figures = render_figures(2013, marts["question_summary"], tmp_path)
    html = render_report(2013, marts, figures, tmp_path / "report.html", synthetic=False).read_text(encoding="utf-8")
    assert "How outcomes are monitored is not shown because fewer than 10 CSPs answered ([c])." in html
    assert "local evaluation (60 per cent)" not in html
    # The 2013 fixture's own small base: three CSPs without IOM answered about plans.
    assert "their answers are not shown because fewer than 10 CSPs answered ([c])" in html
    assert "said planning was under way" not in html


def test_threshold_is_configurable(marts, tmp_path):
    settings = load_settings().with_overrides(suppress_below_base=25)
    view = SummaryView(marts["question_summary"], 2013, settings)
    assert view.get("arrangement_count", "2").suppressed  # base 22
    tables = {t.id: t for t in build_tables(2013, marts, settings)}
    table_1 = tables["table_1"].values()
    counts = [row for row in table_1 if row[1] in ("2", "3", "4 or more")]
    assert counts and all(row[2] == "[c]" for row in counts)
    off = load_settings().with_overrides(suppress_below_base=0)
    figures = {f["id"]: f for f in render_figures(2013, marts["question_summary"], tmp_path, settings=off)}
    assert "[c]" not in Path(figures["figure_5"]["csv"]).read_text(encoding="utf-8")


def test_marts_keep_the_numbers(marts, tmp_path):
    before = marts["question_summary"].copy()
    figures = render_figures(2013, marts["question_summary"], tmp_path)
    render_report(2013, marts, figures, tmp_path / "report.html", synthetic=False)
    write_spreadsheets(2013, marts, tmp_path, synthetic=False)
    assert marts["question_summary"].equals(before)


# -- the comparison: each year's cells by that year's own base ------------------------------

# (column, the base column it is suppressed by): a change reveals both years, so it needs both.
OWN_BASE = {
    "percentage_from": ("base_from",),
    "number_from": ("base_from",),
    "percentage_to": ("base_to",),
    "number_to": ("base_to",),
    "change_pp": ("base_from", "base_to"),
    "significant": ("base_from", "base_to"),
}


@pytest.fixture()
def comparison_marts():
    return read_marts_csv(FIXTURES)


def test_no_comparison_cell_is_suppressed_when_its_own_base_is_large(comparison_marts, tmp_path):
    write_spreadsheets(2013, comparison_marts, tmp_path, synthetic=False)  # writes comparison.csv
    figures = render_figures(2013, comparison_marts["question_summary"], tmp_path, comparison_marts["year_comparison"])
    checked = suppressed = 0
    for csv_path in (tmp_path / "comparison.csv", next(Path(f["csv"]) for f in figures if f["id"] == "figure_7")):
        for row in read_csv(csv_path):
            for column, bases in OWN_BASE.items():
                small = any(int(row[b]) < 10 for b in bases)
                assert (row[column] == "[c]") == small, (csv_path.name, row["option_id"], column, row[column])
                checked += 1
                suppressed += small
    assert checked > 100 and suppressed == 8  # the plans question: 2013 cells, changes, significance


def test_the_2011_plans_show_beside_suppressed_2013_ones(comparison_marts, tmp_path):
    """2011 asked the 56 CSPs without IOM about plans: 40 planning, 16 not (the synthetic
    reconstruction). 2013's three are suppressed; 2011's are not."""
    from openpyxl import load_workbook

    paths = write_spreadsheets(2013, comparison_marts, tmp_path, synthetic=False)
    ws = load_workbook(paths[0])["Comparison"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header = next(r for r in rows if r[0] == "Question")
    col = {h.split(" [")[0]: i for i, h in enumerate(header)}
    plans = {r[col["Answer"]]: r for r in rows if r[0] == "Are there plans to put IOM in place?"}
    # 40 of 56 is 71.4 per cent, 16 of 56 is 28.6 per cent.
    expected = {"Planning is under way": (71, 40), "No current plans": (29, 16)}
    assert set(plans) == set(expected)
    for answer, (pct, n) in expected.items():
        row = plans[answer]
        assert (row[col["Percentage, 2011"]], row[col["Number, 2011"]], row[col["Base, 2011"]]) == (pct, n, 56)
        assert (row[col["Percentage, 2013"]], row[col["Number, 2013"]], row[col["Base, 2013"]]) == ("[c]", "[c]", 3)
        assert row[col["Change (percentage points)"]] == "[c]"
        assert row[col["Statistically significant change"]] == "[c]"


def test_comparison_figure_draws_the_year_whose_base_is_large(comparison_marts, tmp_path):
    yc = comparison_marts["year_comparison"].copy()
    yc.loc[yc.question_id == "agency", "base_n_to"] = 8  # 2013 small, 2011 not
    figures = {f["id"]: f for f in render_figures(2013, comparison_marts["question_summary"], tmp_path, yc)}
    rows = read_csv(figures["figure_7"]["csv"])
    police = next(r for r in rows if r["option_id"] == "police")
    assert (police["percentage_from"], police["percentage_to"], police["change_pp"]) == ("97", "[c]", "[c]")
    svg = Path(figures["figure_7"]["svg"]).read_text(encoding="utf-8")
    assert ">97%<" in svg and ">96%<" not in svg
