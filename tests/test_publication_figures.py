"""Figures: one generic renderer, configured by figures.yaml, drawn from question_summary."""

from __future__ import annotations

import csv
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from iom_pipeline.paths import PROJECT_ROOT, PUBLISHED_FIGURES_CSV
from iom_pipeline.publication import figure_specs, render_figures
from iom_pipeline.publication.data import read_marts_csv
from iom_pipeline.publication.style import CATEGORICAL

FIXTURES = Path(__file__).parent / "fixtures" / "publication"
FIGURE_IDS = [f"figure_{i}" for i in range(1, 8)]


@pytest.fixture(scope="module")
def marts():
    return read_marts_csv(FIXTURES)


@pytest.fixture(scope="module")
def figures(marts, tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    return {f["id"]: f for f in render_figures(2013, marts["question_summary"], out, marts["year_comparison"])}


def read_csv(path: Path) -> list[dict]:
    with Path(path).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def fixture_rows() -> dict[tuple[str, str], dict]:
    """The fixture's question_summary as its file holds it (text), read without the code under test."""
    rows = {(r["question_id"], r["option_id"]): r for r in read_csv(FIXTURES / "question_summary.csv")}
    assert all(r["survey_year"] == "2013" for r in rows.values())
    return rows


def whole_pct_half_up(n: int, base: int) -> int:
    """n / base as a whole percentage, halves rounded up, in exact integers (2.5 -> 3)."""
    return (200 * n + base) // (2 * base)


def one_decimal_half_up(text: str) -> str:
    return str(Decimal(text).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# -- configuration ---------------------------------------------------------------------------


def test_specs_list_the_2013_report():
    specs = {s.id: s for s in figure_specs()}
    assert specs["table_1"].kind == "table"
    assert specs["table_1"].questions == ("iom_in_place", "established", "arrangements", "arrangement_count")
    expected = {
        "figure_1": ("agency", "size"),
        "figure_2": ("colocated", "size"),
        "figure_3": ("offenders", "questionnaire"),
        "figure_4": ("priority_type", "size"),
        "figure_5": ("monitoring", "size"),
        "figure_6": ("support_tool", "size"),
    }
    for spec_id, (question_id, order) in expected.items():
        assert specs[spec_id].question_id == question_id
        assert specs[spec_id].order == order
        assert specs[spec_id].headline and specs[spec_id].base and specs[spec_id].alt_text
    assert specs["figure_7"].kind == "comparison"


def test_fixture_agrees_with_the_2013_report():
    """The hand-made fixture reproduces every percentage and count the 2013 report published."""
    rows = fixture_rows()
    with PUBLISHED_FIGURES_CSV.open(encoding="utf-8") as fh:
        published = [r for r in csv.DictReader(fh) if r["survey_year"] == "2013"]
    assert len(published) == 47
    for p in published:
        row = rows[(p["question_id"], p["option_id"])]
        n, base = int(row["n"]), int(row["base_n"])
        if p["published_pct"]:
            assert int(row["pct_rounded"]) == int(p["published_pct"]), p
            assert whole_pct_half_up(n, base) == int(row["pct_rounded"]), p
        if p["published_n"]:
            assert n == int(p["published_n"]), p
    assert rows[("agency", "police")]["base_n"] == "225"
    # the rounding used above, on the halves where it matters
    assert whole_pct_half_up(1, 8) == 13 and whole_pct_half_up(3, 8) == 38 and whole_pct_half_up(1, 200) == 1


# -- files ----------------------------------------------------------------------------------


def test_every_figure_has_svg_png_csv_and_alt_text(figures):
    assert sorted(figures) == FIGURE_IDS
    for fig in figures.values():
        for key in ("svg", "png", "csv"):
            assert Path(fig[key]).exists() and Path(fig[key]).stat().st_size > 0, (fig["id"], key)
        assert Path(fig["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        svg = Path(fig["svg"]).read_text(encoding="utf-8")
        assert "<svg" in svg and "<script" not in svg
        assert fig["title"] in svg  # headline, as text (also in <title>)
        assert fig["subtitle"].startswith("Base: ") and fig["subtitle"] in svg
        assert fig["alt_text"] and "%" in fig["alt_text"]


def test_titles_state_the_finding(figures):
    assert figures["figure_1"]["title"] == "Police and probation are involved in almost all IOM arrangements"
    assert figures["figure_1"]["subtitle"] == "Base: 225 IOM arrangements"
    assert figures["figure_3"]["title"].startswith("More than half of IOM arrangements")
    assert figures["figure_6"]["title"] == "Most responding CSPs have used the IOM Key Principles"
    assert all(f["finding"] for f in figures.values())


def test_svg_is_accessible_and_uses_the_palette(figures):
    svg = Path(figures["figure_1"]["svg"]).read_text(encoding="utf-8")
    assert 'role="img"' in svg and "<desc id=" in svg
    assert CATEGORICAL[0].lower() in svg.lower()  # single series: dark blue
    comparison = Path(figures["figure_7"]["svg"]).read_text(encoding="utf-8").lower()
    assert CATEGORICAL[0].lower() in comparison and CATEGORICAL[1].lower() in comparison


def test_alt_text_gives_the_numbers(figures):
    alt = figures["figure_1"]["alt_text"]
    assert "police 96%" in alt and "NHS England local area team 17%" in alt and "225" in alt


def test_sorting_as_configured(figures, marts):
    def order(fig_id):
        return [r["option_id"] for r in read_csv(figures[fig_id]["csv"])]

    def pcts(fig_id):
        return [int(r["percentage"]) for r in read_csv(figures[fig_id]["csv"])]

    for fig_id in ("figure_1", "figure_4", "figure_6"):
        assert pcts(fig_id) == sorted(pcts(fig_id), reverse=True), fig_id
    # Figure 5 descending, with "not formally monitored" kept last.
    assert order("figure_5") == ["local_evaluation", "local_system", "idiom", "none"]
    # Figure 3 in band order, whatever the percentages.
    assert order("figure_3") == ["0_100", "101_200", "201_500", "over_500"]
    # Ties keep questionnaire order: police before probation (both 96).
    assert order("figure_1")[:2] == ["police", "probation"]
    # Only the configured options: no "other".
    assert "other" not in order("figure_1")


def test_csv_values_match_the_mart(figures):
    lookup = fixture_rows()
    seen = 0
    for fig_id in FIGURE_IDS[:6]:
        for row in read_csv(figures[fig_id]["csv"]):
            mart = lookup[(row["question_id"], row["option_id"])]
            assert row["percentage"] == mart["pct_rounded"]
            assert row["number"] == mart["n"]
            assert row["base"] == mart["base_n"]
            assert row["ci_lower_95"] == one_decimal_half_up(mart["ci_lower"]), (row, mart["ci_lower"])
            assert row["ci_upper_95"] == one_decimal_half_up(mart["ci_upper"]), (row, mart["ci_upper"])
            seen += 1
    assert seen >= 30
    # by hand, Figure 1's first row: police 216 of 225 (96 %), interval 92.6 to 97.9
    first = read_csv(figures["figure_1"]["csv"])[0]
    assert [first[k] for k in ("option_id", "percentage", "number", "base", "ci_lower_95", "ci_upper_95")] == [
        "police", "96", "216", "225", "92.6", "97.9"]
    assert one_decimal_half_up("72.45") == "72.5" and one_decimal_half_up("72.449999") == "72.4"


def test_comparison_figure_only_with_comparison_rows(marts, tmp_path):
    without = render_figures(2013, marts["question_summary"], tmp_path / "a", None)
    assert "figure_7" not in {f["id"] for f in without}
    empty = marts["year_comparison"].iloc[0:0]
    assert "figure_7" not in {f["id"] for f in render_figures(2013, marts["question_summary"], tmp_path / "b", empty)}


def test_comparison_csv(figures):
    rows = {r["option_id"]: r for r in read_csv(figures["figure_7"]["csv"])}
    assert rows["housing"]["percentage_from"] == "64" and rows["housing"]["percentage_to"] == "80"
    assert rows["housing"]["significant"] == "Yes"
    assert rows["police"]["change_pp"] == "-1"  # negative numbers stay numbers, not text


def test_reruns_are_byte_identical(marts, tmp_path):
    first = render_figures(2013, marts["question_summary"], tmp_path / "one", marts["year_comparison"])
    second = render_figures(2013, marts["question_summary"], tmp_path / "two", marts["year_comparison"])
    for a, b in zip(first, second):
        for key in ("svg", "png", "csv"):
            assert Path(a[key]).read_bytes() == Path(b[key]).read_bytes(), (a["id"], key)


def test_a_year_that_asked_less(tmp_path):
    """2011 asked only about IOM, its stage and agencies: the other figures are skipped."""
    marts = read_marts_csv(FIXTURES / "2011")
    figures = render_figures(2011, marts["question_summary"], tmp_path, None)
    assert [f["id"] for f in figures] == ["figure_1"]
    assert figures[0]["subtitle"] == "Base: 158 CSP areas with IOM"
    assert "NHS" not in figures[0]["alt_text"]


def test_matplotlib_is_imported_only_to_draw():
    code = (
        "import sys; import iom_pipeline.publication, iom_pipeline.publication.figures, "
        "iom_pipeline.publication.report, iom_pipeline.publication.spreadsheets; "
        "print('matplotlib' in sys.modules, 'openpyxl' in sys.modules, 'odf' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True)
    assert result.stdout.split() == ["False", "False", "False"]


def test_figure_2_is_in_size_order(figures):
    """Co-location by size (fixture: probation 98, drug and alcohol 60, local authority 52,
    youth offending 40, housing 30 of 178), "all four" and "none" kept at the end."""
    order = [r["option_id"] for r in read_csv(figures["figure_2"]["csv"])]
    assert order == ["probation", "drug_alcohol", "local_authority", "youth_offending", "housing", "all_four", "none"]
    assert [r["percentage"] for r in read_csv(figures["figure_2"]["csv"])] == ["55", "34", "29", "22", "17", "11", "25"]


def test_ties_in_what_readers_see_keep_questionnaire_order(marts, tmp_path):
    """Housing 39 and youth offending 40 of 178 both read 22 per cent: housing, asked first,
    comes first although its unrounded share (21.9) is the smaller (22.5)."""
    qs = marts["question_summary"].copy()
    for option, n in (("housing", 39), ("youth_offending", 40)):
        qs.loc[(qs.question_id == "colocated") & (qs.option_id == option), ["n", "pct", "pct_rounded"]] = [
            n, 100 * n / 178, 22
        ]
    figures = {f["id"]: f for f in render_figures(2013, qs, tmp_path, None, only=["figure_2"])}
    order = [r["option_id"] for r in read_csv(figures["figure_2"]["csv"])]
    assert order[3:5] == ["housing", "youth_offending"]


def test_order_is_chosen_per_figure(marts):
    from dataclasses import replace

    from iom_pipeline.publication.config import figure_spec
    from iom_pipeline.publication.data import SummaryView
    from iom_pipeline.publication.tables import figure_rows

    view = SummaryView(marts["question_summary"], 2013)
    spec = figure_spec("figure_2")
    by_questionnaire = replace(spec, order="questionnaire")
    assert [s.option_id for s in figure_rows(by_questionnaire, view)] == [
        "probation", "drug_alcohol", "local_authority", "housing", "youth_offending", "all_four", "none"
    ]
    assert figure_spec("figure_3").order == "questionnaire"
