"""Small hand-made exports for rule tests: give only the cells that matter, in questionnaire terms."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from iom_pipeline.questionnaire import load_questionnaire

FRAME = [
    ("E22000001", "Brighton and Hove"),
    ("E22000002", "King's Lynn and West Norfolk"),
    ("E22000003", "Stockton-on-Tees"),
    ("W14000001", "Ynys Môn"),
]


def row(response_id: int, csp_code: str = "", csp_name: str = "", status: str = "Completed",
        started: str = "01/05/2013 09:00", ended: str | None = "01/05/2013 09:30", **answers) -> dict:
    """One export row. `answers` use export column names (q1_iom_in_place='Yes', q4_coloc_probation='Probation')."""
    values = {
        "response_id": str(response_id),
        "started": started,
        "ended": "" if ended is None or status == "Partial" else ended,
        "status": status,
        "respondent_name": f"Person {response_id}",
        "respondent_email": f"person{response_id}@example.org",
        "respondent_phone": f"01632 960{response_id:03d}",
        "csp_code": csp_code,
        "csp_name": csp_name,
    }
    values.update({k: str(v) for k, v in answers.items()})
    return values




def tick(column: str, version: str = "iom_2013") -> dict:
    """A ticked multi-select cell holds its option's label."""
    qn = load_questionnaire(version)
    label = next(c.label for c in qn.columns() if c.name == column)
    return {column: label}


def write_landing(directory: Path, rows: list[dict], frame=FRAME, version: str = "iom_2013",
                  encoding: str = "utf-8-sig", columns: list[str] | None = None, synthetic: bool = True) -> Path:
    """The landing files of a hand-made export. They are marked synthetic (SYNTHETIC.txt), as they
    are: a real year is published only with a release entry (assets/publication/releases.yaml)."""
    qn = load_questionnaire(version)
    directory.mkdir(parents=True, exist_ok=True)
    header = columns or qn.expected_columns
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\r\n", extrasaction="raise")
    writer.writeheader()
    for r in rows:
        writer.writerow({c: r.get(c, "") for c in header})
    (directory / "survey_export.csv").write_bytes(buf.getvalue().encode(encoding))
    with (directory / "frame.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(["csp_code", "csp_name"])
        w.writerows(frame)
    if synthetic:
        (directory / "SYNTHETIC.txt").write_text("Hand-made test export: no real survey returns.\n", encoding="utf-8")
    return directory
