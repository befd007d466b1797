"""How much staging redacted (rule 7): cells per column for the year, never the values.

Staging redacts respondents' own values, e-mail addresses and UK phone numbers from free text
and from anything typed where a label belongs (sql/staging/stg_submissions.sql). This asset
counts, in DuckDB, the staged cells that hold `[redacted]` where the raw cell did not, and keeps
them in `audit.redaction` (survey_year, column_name, cells_redacted), the year's rows replaced.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from iom_pipeline.defs.shared import survey_years, table_metadata, warehouse, year_of
from iom_pipeline.questionnaire import questionnaire_for_year
from iom_pipeline.sql_models import ident, lit
from iom_pipeline.warehouse import replace_year_rows

REDACTION = dg.AssetKey(["audit", "redaction"])
TABLE = "audit.redaction"
MARKER = "[redacted]"
# Staged columns other than the answers that can hold typed text (see stg_submissions.sql).
TYPED_METADATA_COLUMNS = ("status", "started", "ended", "csp_code", "csp_name")


def redaction_sql(year: int) -> str:
    """One row per column: every free-text column of the year's questionnaire (0 included) and
    any other column with a redacted cell. The export is read again only for the rows staging
    marked, so the count costs one pass over the staged rows."""
    year = int(year)
    qn = questionnaire_for_year(year)
    columns = [*TYPED_METADATA_COLUMNS, *qn.answer_column_names]
    free_text = [c.name for c in qn.columns() if c.role == "text"]
    listed = ", ".join(ident(c) for c in columns)
    marked = " or ".join(f"contains({ident(c)}, {lit(MARKER)})" for c in columns)
    return f"""
        with marked as materialized (
            select source_row, {listed} from staging.stg_submissions where survey_year = {year} and ({marked})
        ),
        staged as (
            unpivot marked on {listed} into name column_name value cell
        ),
        exported as (
            unpivot (select source_row, {listed} from raw.survey_export_{year}
                     where source_row in (select source_row from marked))
            on {listed} into name column_name value cell
        ),
        counted as (
            select s.column_name, count(*) as cells_redacted
            from staged s left join exported e using (source_row, column_name)
            -- a marker the export itself held is not a redaction
            where contains(s.cell, {lit(MARKER)}) and not contains(lower(coalesce(e.cell, '')), {lit(MARKER)})
            group by all
        )
        select {year}::integer as survey_year, column_name, coalesce(c.cells_redacted, 0)::bigint as cells_redacted
        from (select unnest([{", ".join(lit(c) for c in free_text)}]::varchar[]) as column_name) t
        full join counted c using (column_name)
    """


def record_redactions(con, year: int) -> dict[str, int]:
    """Replace the year's rows of audit.redaction; returns cells redacted per column."""
    replace_year_rows(con, TABLE, redaction_sql(year), int(year))
    rows = con.execute(f"select column_name, cells_redacted from {TABLE} where survey_year = ? order by column_name",
                       [int(year)]).fetchall()
    return {column: int(n) for column, n in rows}


@dg.asset(
    key=REDACTION,
    deps=[dg.AssetKey(["staging", "stg_submissions"])],
    partitions_def=survey_years,
    group_name="staging",
    kinds={"duckdb"},
    description="How many cells staging redacted of respondents' names, e-mails and phone numbers (and of any "
    "e-mail address or UK phone number), per column of the year's export: every free-text column, and any other "
    "column where a value was redacted. Counts only, never the values (rule 7).",
)
def redaction(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    year = year_of(context)
    with warehouse(duckdb) as con:
        counts = record_redactions(con, year)
        metadata = table_metadata(con, TABLE, year)
    total = sum(counts.values())
    context.log.info(f"redacted {total:,} cell(s) in {sum(1 for n in counts.values() if n)} column(s) for {year}")
    metadata.update({
        "survey_year": dg.MetadataValue.text(str(year)),
        "cells_redacted": dg.MetadataValue.int(total),
        **{f"cells_redacted: {column}": dg.MetadataValue.int(n) for column, n in counts.items()},
    })
    return dg.MaterializeResult(metadata=metadata)
