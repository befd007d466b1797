"""Every bad file gets one clear answer; row-level problems are quarantined with a reason."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from exports import row, write_landing
from iom_pipeline.ingest import InputFileError
from iom_pipeline.pipeline import run_year

GOOD_ROWS = [row(1, "E22000001", "", q1_iom_in_place="Yes", a1_agency_police="Police"),
             row(2, "E22000002", "", q1_iom_in_place="No")]


def export(landing: Path) -> Path:
    return landing / "survey_export.csv"


def _replace(path: Path, old: bytes, new: bytes, count: int = -1) -> None:
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, count))


FILE_CASES = {
    "empty file": (lambda L: export(L).write_bytes(b""), "survey_export.csv", "empty", None),
    "header only": (lambda L: export(L).write_bytes(export(L).read_bytes().split(b"\r\n")[0] + b"\r\n"),
                    "survey_export.csv", "no submission rows", None),
    "missing column": (lambda L: _replace(export(L), b"q2_established,", b""), "survey_export.csv",
                       "q2_established", "q2_established"),
    "semicolons": (lambda L: _replace(export(L), b",", b";"), "survey_export.csv", "semicolons", None),
    "cut short inside a quote": (lambda L: export(L).write_bytes(export(L).read_bytes()[:-30] + b'"Unfinished'),
                                 "survey_export.csv", "never closed", None),
    "a row with an extra field": (lambda L: export(L).write_bytes(export(L).read_bytes()[:-2] + b",surplus\r\n"),
                                  "survey_export.csv", "fields", None),
    "spreadsheet named .csv": (lambda L: export(L).write_bytes(b"PK\x03\x04" + bytes(200)), "survey_export.csv",
                               "spreadsheet", None),
    "legacy xls named .csv": (lambda L: export(L).write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200)),
                              "survey_export.csv", "xls", None),
    "neither utf-8 nor windows-1252": (lambda L: export(L).write_bytes(export(L).read_bytes() + b"3,\x81\r\n"),
                                       "survey_export.csv", "Windows-1252", None),
    "duplicate response_id": (lambda L: _replace(export(L), b"\r\n2,", b"\r\n1,"), "survey_export.csv",
                              "more than once", "response_id"),
    "response_id not a number": (lambda L: _replace(export(L), b"\r\n2,", b"\r\nR2,"), "survey_export.csv",
                                 "whole number", "response_id"),
    "frame with a duplicate CSP": (lambda L: (L / "frame.csv").write_text("csp_code,csp_name\nE22000001,A\nE22000001,B\n"),
                                   "frame.csv", "listed 2 times", "csp_code"),
    "frame with no CSPs": (lambda L: (L / "frame.csv").write_text("csp_code,csp_name\n"), "frame.csv", "no CSPs", None),
    "frame missing": (lambda L: (L / "frame.csv").unlink(), "frame.csv", "missing", None),
    "no export": (lambda L: export(L).unlink(), "2013", "no survey export", None),
    "gzip-compressed": (lambda L: export(L).write_bytes(__import__("gzip").compress(export(L).read_bytes())),
                        "survey_export.csv", "gzip", None),
    "an HTML error page saved as the export": (
        lambda L: export(L).write_text("<html><body>Your session has expired</body></html>"),
        "survey_export.csv", "does not look like a survey export", None),
    # special files: refused by their kind, never opened for reading (a FIFO would block)
    "a directory named as the export": (lambda L: (export(L).unlink(), export(L).mkdir()),
                                        "survey_export.csv", "not a regular file (it is a directory)", None),
    "a named pipe as the frame": (lambda L: ((L / "frame.csv").unlink(), os.mkfifo(L / "frame.csv")),
                                  "frame.csv", "not a regular file (it is a named pipe)", None),
    "a socket as the published figures": (lambda L: _bind_socket(L / "published.csv"),
                                          "published.csv", "not a regular file (it is a socket)", None),
    "a device as the export": (lambda L: (export(L).unlink(), export(L).symlink_to("/dev/null")),
                               "survey_export.csv", "not a regular file (it is a character device)", None),
    # published figures: every row read exactly, or the file refused with the row named
    "published year not a year": (lambda L: _published(L, "FY2013,iom_in_place,yes,98,181,x"),
                                  "published.csv", "survey_year 'FY2013' is not a year", "survey_year"),
    "published unknown option": (lambda L: _published(L, "2013,iom_in_place,maybe,98,181,x"),
                                 "published.csv", "'iom_in_place/maybe' is not a question and option", "question_id"),
    "published percentage not a number": (lambda L: _published(L, "2013,iom_in_place,yes,ninety-eight,181,x"),
                                          "published.csv", "'ninety-eight' is not a whole percentage", "published_pct"),
    "published percentage over 100": (lambda L: _published(L, "2013,iom_in_place,yes,101,181,x"),
                                      "published.csv", "'101' is not a whole percentage", "published_pct"),
    "published count with a decimal": (lambda L: _published(L, "2013,iom_in_place,yes,98,181.5,x"),
                                       "published.csv", "'181.5' is not a whole number", "published_n"),
}


def _published(landing: Path, bad_line: str) -> None:
    """published.csv with one good row and then `bad_line` (record 2)."""
    (landing / "published.csv").write_text(
        "survey_year,question_id,option_id,published_pct,published_n,source\n"
        f"2013,iom_in_place,no,2,3,Table 1\n{bad_line}\n", encoding="utf-8")


def _bind_socket(path: Path) -> None:
    import socket

    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()  # the socket file stays


@pytest.fixture
def landing(tmp_path, monkeypatch):
    monkeypatch.setenv("IOM_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "data" / "landing" / "2013"
    write_landing(path, GOOD_ROWS)
    return path


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_a_bad_file_is_refused_with_file_problem_and_place(landing, tmp_path, case):
    mutate, file_name, problem, column = FILE_CASES[case]
    mutate(landing)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    with pytest.raises(InputFileError) as refused:
        run_year(con, 2013)
    message = str(refused.value)
    assert file_name in message
    assert problem.lower() in message.lower()
    assert "Errno" not in message
    if column:
        assert refused.value.column == column
    if case.startswith("published") and "year" not in problem:
        assert refused.value.row == 2  # the bad record, after a good one


ROW_CASES = {
    "a label not in the questionnaire": ({"q2_established": "Mostly"}, "invalid_value", "q2_established"),
    "a tick holding another option's label": ({"q4_coloc_probation": "Housing services"}, "invalid_value", "q4_coloc_probation"),
    "an impossible date": ({"ended": "31/02/2013 10:00"}, "invalid_timestamp", "ended"),
    "a month-first date": ({"started": "05/13/2013 10:00"}, "invalid_timestamp", "started"),
    "an unknown status": ({"status": "Submitted"}, "invalid_value", "status"),
    "a completed row without an end": ({"ended": ""}, "invalid_timestamp", "ended"),
    "a 5 MB free-text cell": ({"a1_name": "x" * (5 * 1024 * 1024)}, "invalid_value", "a1_name"),
}


@pytest.mark.parametrize("case", sorted(ROW_CASES))
def test_a_bad_row_is_quarantined_with_its_reason_and_never_counted(landing, tmp_path, case):
    cells, reason, column = ROW_CASES[case]
    bad = row(3, "E22000003", "", q1_iom_in_place="Yes", q2_established="Fully established")
    bad.update(cells)
    write_landing(landing, [*GOOD_ROWS, bad])
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    run_year(con, 2013)
    outcome, got_reason, detail = con.execute(
        "select outcome, reason, detail from marts.submission_outcome where response_id = 3").fetchall()[0]
    assert (outcome, got_reason) == ("quarantined", reason)
    assert column in detail
    assert con.execute("select responded from marts.csp_return where csp_code = 'E22000003'").fetchall() == [(False,)]
    assert con.execute("select count(*) from marts.submission_outcome").fetchall() == [(3,)]


def test_a_spreadsheet_export_is_read_like_the_csv(landing, tmp_path):
    import csv

    from openpyxl import Workbook

    with export(landing).open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    wb = Workbook()
    ws = wb.active
    for r in rows:
        # Excel keeps ids as numbers: the reader must turn them back into the export's text.
        ws.append([int(v) if i == 0 and v.isdigit() else v for i, v in enumerate(r)])
    wb.save(landing / "survey_export.xlsx")
    export(landing).unlink()
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    run_year(con, 2013)
    assert con.execute("select response_id, outcome from marts.submission_outcome order by 1").fetchall() == [
        (1, "counted"), (2, "counted")]


@pytest.mark.parametrize("variant", ["utf-16", "lf-endings", "header-case-and-padding"])
def test_harmless_variants_are_read(landing, tmp_path, variant):
    text = export(landing).read_text(encoding="utf-8-sig")
    if variant == "utf-16":
        export(landing).write_text(text, encoding="utf-16")
    elif variant == "lf-endings":
        export(landing).write_text(text.replace("\r\n", "\n"), encoding="utf-8")
    else:
        export(landing).write_text(text.replace("q1_iom_in_place", " Q1_IOM_In_Place "), encoding="utf-8")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    run_year(con, 2013)
    assert con.execute("select response_id, outcome from marts.submission_outcome order by 1").fetchall() == [
        (1, "counted"), (2, "counted")]


def _tree_digest(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_iom_run_refuses_bad_files_clearly_and_leaves_the_publication_alone(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "IOM_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}
    landing = data / "landing" / "2013"
    write_landing(landing, GOOD_ROWS)
    iom = [sys.executable, "-m", "iom_pipeline.cli", "run", "--year", "2013"]
    first = subprocess.run(iom, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    before = _tree_digest(data / "publication")
    assert "2013/report.html" in before

    for case in ("semicolons", "duplicate response_id", "cut short inside a quote"):
        write_landing(landing, GOOD_ROWS)
        FILE_CASES[case][0](landing)
        failed = subprocess.run(iom, env=env, capture_output=True, text=True, timeout=600)
        assert failed.returncode == 1, case
        assert "Traceback" not in failed.stderr and "Traceback" not in failed.stdout, case
        assert "survey_export.csv" in failed.stderr and FILE_CASES[case][2] in failed.stderr, failed.stderr
        assert _tree_digest(data / "publication") == before, case


def test_a_refusal_names_the_files_own_line(landing, tmp_path):
    """The header is line 1, and a quoted value spanning lines moves the records after it down:
    the message names the line an editor shows, not the record's number."""
    path = landing / "published.csv"
    path.write_text(
        "survey_year,question_id,option_id,published_pct,published_n,source\n"
        '2013,iom_in_place,no,2,3,"Table 1,\nsecond line of a note,\nthird"\n'
        "2013,iom_in_place,yes,ninety,181,x\n",
        encoding="utf-8",
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    with pytest.raises(InputFileError) as refused:
        run_year(con, 2013)
    assert refused.value.row == 2 and refused.value.line == 5
    assert str(refused.value).endswith("(line 5, column published_pct)")
    assert InputFileError(path, "the header is wrong", row=0).line == 1
