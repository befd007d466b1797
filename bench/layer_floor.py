"""The floor under the pipeline's data work: the tables its layers and the outputs contract
require, written by the plainest DuckDB SQL into a fresh file, and nothing else.

No rule is applied beyond what shapes each table (labels are trimmed and case-folded, the latest
return of each frame CSP is counted), nothing is redacted, validated or checked, no record
numbers are kept, and the only intermediate tables are the narrow list of counted returns and
the ONS geography (a few hundred rows, by the project's own models). The marts are those of
FLOOR_MARTS, at their contract grain, in the BI snapshot's `marts` schema and as Parquet;
question_summary counts each answer with its column's answered rows as the base, without the
rules' bases or the zero rows.

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

from iom_pipeline.pipeline import tune_connection
from iom_pipeline.publish import SNAPSHOT_STORAGE_VERSION
from iom_pipeline.questionnaire import CSP_LEVEL, questionnaire_for_year
from iom_pipeline.sql_models import discover_models, ident, lit, render
from iom_pipeline.warehouse import ensure_schemas


# The marts the floor writes, and those it leaves out with why: the rules decide the warnings'
# rows, and the comparison needs two years (a few dozen rows).
FLOOR_MARTS = ("dim_csp", "csp_return", "arrangement", "submission_outcome", "question_summary")
LEFT_OUT_MARTS = {"quality_warning": "the rules' findings", "year_comparison": "two years, a few dozen rows"}


def _csv(path: Path) -> str:
    return f"read_csv({lit(str(path))}, all_varchar = true)"


def _mart_column(c) -> str:
    """An arrangement question's column in the arrangement mart: the block number dropped."""
    return f"{c.item_id}_{c.option_id}" if c.option_id else c.item_id


def floor_writes(landing: Path, out: Path, year: int) -> dict[str, str]:
    """Each required table and the plainest SQL that writes it, in order (files under `out`)."""
    qn = questionnaire_for_year(year)
    answers = qn.columns()
    csp_level = [c for c in answers if c.block_no == CSP_LEVEL]
    blocks = {b: [c for c in answers if c.block_no == b] for b in qn.blocks}
    staged = ", ".join(f"nullif(lower(trim({ident(c.name)})), '') as {ident(c.name)}" for c in answers)
    # a block of a counted return with any answer is an arrangement: one row each
    arrangement = " union all ".join(
        f"select s.survey_year, s.csp_code, {b} as arrangement_no, "
        + ", ".join(f"{ident(c.name)} as {ident(_mart_column(c))}" for c in columns)
        + " from staging.stg_submissions s join staging.counted using (response_id) where coalesce("
        + ", ".join(ident(c.name) for c in columns) + ") is not null"
        for b, columns in blocks.items()
    ) or "select null::integer as survey_year, null::varchar as csp_code, null::integer as arrangement_no where false"
    # question_summary counts the answers of both marts, free text left out
    counted_answers = [f"unpivot (select {', '.join(ident(c.name) for c in csp_level if c.role != 'text')} "
                       "from marts.csp_return) on columns(*) into name question_id value answer"]
    if blocks:
        first = next(iter(blocks.values()))
        counted_answers.append(f"unpivot (select {', '.join(ident(_mart_column(c)) for c in first if c.role != 'text')} "
                               "from marts.arrangement) on columns(*) into name question_id value answer")
    models = discover_models()
    geography = [models[name] for name in ("stg_ons_csp_lookup", "stg_ons_region_lookup", "int_csp_geography")]
    return {
        "raw export": f"create table raw.export as select * from {_csv(landing / 'survey_export.csv')}",
        "raw frame": f"create table raw.frame as select * from {_csv(landing / 'frame.csv')}",
        "staged export": (
            f"create table staging.stg_submissions as select {int(year)} as survey_year, "
            "try_cast(trim(response_id) as bigint) as response_id, nullif(upper(trim(csp_code)), '') as csp_code, "
            f"nullif(lower(trim(status)), '') as status, {staged} from raw.export"
        ),
        "staged frame": (
            "create table staging.stg_frame as select distinct on (csp_code) upper(trim(csp_code)) as csp_code, "
            "trim(csp_name) as csp_name from raw.frame"
        ),
        # the project's own geography models: a few hundred rows from the ONS lookups
        "ONS geography": "; ".join(f"create table {m.table} as {render(m, year, qn)}" for m in geography),
        # the latest return of each frame CSP: a narrow table of keys, no copy of the answers
        "counted returns": (
            "create table staging.counted as select s.response_id, s.csp_code from staging.stg_submissions s "
            "join staging.stg_frame f using (csp_code) "
            "qualify row_number() over (partition by s.csp_code order by s.response_id desc) = 1"
        ),
        "dim_csp": (
            f"create table marts.dim_csp as select {int(year)} as survey_year, f.csp_code, f.csp_name, g.pfa_code, "
            "g.pfa_name, g.region_code, g.region_name from staging.stg_frame f "
            "left join intermediate.int_csp_geography g using (csp_code)"
        ),
        "csp_return": (
            "create table marts.csp_return as select d.*, c.response_id is not null as responded, c.response_id, "
            + ", ".join(f"c.{ident(c.name)}" for c in csp_level)
            + " from marts.dim_csp d left join (staging.counted join staging.stg_submissions using (response_id, csp_code)) c "
            "using (csp_code)"
        ),
        "arrangement": f"create table marts.arrangement as {arrangement}",
        "submission_outcome": (
            "create table marts.submission_outcome as select s.survey_year, s.response_id, f.csp_code, "
            "case when c.response_id is null then 'not counted' else 'counted' end as outcome, "
            "case when c.response_id is null then 'not the latest return of a frame CSP' end as reason "
            "from staging.stg_submissions s left join staging.stg_frame f on f.csp_code = s.csp_code "
            "left join staging.counted c on c.response_id = s.response_id"
        ),
        "question_summary": (
            f"create table marts.question_summary as select {int(year)} as survey_year, question_id, answer, count(*) as n, "
            "sum(count(*)) over (partition by question_id) as base_n "
            f"from ({' union all '.join(counted_answers)}) group by question_id, answer"
        ),
        "BI snapshot": (
            f"attach {lit(str(out / 'snapshot.duckdb'))} as snapshot (storage_version {lit(SNAPSHOT_STORAGE_VERSION)}); "
            "create schema snapshot.marts; "
            + "; ".join(f"create table snapshot.marts.{m} as from marts.{m}" for m in FLOOR_MARTS)
            + "; checkpoint snapshot; detach snapshot"
        ),
        "Parquet": "; ".join(f"copy marts.{m} to {lit(str(out / 'parquet' / f'{m}.parquet'))} (format parquet)"
                             for m in FLOOR_MARTS),
        "checkpoint": "checkpoint",
    }


def measure_floor(landing: Path, out: Path, year: int, keep: bool = False) -> dict[str, float]:
    """Each write's seconds. `out` is emptied first and removed after, unless `keep`."""
    shutil.rmtree(out, ignore_errors=True)
    (out / "parquet").mkdir(parents=True)
    con = duckdb.connect(str(out / "floor.duckdb"))
    tune_connection(con)  # the warehouse's settings, so that the writes compare
    con.execute("set preserve_insertion_order = false")
    ensure_schemas(con)
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
