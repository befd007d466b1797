"""Rule 7 by value: a respondent's own name, e-mail or phone number typed into a free-text answer
or a choice column never leaves the raw layer.

- Staging redacts them (and any e-mail address or UK phone number) to `[redacted]`, whatever the
  case or the phone number's spacing; `audit.redaction` counts the cells, never the values.
- `iom run` on such an export exits 0 with no value anywhere outside raw: every non-raw table and
  view of the warehouse, every table of the BI snapshot, the Parquet files and every published file.
- A value planted after staging (in a mart, in the BI snapshot, in its Parquet files, in a
  published file written the way HTML escapes it, in the Data Docs, in Dagster's event log or
  compute logs) makes `iom run` exit 1 naming the check, never the value, with the publication
  untouched.
- Hostile text (markup, formulas) stays inert in every HTML page and spreadsheet written.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from exports import row, tick, write_landing
from iom_pipeline import pipeline, publish
from iom_pipeline.cli import main
from iom_pipeline.personal_data import find_in_files
from iom_pipeline.pipeline import prepare_warehouse, run_year
from iom_pipeline.quality.sql_checks import CHECKS_DIR, evaluate, read_check

YES, NO = "Yes", "No"
ONE = "One arrangement covering the whole area"
CHECK = read_check(CHECKS_DIR / "no_personal_values_outside_raw.sql")

# Respondents and what they typed where their own values do not belong.
JOANNA = {"respondent_name": "Joanna Smith", "respondent_email": "j.smith@example.org", "respondent_phone": "01632 960001"}
MARY = {"respondent_name": "Mary O'Brien", "respondent_email": "mary.obrien@example.org", "respondent_phone": "01632 960002"}
PETER = {"respondent_name": "Peter Jones", "respondent_email": "peter.jones@example.org", "respondent_phone": "07700 900003"}
RESPONDENTS = (JOANNA, MARY, PETER)


def leaky_rows() -> list[dict]:
    return [
        row(1, "E22000001", **JOANNA, q1_iom_in_place=YES, q2_established="Fully established", q3_arrangements=ONE,
            q5_prioritise=YES, **tick("q5_type_other"), q5_type_other_text="Contact J.Smith@EXAMPLE.org or +44 1632 960001",
            a1_name="JOANNA SMITH's team", **tick("a1_agency_police"), **tick("a1_agency_other"),
            a1_agency_other_text="call joanna  smith on 01632 960 001", a1_offenders="0-100"),
        row(2, "E22000002", **MARY, q1_iom_in_place=YES, q2_established="Partially established", q3_arrangements=ONE,
            a1_name="Team of mary o'brien", **tick("a1_agency_probation"), **tick("a1_agency_other"),
            a1_agency_other_text="ring 01632-960002, or 0 1 6 3 2 / 9 6 0 0 0 2, or write to MARY.OBRIEN@example.org",
            a1_offenders="0-100"),
        # a respondent's own values typed into a choice column: the row is quarantined, the value
        # echoed in audit.validation_failure and marts.submission_outcome must not be
        row(3, "E22000003", **PETER, q1_iom_in_place=YES, q2_established="PETER JONES, 07700 900 003",
            q3_arrangements=ONE, a1_name="North", **tick("a1_agency_police")),
        row(4, "W14000001", q1_iom_in_place=NO, q1a_no_iom_plans="No current plans",
            q7_tool_none="ask peter.jones@example.org"),  # someone else's e-mail in a tick
    ]


# -- an oracle independent of the code under test -------------------------------------------------
def leaked(text: str) -> list[str]:
    """Which respondent values a text holds: names and e-mails case-insensitively (as written,
    or HTML-escaped), phone numbers by their digits."""
    plain = html.unescape(text).lower()
    digits = re.sub(r"\D", "", plain)
    found = []
    for r in RESPONDENTS:
        found += [v for v in (r["respondent_name"], r["respondent_email"]) if " ".join(v.lower().split()) in " ".join(plain.split())]
        number = re.sub(r"\D", "", r["respondent_phone"])[1:]
        found += [r["respondent_phone"]] if number in digits else []
    return found


def text_cells(con, where: str = "true") -> list[tuple[str, str, str]]:
    """(table, column, value) of every text cell of the tables and views `where` selects."""
    cells = []
    columns = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        f"where table_catalog = current_database() and ({where}) and (data_type like '%VARCHAR%' "
        "or data_type in ('JSON') or data_type like 'STRUCT%' or data_type like 'MAP%')"
    ).fetchall()
    for schema, table, column in columns:
        for (value,) in con.execute(f'select distinct "{column}"::varchar from "{schema}"."{table}" where "{column}" is not null').fetchall():
            cells.append((f"{schema}.{table}", column, value))
    return cells


def digest(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


# -- the redaction itself, in DuckDB ----------------------------------------------------------------
@pytest.fixture(scope="module")
def macros():
    con = duckdb.connect()
    prepare_warehouse(con)
    yield con
    con.close()


@pytest.mark.parametrize("typed, expected", [
    ("JOANNA SMITH's team", "[redacted]'s team"),
    ("call joanna  smith", "call [redacted]"),
    ("Contact J.Smith@EXAMPLE.org now", "Contact [redacted] now"),
    ("01632 960 001", "[redacted]"),
    ("01632-960001", "[redacted]"),
    ("+44 1632 960001", "[redacted]"),
    ("+44 (0)1632 960001.", "[redacted]."),
    ("0044 1632 960001", "[redacted]"),
    ("ring 0 1 6 3 2 / 9 6 0 0 0 1 later", "ring [redacted] later"),  # her own number, however spelt
    ("someone@else.org.uk and 020 7946 0000", "[redacted] and [redacted]"),  # anyone's e-mail or UK number
    ("Smith Street, 2 to 3 offenders", "Smith Street, 2 to 3 offenders"),  # part of a name is not the name
    ("Referred 01/05/2013 09:00, case E22000001", "Referred 01/05/2013 09:00, case E22000001"),
    ("sftp://iom@files.example.org/2013", "sftp://iom@files.example.org/2013"),  # not an e-mail address
    ("Jane Doe of the council", "Jane Doe of the council"),  # a third party's name: out of scope
])
def test_redact_personal(macros, typed, expected):
    personal = "personal_values('Joanna Smith', ' J.Smith@example.org ', '01632 960001')"
    assert macros.execute(f"select redact_personal(?, {personal})", [typed]).fetchall() == [(expected,)]


def test_redaction_without_a_phone_column_and_of_short_values(macros):
    """2011 has no respondent_phone; values under five characters would match ordinary words."""
    assert macros.execute("select redact_personal('mail Al Li at al@li.org', personal_values('Al Li', 'al@li.org', null))"
                          ).fetchall() == [("mail [redacted] at [redacted]",)]
    assert macros.execute("select redact_personal('Livingston: ask Li', personal_values('Li', null, null))"
                          ).fetchall() == [("Livingston: ask Li",)]
    assert macros.execute("select redact_personal(null, personal_values('Al Li', null, null))").fetchall() == [(None,)]


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    """2011 and 2013 run without Dagster on leaky hand-made exports."""
    monkeypatch.setenv("IOM_DATA_DIR", str(tmp_path / "data"))
    iso = {"started": "2011-05-01 09:00:00", "ended": "2011-05-01 09:30:00"}
    write_landing(tmp_path / "data" / "landing" / "2011", [
        row(1, "E22000001", respondent_name="Joanna Smith", respondent_email="j.smith@example.org",
            q1_iom_in_place=YES, **tick("a1_agency_other", "iom_2011"),
            a1_agency_other_text="Joanna Smith (J.SMITH@example.org)", **iso),
        row(2, "E22000002", respondent_name="Mary O'Brien", respondent_email="mary.obrien@example.org",
            q1_iom_in_place=YES, q2_established="Mary O'Brien", **iso),
    ], version="iom_2011")
    write_landing(tmp_path / "data" / "landing" / "2013", leaky_rows())
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for year in (2011, 2013):
        run_year(con, year)
    yield con
    con.close()


def test_staging_redacts_free_text_and_choices_of_both_questionnaires(warehouse):
    con = warehouse
    columns = ("a1_name", "a1_agency_other_text", "q2_established", "q5_type_other_text", "q7_tool_none")
    staged = {}
    for year, response_id, *values in con.execute(
            f"select survey_year, response_id, {', '.join(columns)} from staging.stg_submissions").fetchall():
        staged.update({(year, c, response_id): v for c, v in zip(columns, values)})
    assert staged[(2011, "a1_agency_other_text", 1)] == "[redacted] ([redacted])"
    assert staged[(2011, "q2_established", 2)] == "[redacted]"
    assert staged[(2013, "a1_name", 1)] == "[redacted]'s team"
    assert staged[(2013, "a1_agency_other_text", 1)] == "call [redacted] on [redacted]"
    assert staged[(2013, "q5_type_other_text", 1)] == "Contact [redacted] or [redacted]"
    assert staged[(2013, "a1_name", 2)] == "Team of [redacted]"
    assert staged[(2013, "a1_agency_other_text", 2)] == "ring [redacted], or [redacted], or write to [redacted]"
    assert staged[(2013, "q2_established", 3)] == "[redacted], [redacted]"
    assert staged[(2013, "q7_tool_none", 4)] == "ask [redacted]"
    # the quarantined choices are echoed redacted
    assert sorted(con.execute("select survey_year, response_id, column_name, value from audit.validation_failure").fetchall()) == [
        (2011, 2, "q2_established", "[redacted]"),
        (2013, 3, "q2_established", "[redacted], [redacted]"),
        (2013, 4, "q7_tool_none", "ask [redacted]"),
    ]
    assert con.execute("select detail from marts.submission_outcome where survey_year = 2013 and response_id = 3"
                       ).fetchall()[0][0].startswith("q2_established='[redacted], [redacted]'")
    # labels and everything else as before
    assert con.execute("select q2_established from staging.stg_submissions where survey_year = 2013 and response_id = 2"
                       ).fetchall() == [("partially established",)]
    cells = text_cells(con, "table_schema <> 'raw'")
    assert len({(t, c) for t, c, _ in cells}) > 100
    assert [(t, c) for t, c, v in cells if leaked(v)] == []


def test_the_value_check_passes_clean_tables_and_finds_planted_values(warehouse):
    con = warehouse
    for year in (2011, 2013):
        outcome = evaluate(con, CHECK, year)
        assert outcome.passed and outcome.rows_examined > 100, outcome.examples
    plants = [
        # exact, case-insensitive, in a table without response_id
        "update marts.question_summary set option_label = 'JOANNA SMITH' where survey_year = 2013 and question_id = 'agency' and option_id = 'police'",
        # the row's own name among other words
        "update marts.arrangement set arrangement_name = 'Team of Mary O''Brien' where survey_year = 2013 and response_id = 2",
        # a phone number without its 0, other separators, in a table of another layer
        "update intermediate.int_submission_outcome set detail = 'tel. 7700/900/003' where survey_year = 2013 and response_id = 3",
        # any e-mail address, any UK phone number
        "update staging.stg_submissions set csp_name = 'x@y.org' where survey_year = 2013 and response_id = 4",
        "insert into marts.quality_warning (survey_year, response_id, csp_code, warning, item, detail) "
        "values (2013, 1, 'E22000001', 'routing', 'q1', 'call 020 7946 0000')",
        # a view that reads the raw layer
        "create view marts.respondents as select respondent_name from raw.survey_export_2013",
    ]
    con.execute("begin transaction")
    try:
        for statement in plants:
            con.execute(statement)
        outcome = evaluate(con, CHECK, 2013)
    finally:
        con.execute("rollback")
    found = {(r.table_name, r.column_name, r.found) for r in outcome.examples.itertuples()}
    assert found == {
        ("marts.question_summary", "option_label", "a respondent's value"),
        ("marts.question_summary", "option_label", "a respondent's value among its words"),
        ("marts.arrangement", "arrangement_name", "a respondent's value among its words"),
        ("intermediate.int_submission_outcome", "detail", "a respondent's phone number among its digits"),
        ("staging.stg_submissions", "csp_name", "an e-mail address"),
        ("marts.quality_warning", "detail", "a UK phone number"),
        ("marts.respondents", None, "a view that reads the raw layer"),
    }
    assert not outcome.passed
    shown = outcome.examples.to_csv().lower()
    assert not leaked(shown) and "x@y.org" not in shown and "7946" not in shown  # never the values


# -- end to end through Dagster -----------------------------------------------------------------
@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The leaky export published once by `iom run`; every test below runs the year again."""
    data = tmp_path_factory.mktemp("personal_data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IOM_DATA_DIR", str(data))
        mp.setenv("DAGSTER_HOME", str(data / "dagster_home"))
        write_landing(data / "landing" / "2013", leaky_rows())
        assert main(["run", "--year", "2013"]) == 0
        yield data


def published_text_files(root: Path):
    for path in sorted(root.rglob("*")):
        if path.suffix in (".html", ".csv", ".svg"):
            yield path, path.read_text(encoding="utf-8")
        elif path.suffix in (".xlsx", ".ods"):
            with zipfile.ZipFile(path) as archive:
                yield path, "\n".join(archive.read(n).decode("utf-8") for n in archive.namelist())


@pytest.mark.slow
def test_iom_run_publishes_with_every_typed_value_redacted(published):
    warehouse = duckdb.connect(str(published / "warehouse" / "iom.duckdb"), read_only=True)
    try:
        cells = text_cells(warehouse, "table_schema <> 'raw'")
        assert [(t, c) for t, c, v in cells if leaked(v)] == []
        redacted = {(t, c) for t, c, v in cells if "[redacted]" in v}
        assert {("staging.stg_submissions", "a1_name"), ("staging.stg_submissions", "q2_established"),
                ("intermediate.int_counted_answers", "a1_name"), ("marts.arrangement", "arrangement_name"),
                ("marts.arrangement", "agency_other_text"), ("audit.validation_failure", "value"),
                ("marts.submission_outcome", "detail")} <= redacted
        counts = dict(warehouse.execute(
            "select column_name, cells_redacted from audit.redaction where survey_year = 2013").fetchall())
        assert {c: n for c, n in counts.items() if n} == {
            "a1_name": 2, "a1_agency_other_text": 2, "q5_type_other_text": 1, "q2_established": 1, "q7_tool_none": 1}
        assert counts["a6_name"] == 0 and len(counts) == 13 + 2  # every free-text column, and the choices redacted
        with DagsterInstance.get() as instance:  # the asset's metadata: counts per column, never values
            metadata = instance.get_latest_materialization_event(AssetKey(["audit", "redaction"])).asset_materialization.metadata
        assert metadata["survey_year"].value == "2013" and metadata["cells_redacted"].value == 7
        assert metadata["cells_redacted: a1_name"].value == 2 and metadata["cells_redacted: a6_name"].value == 0
        # the raw layer keeps what was typed
        assert warehouse.execute("select a1_name from raw.survey_export_2013 where response_id = '1'"
                                 ).fetchall() == [("JOANNA SMITH's team",)]
    finally:
        warehouse.close()

    snapshot = duckdb.connect(str(published / "publication" / "iom_marts.duckdb"), read_only=True)
    try:
        cells = text_cells(snapshot)
        assert len({t for t, _, _ in cells}) >= 5 and [(t, c) for t, c, v in cells if leaked(v)] == []
        assert snapshot.execute("select arrangement_name from marts.arrangement where response_id = 1"
                                ).fetchall() == [("[redacted]'s team",)]
    finally:
        snapshot.close()

    parquet = duckdb.connect()
    for path in sorted((published / "publication" / "marts").glob("*.parquet")):
        rows = parquet.execute(f"select * from read_parquet('{path}')").fetchall()
        assert not [v for r in rows for v in r if isinstance(v, str) and leaked(v)], path.name
    parquet.close()

    year_dir = published / "publication" / "2013"
    files = list(published_text_files(year_dir))
    assert len(files) > 10 and not [p.name for p, text in files if leaked(text)]
    personal = {v for r in RESPONDENTS for v in r.values()}
    assert find_in_files(published / "publication", personal) == []
    assert find_in_files(published / "warehouse" / "gx_data_docs", personal) == []
    assert find_in_files(published / "dagster_home", personal) == []


def failing_run(published: Path, capture) -> str:
    """Run the year again; it must fail and leave the publication as it was. Returns stderr."""
    before = digest(published / "publication")
    capture.readouterr()
    assert main(["run", "--year", "2013"]) == 1
    err = capture.readouterr().err
    assert digest(published / "publication") == before
    assert not leaked(err), err  # the gate names places, never the values
    return err


@pytest.mark.slow
@pytest.mark.parametrize("model, statement, where", [
    ("arrangement", "update marts.arrangement set arrangement_name = 'Team of JOANNA SMITH' where survey_year = ?",
     "marts.arrangement"),
    ("stg_submissions", "update staging.stg_submissions set csp_name = (select respondent_email from raw.survey_export_2013 "
     "where response_id = '2') where survey_year = ? and response_id = 2", "staging.stg_submissions"),
    ("submission_outcome", "update marts.submission_outcome set detail = 'ring +44 7700 900 003' where survey_year = ? "
     "and response_id = 3", "marts.submission_outcome"),
])
def test_a_value_written_back_into_a_table_blocks_the_publication(published, capsys, monkeypatch, model, statement, where):
    build = pipeline.build_model

    def leaking_build(con, m, year, qn):
        rows = build(con, m, year, qn)
        if m.name == model:
            con.execute(statement, [year])
        return rows

    monkeypatch.setattr(pipeline, "build_model", leaking_build)
    err = failing_run(published, capsys)
    assert "no_personal_values_outside_raw" in err and where in err


@pytest.mark.slow
@pytest.mark.parametrize("leak", ["cell", "comment", "parquet"])
def test_a_value_in_the_bi_snapshot_or_its_parquet_files_blocks_the_publication(published, capsys, monkeypatch, leak):
    """The warehouse is clean; only what is about to be renamed into place holds the value."""
    if leak == "cell":
        replace = publish.replace_year_rows

        def leaking_replace(con, table, select_sql, year, year_column="survey_year"):
            rows = replace(con, table, select_sql, year, year_column)
            if table.endswith("marts.arrangement"):
                con.execute(f"update {table} set agency_other_text = 'Call 01632 960 001' where survey_year = ?", [year])
            return rows

        monkeypatch.setattr(publish, "replace_year_rows", leaking_replace)
        expected = "the BI snapshot: marts.arrangement.agency_other_text"
    elif leak == "comment":
        describe = publish.table_description
        monkeypatch.setattr(publish, "table_description",
                            lambda table: describe(table) + (" Ask Mary O'Brien." if table == "marts.csp_return" else ""))
        expected = "the BI snapshot: marts.csp_return.comment"
    else:
        write = publish._write_parquet

        def leaking_write(con, table, descriptions, path):
            write(con, table, descriptions, path)
            if table == "marts.arrangement":
                leaky = path.with_suffix(".leak")
                con.execute(f"copy (select * replace ('peter.jones@example.org' as arrangement_name) "
                            f"from read_parquet('{path}')) to '{leaky}' (format parquet)")
                leaky.replace(path)

        monkeypatch.setattr(publish, "_write_parquet", leaking_write)
        expected = "the Parquet marts: arrangement.parquet.arrangement_name"
    err = failing_run(published, capsys)
    # A changed cell makes the copy differ from the marts the checks scanned; a description is scanned.
    refusal = "PersonalDataFound" if leak == "comment" else "CopyDiffers"
    assert "publication__published failed" in err and refusal in err and expected in err, err
    assert not list((published / "work" / "snapshot").glob("iom_marts-*"))  # nothing left to be picked up


@pytest.mark.slow
def test_a_publication_launched_on_its_own_checks_the_marts_itself(published, capsys):
    """Launched without the year's checks (only `publication/published` selected), the copies
    cannot be compared with what a check passed in the run: the check runs, and a value planted
    in a mart after the last full run stops the publication."""
    warehouse = duckdb.connect(str(published / "warehouse" / "iom.duckdb"))
    try:
        warehouse.execute("update marts.arrangement set arrangement_name = 'Call 01632 960 001' "
                          "where survey_year = 2013 and response_id = 1")
    finally:
        warehouse.close()
    before = digest(published / "publication")
    capsys.readouterr()
    try:
        assert main(["run", "--year", "2013", "--select", "publication/published"]) == 1
        err = capsys.readouterr().err
        assert "PersonalDataFound" in err and "no_personal_values_outside_raw" in err, err
        assert digest(published / "publication") == before and not leaked(err)
    finally:
        assert main(["run", "--year", "2013"]) == 0  # the marts rebuilt, for the tests after this one


class _Report:
    """Writes one more line into the staged report, the way its template escapes text."""

    def __init__(self, text: str, name: str = "report.html"):
        self.text, self.name = text, name

    def __call__(self, monkeypatch):
        from iom_pipeline.publication import report

        render = report.render_report

        def leaking_render(year, marts, figures, path, **kwargs):
            written = render(year, marts, figures, path, **kwargs)
            target = Path(path).parent / self.name
            with target.open("a", encoding="utf-8") as fh:
                fh.write(self.text)
            return written

        monkeypatch.setattr(report, "render_report", leaking_render)
        return f"publication/{self.name}"


def _gx_page(monkeypatch):
    from iom_pipeline.defs.quality.assets import docs_dir

    page = docs_dir() / "notes.html"  # a page beside the site's own, which the site leaves alone
    page.write_text("<p>Checked with Joanna&nbsp;Smith</p>", encoding="utf-8")
    return "gx_data_docs/notes.html"


def _event_metadata(monkeypatch):
    from iom_pipeline.defs.survey import redaction

    record = redaction.record_redactions
    monkeypatch.setattr(redaction, "record_redactions", lambda con, year: {**record(con, year), "by Peter Jones": 0})
    return "event log: audit__redaction, ASSET_MATERIALIZATION"


def _compute_log(monkeypatch):
    from iom_pipeline.defs.survey import redaction

    record = redaction.record_redactions

    def printing(con, year):
        print("debug: 07700 900 003")  # a step's stray print is captured by Dagster
        return record(con, year)

    monkeypatch.setattr(redaction, "record_redactions", printing)
    return "compute logs/"


@pytest.mark.slow
@pytest.mark.parametrize("plant", [
    _Report("<p>Contact Mary O&#39;Brien</p>"),
    _Report("<p>MARY&#46;OBRIEN&#64;EXAMPLE&#46;ORG</p>"),
    _Report("area,tel\r\nWest,+44 (0)1632 960 002\r\n", "contacts.csv"),
    _gx_page,
    _event_metadata,
    _compute_log,
], ids=["escaped-name", "escaped-email", "csv-phone", "data-docs", "event-metadata", "compute-log"])
def test_a_value_in_a_published_file_or_the_run_record_blocks_the_publication(published, capfd, monkeypatch, plant):
    """(capfd, not capsys: Dagster captures a step's output at the file descriptor.)"""
    from iom_pipeline.defs.quality.assets import docs_dir

    place = plant(monkeypatch)
    try:
        err = failing_run(published, capfd)
    finally:
        (docs_dir() / "notes.html").unlink(missing_ok=True)
    assert "no_personal_data_in_publication" in err and place in err, err


# -- hostile text ---------------------------------------------------------------------------------
IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script>"
FORMULA = "=cmd|' /C calc'!A0"


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


@pytest.mark.slow
def test_hostile_text_stays_inert_in_every_page_and_spreadsheet(tmp_path, monkeypatch):
    monkeypatch.setenv("IOM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    rows = leaky_rows()[:2] + [
        row(3, "E22000003", status=IMG, q1_iom_in_place=YES),
        row(4, "W14000001", q1_iom_in_place=YES, q3_arrangements=ONE, q5_prioritise=YES, **tick("q5_type_other"),
            q5_type_other_text=IMG, a1_name=SCRIPT, **tick("a1_agency_other"), a1_agency_other_text=FORMULA),
    ]
    write_landing(tmp_path / "landing" / "2013", rows)
    assert main(["run", "--year", "2013"]) == 0
    pages = [p for p in (tmp_path / "publication" / "2013").rglob("*.html")]
    pages += list((tmp_path / "warehouse" / "gx_data_docs").rglob("*.html"))
    assert len(pages) >= 3
    for page in pages:
        parser = Elements()
        parser.feed(page.read_text(encoding="utf-8"))
        assert not [a for tag, a in parser.elements if "onerror" in a or (tag == "img" and a.get("src") == "x")], page
        assert not [s for s in parser.scripts if "alert(" in s], page
    for path, text in published_text_files(tmp_path / "publication" / "2013"):
        if path.suffix == ".csv":
            cells = [c for r in csv.reader(io.StringIO(text)) for c in r]
        else:
            cells = re.findall(r">([^<]*)<", text)
        assert not [c for c in cells if html.unescape(c).lstrip().startswith(("=", "+", "-", "@")) and "cmd" in c], path
    # the free text itself reached the marts as typed (inert data), the status row was quarantined
    con = duckdb.connect(str(tmp_path / "warehouse" / "iom.duckdb"), read_only=True)
    try:
        assert con.execute("select arrangement_name, agency_other_text from marts.arrangement where response_id = 4"
                           ).fetchall() == [(SCRIPT, FORMULA)]
        assert con.execute("select outcome, reason from marts.submission_outcome where response_id = 3"
                           ).fetchall() == [("quarantined", "invalid_value")]
    finally:
        con.close()
