"""The floor under the pipeline's data work: the tables its layers and the outputs contract
require, written by the plainest DuckDB SQL into a fresh file, and nothing else.

No rule is applied beyond what shapes each table (labels are trimmed and case-folded, the latest
return of each frame CSP is counted), nothing is redacted, validated or checked, no record
numbers are kept, and the only intermediate table is the narrow list of counted returns.
What the pipeline spends beyond these times, at the same size, is the cost of its rules, its
checks and its libraries. Columns come from the questionnaire, as the models' do.

    python bench/layer_floor.py --landing DIR/landing/2013 --out DIR/floor [--year 2013]

prints one JSON object: each write's seconds, and their total.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import duckdb

from iom_pipeline.pipeline import DISABLED_COMPRESSION, MEMORY_LIMIT
from iom_pipeline.publish import SNAPSHOT_STORAGE_VERSION
from iom_pipeline.questionnaire import CSP_LEVEL, questionnaire_for_year
from iom_pipeline.sql_models import ident, lit


def _csv(path: Path) -> str:
    return f"read_csv({lit(str(path))}, all_varchar = true)"


def floor_writes(landing: Path, out: Path, year: int) -> dict[str, str]:
    """Each required table and the plainest SQL that writes it, in order (files under `out`)."""
    qn = questionnaire_for_year(year)
    answers = qn.columns()
    csp_level = [c for c in answers if c.block_no == CSP_LEVEL]
    staged = ",\n".join(f"nullif(lower(trim({ident(c.name)})), '') as {ident(c.name)}" for c in answers)
    # a block of a counted return with any answer is an arrangement: one row each
    arrangement = " union all ".join(
        f"select s.survey_year, s.csp_code, {b} as arrangement_no, "
        + ", ".join(f"{ident(c.name)} as {ident(f'{c.item_id}_{c.option_id}' if c.option_id else c.item_id)}"
                    for c in answers if c.block_no == b)
        + " from stg_submissions s join counted using (response_id) where coalesce("
        + ", ".join(ident(c.name) for c in answers if c.block_no == b) + ") is not null"
        for b in qn.blocks
    )
    # the latest return of each frame CSP: a narrow table of keys, no copy of the answers
    counted = ("create table counted as select s.response_id, s.csp_code from stg_submissions s "
               "join stg_frame f using (csp_code) "
               "qualify row_number() over (partition by s.csp_code order by s.response_id desc) = 1")
    marts = ("csp_return", "arrangement", "submission_outcome", "question_summary")
    return {
        "raw export": f"create table raw_export as select * from {_csv(landing / 'survey_export.csv')}",
        "raw frame": f"create table raw_frame as select * from {_csv(landing / 'frame.csv')}",
        "staged export": (
            f"create table stg_submissions as select {int(year)} as survey_year, "
            "try_cast(trim(response_id) as bigint) as response_id, nullif(upper(trim(csp_code)), '') as csp_code, "
            f"nullif(lower(trim(status)), '') as status, {staged} from raw_export"
        ),
        "staged frame": (
            "create table stg_frame as select distinct on (csp_code) upper(trim(csp_code)) as csp_code, "
            "trim(csp_name) as csp_name from raw_frame"
        ),
        "counted returns": counted,
        "csp_return": (
            f"create table csp_return as select {int(year)} as survey_year, f.csp_code, f.csp_name, "
            "c.response_id is not null as responded, c.response_id, "
            + ", ".join(f"c.{ident(c.name)}" for c in csp_level)
            + " from stg_frame f left join (counted join stg_submissions using (response_id, csp_code)) c using (csp_code)"
        ),
        "arrangement": f"create table arrangement as {arrangement}",
        "submission_outcome": (
            "create table submission_outcome as select s.survey_year, s.response_id, c.csp_code, "
            "case when c.response_id is null then 'superseded' else 'counted' end as outcome "
            "from stg_submissions s left join counted c using (response_id)"
        ),
        "question_summary": (
            "create table question_summary as select question_id, answer, count(*) as n from "
            f"(unpivot (select {', '.join(ident(c.name) for c in csp_level)} from csp_return) "
            "on columns(*) into name question_id value answer) group by all"
        ),
        "BI snapshot": (
            f"attach {lit(str(out / 'snapshot.duckdb'))} as snapshot (storage_version {lit(SNAPSHOT_STORAGE_VERSION)}); "
            + "; ".join(f"create table snapshot.{m} as from {m}" for m in marts)
            + "; checkpoint snapshot; detach snapshot"
        ),
        "Parquet": "; ".join(f"copy {m} to {lit(str(out / 'parquet' / f'{m}.parquet'))} (format parquet)" for m in marts),
        "checkpoint": "checkpoint",
    }


def measure_floor(landing: Path, out: Path, year: int, keep: bool = False) -> dict[str, float]:
    """Each write's seconds. `out` is emptied first and removed after, unless `keep`."""
    shutil.rmtree(out, ignore_errors=True)
    (out / "parquet").mkdir(parents=True)
    con = duckdb.connect(str(out / "floor.duckdb"))
    # the warehouse connection's settings (iom_pipeline.pipeline), so that writes compare
    con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"set disabled_compression_methods = '{DISABLED_COMPRESSION}'")
    con.execute("set preserve_insertion_order = false")
    seconds: dict[str, float] = {}
    for name, sql in floor_writes(landing, out, year).items():
        start = time.perf_counter()
        con.execute(sql)
        seconds[name] = round(time.perf_counter() - start, 3)
    con.close()
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", required=True, help="a year's landing folder (survey_export.csv, frame.csv)")
    parser.add_argument("--out", required=True, help="a scratch folder, emptied before and removed after")
    parser.add_argument("--year", type=int, default=2013)
    args = parser.parse_args()
    seconds = measure_floor(Path(args.landing), Path(args.out), args.year)
    print(json.dumps({"seconds": seconds, "total": round(sum(seconds.values()), 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
