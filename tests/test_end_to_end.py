"""End to end on the reconstructed samples: every asset materialised as Dagster launches it (the
UI's and the schedule's path), one run per survey year. Every published figure (47 of 2013, the
6 quoted of 2011) is compared with its mart row, and no respondent's name, e-mail or phone number
(read from the raw layer) is in any file, table, text column or Parquet mart outside raw."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pytest

from dagster_launch import dagster_materialize
from iom_pipeline.paths import PUBLISHED_FIGURES_CSV

pytestmark = pytest.mark.slow

# Rows of assets/published/published-figures.csv, counted by hand: every figure the 2013 report
# published (43 percentages, 6 numbers of CSPs) and the 2011 percentages it quoted.
PUBLISHED_ROWS = {2013: 47, 2011: 6}
PUBLISHED_PCTS = {2013: 43, 2011: 6}
PUBLISHED_NS = {2013: 6, 2011: 0}
MARTS = {"question_summary", "csp_return", "arrangement", "submission_outcome", "quality_warning", "dim_csp",
         "year_comparison"}


@pytest.fixture(scope="module")
def published_run(tmp_path_factory):
    """`iom sample`, then `dagster asset materialize --select '*'` for 2011 and then 2013 (the
    comparison needs the earlier year); yields the data directory."""
    data = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IOM_DATA_DIR", str(data))
        from iom_pipeline.cli import main

        assert main(["sample", "--year", "2011", "--year", "2013"]) == 0
    for year in (2011, 2013):
        launched = dagster_materialize(data, year)
        assert launched.returncode == 0, launched.stderr[-4000:]
    yield data


def published_figures(year: int) -> list[dict]:
    with PUBLISHED_FIGURES_CSV.open(encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if int(r["survey_year"]) == year]


@pytest.mark.parametrize("year", [2011, 2013])
def test_question_summary_reproduces_every_published_figure(published_run, year):
    con = duckdb.connect(str(published_run / "publication" / "iom_marts.duckdb"), read_only=True)
    rows = con.execute(
        "select question_id, option_id, pct_rounded, n from marts.question_summary where survey_year = ?", [year]
    ).fetchall()
    summary = {(q, o): (pct_rounded, n) for q, o, pct_rounded, n in rows}
    assert len(summary) == len(rows), "question_summary has two rows for one (question, option)"
    figures = published_figures(year)
    assert len(figures) == PUBLISHED_ROWS[year]
    assert len({(f["question_id"], f["option_id"]) for f in figures}) == PUBLISHED_ROWS[year], "a figure listed twice"
    missing = [(f["question_id"], f["option_id"]) for f in figures if (f["question_id"], f["option_id"]) not in summary]
    assert not missing, f"published figures with no question_summary row: {missing}"
    pcts = ns = 0
    for figure in figures:
        key = (figure["question_id"], figure["option_id"])
        pct_rounded, n = summary[key]
        assert figure["published_pct"] or figure["published_n"], f"{key} publishes nothing to compare"
        if figure["published_pct"]:
            assert pct_rounded == int(figure["published_pct"]), (key, figure["source"])
            pcts += 1
        if figure["published_n"]:
            assert n == int(figure["published_n"]), (key, figure["source"])
            ns += 1
    assert (pcts, ns) == (PUBLISHED_PCTS[year], PUBLISHED_NS[year])


def test_the_2013_response_is_184_of_292(published_run):
    con = duckdb.connect(str(published_run / "publication" / "iom_marts.duckdb"), read_only=True)
    assert con.execute(
        "select n, base_n from marts.question_summary where survey_year = 2013 and question_id = 'response'"
    ).fetchall() == [(184, 292)]
    assert con.execute("select count(*) from marts.csp_return where survey_year = 2013").fetchall() == [(292,)]
    (rows,) = con.execute("select count(*) from marts.submission_outcome where survey_year = 2013").fetchall()[0]
    with (published_run / "landing" / "2013" / "survey_export.csv").open(encoding="utf-8-sig", newline="") as fh:
        assert rows == sum(1 for _ in csv.DictReader(fh))


def test_year_comparison_shows_the_changes_the_report_quotes(published_run):
    con = duckdb.connect(str(published_run / "publication" / "iom_marts.duckdb"), read_only=True)
    rows = {
        option: (pct_from, pct_to, change, significant)
        for option, pct_from, pct_to, change, significant in con.execute(
            """select option_id, pct_rounded_from, pct_rounded_to, change_pp_rounded, significant
               from marts.year_comparison where year_from = 2011 and year_to = 2013 and question_id = 'agency'"""
        ).fetchall()
    }
    assert rows["housing"][:3] == (64, 80, 16) and rows["housing"][3] is True
    assert rows["prison"][:3] == (51, 66, 15)
    assert rows["youth_offending"][:3] == (71, 77, 6)
    for core in ("police", "probation", "local_authority", "drug_alcohol"):
        assert abs(rows[core][2]) <= 3


def personal_data_from_raw(warehouse: Path) -> dict[int, set[str]]:
    """Every respondent name, e-mail and phone number per year, read straight from the raw layer."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        found = {}
        for year in PUBLISHED_ROWS:
            columns = [c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ? "
                "and column_name like 'respondent%' order by all", [f"survey_export_{year}"]).fetchall()]
            assert columns == (["respondent_email", "respondent_name"] if year == 2011 else
                               ["respondent_email", "respondent_name", "respondent_phone"]), (year, columns)
            found[year] = {
                value.strip()
                for column in columns
                for (value,) in con.execute(f'select distinct "{column}" from raw.survey_export_{year}').fetchall()
                if value and value.strip()
            }
        return found
    finally:
        con.close()


def _words(text: str) -> str:
    return " ".join(text.casefold().split())


def _digits(text: str) -> str:
    return re.sub(r"[\s\-().+]", "", text)


class PersonalDataFinder:
    """Finds any of the values in a text: names and e-mails whatever their case and spacing,
    phone numbers whatever their spacing."""

    def __init__(self, values: set[str]):
        phones = {v for v in values if re.fullmatch(r"[\d\s\-().+]+", v)}
        self.words = re.compile("|".join(re.escape(_words(v)) for v in sorted(values - phones, key=len, reverse=True)))
        self.phones = re.compile("|".join(re.escape(_digits(v)) for v in sorted(phones, key=len, reverse=True)))
        self.counts = (len(values - phones), len(phones))

    def find(self, text: str) -> list[str]:
        return self.words.findall(_words(text)) + self.phones.findall(_digits(text))


def text_columns(con, relation_filter: str) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every column holding text (plain, lists, structs, maps, JSON)."""
    return con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        f"where ({relation_filter}) and (data_type like '%VARCHAR%' or data_type like '%JSON%' "
        "or data_type like 'STRUCT%' or data_type like 'MAP%' or data_type like 'UNION%') order by all"
    ).fetchall()


def scan_database(path: Path, finder: PersonalDataFinder, relation_filter: str) -> tuple[list, int]:
    """Every distinct value of every text column of the matching tables and views: (hits, columns read)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        hits, columns = [], text_columns(con, relation_filter)
        for schema, table, column in columns:
            for (value,) in con.execute(
                f'select distinct cast("{column}" as varchar) from "{schema}"."{table}" where "{column}" is not null'
            ).fetchall():
                hits += [(f"{path.name}:{schema}.{table}.{column}", found) for found in finder.find(value)]
        return hits, len(columns)
    finally:
        con.close()


def scan_parquet(directory: Path, finder: PersonalDataFinder) -> tuple[list, int]:
    con = duckdb.connect()
    try:
        hits, read = [], 0
        for path in sorted(directory.glob("*.parquet")):
            relation = f"read_parquet('{path}')"
            for column, data_type, *_ in con.execute(f"describe select * from {relation}").fetchall():
                if not any(t in data_type for t in ("VARCHAR", "JSON", "STRUCT", "MAP", "UNION")):
                    continue
                read += 1
                for (value,) in con.execute(
                    f'select distinct cast("{column}" as varchar) from {relation} where "{column}" is not null'
                ).fetchall():
                    hits += [(f"{path.name}:{column}", found) for found in finder.find(value)]
        return hits, read
    finally:
        con.close()


def test_the_publication_is_complete_and_free_of_personal_data(published_run):
    from iom_pipeline.personal_data import find_in_files

    year_dir = published_run / "publication" / "2013"
    names = {p.name for p in year_dir.iterdir()}
    assert {"report.html", "iom_2013_tables.xlsx", "iom_2013_tables.ods"} <= names
    for figure in ("figure_1", "figure_3", "figure_6"):
        assert {f"{figure}.svg", f"{figure}.png", f"{figure}.csv"} <= names
    with (published_run / "landing" / "2013" / "survey_export.csv").open(encoding="utf-8-sig", newline="") as fh:
        personal = {
            r[c] for r in csv.DictReader(fh) for c in ("respondent_name", "respondent_email", "respondent_phone") if r[c]
        }
    assert personal
    assert find_in_files(published_run / "publication", personal) == []
    # nor in Dagster's run history, event logs and metadata, nor in any scratch file
    assert find_in_files(published_run / "dagster_home", personal) == []
    assert find_in_files(published_run / "work", personal) == []
    report = (year_dir / "report.html").read_text(encoding="utf-8")
    assert "synthetic" in report.lower()
    assert "98 per cent (181 CSPs)" in report


def test_no_personal_data_inside_the_databases_or_the_parquet_marts(published_run):
    """Rule 7: respondent_* values never leave the raw layer. The files' scan above cannot read
    inside DuckDB or Parquet (their pages are compressed): every text column of every table and
    view of the BI snapshot, of the warehouse outside raw, and of each Parquet mart is queried."""
    warehouse = published_run / "warehouse" / "iom.duckdb"
    by_year = personal_data_from_raw(warehouse)
    personal = set().union(*by_year.values())
    finder = PersonalDataFinder(personal)
    # 2013's export has names, e-mails and phones; 2011's names and e-mails (no phone column)
    assert len(by_year[2013]) > 3 * 150 and len(by_year[2011]) > 2 * 150
    assert finder.counts[1] > 150
    # the finder does find each kind, whatever its case and spacing
    email = next(v for v in personal if "@" in v)
    phone = next(v for v in personal if re.fullmatch(r"[\d ]+", v) and " " in v)
    name = next(v for v in personal if " " in v and "@" not in v and not v[0].isdigit())
    assert finder.find(f"Contact: {email.upper()}, {phone.replace(' ', '')} or {'  '.join(name.split())}.")

    snapshot = published_run / "publication" / "iom_marts.duckdb"
    hits, columns = scan_database(snapshot, finder, "table_schema not in ('information_schema', 'pg_catalog')")
    assert not hits, hits[:20]
    con = duckdb.connect(str(snapshot), read_only=True)
    assert {t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()} == MARTS
    con.close()
    assert columns >= 20

    hits, columns = scan_database(
        warehouse, finder, "table_schema not in ('raw', 'information_schema', 'pg_catalog')"
    )
    assert not hits, hits[:20]
    con = duckdb.connect(str(warehouse), read_only=True)
    schemas = {s for (s,) in con.execute(
        "select distinct table_schema from information_schema.tables where table_schema <> 'raw'").fetchall()}
    con.close()
    assert {"staging", "intermediate", "marts", "audit"} <= schemas
    assert columns >= 50

    parquet = published_run / "publication" / "marts"
    assert {p.stem for p in parquet.glob("*.parquet")} == MARTS
    hits, columns = scan_parquet(parquet, finder)
    assert not hits, hits[:20]
    assert columns >= 20
