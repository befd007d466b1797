"""Survey domain checks: integrity of the marts, evaluated per survey year.

Each check is a SQL query returning the offending rows (none = pass), so a failure shows its
count and examples in the UI. Blocking checks stop the publication; warnings never do.
"""


from dataclasses import dataclass

import dagster as dg
from dagster_duckdb import DuckDBResource

from iom_pipeline.defs.shared import survey_years, warehouse
from iom_pipeline.questionnaire import questionnaire_for_year
from iom_pipeline.sql_models import lit

MART_KEYS = {
    "question_summary": ("survey_year", "question_id", "option_id"),
    "csp_return": ("survey_year", "csp_code"),
    "arrangement": ("survey_year", "csp_code", "arrangement_no"),
    "submission_outcome": ("survey_year", "response_id"),
    "dim_csp": ("survey_year", "csp_code"),
    "year_comparison": ("year_to", "year_from", "question_id", "option_id"),
}


@dataclass(frozen=True)
class SqlCheck:
    name: str
    asset: tuple[str, ...]
    description: str
    sql: str  # returns offending rows; `{year}` is the survey year (an int)
    blocking: bool = True
    max_examples: int = 10


def _unique_key_check(table: str, key: tuple[str, ...]) -> SqlCheck:
    """The first key column is the table's partition (survey year) column."""
    cols = ", ".join(key)
    return SqlCheck(
        name="key_unique",
        asset=("marts", table),
        description=f"({cols}) identifies one row of marts.{table}",
        sql=f"select {cols}, count(*) as copies from marts.{table} where {key[0]} = {{year}} group by all having count(*) > 1",
    )


def _personal_data_sql() -> str:
    columns = sorted({c for year_qn in _all_versions() for c in year_qn.personal_data_columns})
    names = ", ".join(lit(c) for c in columns)
    return (
        "select table_schema, table_name, column_name from information_schema.columns "
        f"where table_schema not in ('raw') and table_catalog = current_database() and column_name in ({names})"
    )


def _all_versions():
    from iom_pipeline.questionnaire import all_questionnaires

    return all_questionnaires()


INTEGRITY_CHECKS: list[SqlCheck] = [
    *(_unique_key_check(table, key) for table, key in MART_KEYS.items()),
    SqlCheck(
        name="outcomes_add_up",
        asset=("marts", "submission_outcome"),
        description="Every export row has exactly one outcome (rule 3): outcomes count the raw rows",
        sql="""select (select count(*) from raw.survey_export_{year}) as export_rows,
                      (select count(*) from marts.submission_outcome where survey_year = {year}) as outcome_rows
               where export_rows <> outcome_rows""",
    ),
    SqlCheck(
        name="outcomes_valid",
        asset=("marts", "submission_outcome"),
        description="Outcomes are counted/superseded/not_analysable/quarantined; only counted rows lack a reason",
        sql="""select response_id, outcome, reason from marts.submission_outcome where survey_year = {year}
               and (outcome not in ('counted', 'superseded', 'not_analysable', 'quarantined')
                    or (outcome = 'counted') <> (reason is null))""",
    ),
    SqlCheck(
        name="one_counted_return_per_csp",
        asset=("marts", "submission_outcome"),
        description="At most one counted row per frame CSP, and every counted row belongs to the frame (rule 2)",
        sql="""select o.csp_code, count(*) as counted from marts.submission_outcome o
               left join marts.dim_csp d on d.survey_year = o.survey_year and d.csp_code = o.csp_code
               where o.survey_year = {year} and o.outcome = 'counted'
               group by o.csp_code, d.csp_code having count(*) > 1 or d.csp_code is null""",
    ),
    SqlCheck(
        name="counts_within_bases",
        asset=("marts", "question_summary"),
        description="0 <= n <= base_n <= frame size (CSP questions) or arrangements (arrangement questions)",
        sql="""select question_id, option_id, unit, n, base_n from marts.question_summary q
               where survey_year = {year} and (
                   n < 0 or n > base_n
                   or (unit = 'csp' and base_n > (select count(*) from marts.dim_csp where survey_year = {year}))
                   or (unit = 'arrangement' and base_n > (select count(*) from marts.arrangement where survey_year = {year})))""",
    ),
    SqlCheck(
        name="percentages_agree_with_counts",
        asset=("marts", "question_summary"),
        description="pct = 100 n / base_n in [0, 100]; pct_rounded is pct rounded half up",
        sql="""select question_id, option_id, n, base_n, pct, pct_rounded from marts.question_summary
               where survey_year = {year} and base_n > 0 and (
                   abs(pct - 100.0 * n::double / base_n) > 1e-9 or pct < 0 or pct > 100
                   or pct_rounded <> floor(100.0 * n::double / base_n + 0.5 + 1e-9))""",
    ),
    SqlCheck(
        name="every_option_present",
        asset=("marts", "question_summary"),
        description="Every option of every question in the year's questionnaire has a row, zero counts included",
        sql="""select o.question_id, o.option_id from config.option o
               left join marts.question_summary q
                 on q.survey_year = o.survey_year and q.question_id = o.question_id and q.option_id = o.option_id
               where o.survey_year = {year} and q.option_id is null""",
    ),
    SqlCheck(
        name="responded_matches_outcomes",
        asset=("marts", "csp_return"),
        description="csp_return.responded agrees with the counted rows of submission_outcome",
        sql="""select c.csp_code, c.responded, o.response_id from marts.csp_return c
               full join (select * from marts.submission_outcome where survey_year = {year} and outcome = 'counted') o
                 using (csp_code)
               where c.survey_year = {year} and coalesce(c.responded, false) <> (o.response_id is not null)""",
    ),
    SqlCheck(
        name="reconciles_with_published_figures",
        asset=("marts", "question_summary"),
        description="Every figure in landing/<year>/published.csv equals question_summary: pct_rounded = "
        "published_pct and n = published_n where given (no published.csv: nothing to compare)",
        sql="""select p.question_id, p.option_id,
                      try_cast(nullif(trim(p.published_pct), '') as integer) as published_pct, q.pct_rounded,
                      try_cast(nullif(trim(p.published_n), '') as integer) as published_n, q.n, q.base_n,
                      round(q.pct, 2) as pct, p.source
               from raw.published_{year} p
               left join marts.question_summary q
                 on q.survey_year = {year} and q.question_id = trim(p.question_id) and q.option_id = trim(p.option_id)
               where try_cast(p.survey_year as integer) = {year} and (
                   q.option_id is null
                   or try_cast(nullif(trim(p.published_pct), '') as integer) is distinct from
                      case when nullif(trim(p.published_pct), '') is null then null else q.pct_rounded end
                   or try_cast(nullif(trim(p.published_n), '') as integer) is distinct from
                      case when nullif(trim(p.published_n), '') is null then null else q.n end)
               order by p.question_id, p.option_id""",
        max_examples=100,
    ),
    SqlCheck(
        name="no_personal_data_outside_raw",
        asset=("marts", "submission_outcome"),
        description="No table outside the raw layer has a respondent_* column (rule 7)",
        sql=_personal_data_sql(),
    ),
]

WARNING_CHECKS: list[SqlCheck] = [
    SqlCheck(
        name=f"{warning}_warnings",
        asset=("marts", "quality_warning"),
        description=description,
        sql=f"""select response_id, csp_code, item, detail from marts.quality_warning
                where survey_year = {{year}} and warning = '{warning}' order by response_id""",
        blocking=False,
    )
    for warning, description in (
        ("routing", "Answers the routing did not ask: ignored, not counted anywhere (rule 4)"),
        ("exclusive_option_with_other", "`none` ticked with another option: the `none` tick is dropped (rule 5)"),
        ("arrangement_count_mismatch", "Declared number of arrangements differs from the blocks returned (rule 6)"),
    )
] + [
    SqlCheck(
        name="quarantined_rows",
        asset=("marts", "submission_outcome"),
        description="Rows quarantined (unknown CSP or invalid values): kept, accounted for, not counted",
        sql="""select response_id, source_row, reason, detail from marts.submission_outcome
               where survey_year = {year} and outcome = 'quarantined' order by source_row""",
        blocking=False,
    )
]


def check_key(check: SqlCheck) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(list(check.asset)), check.name)


def evaluate_sql_check(con, check: SqlCheck, year: int) -> dg.AssetCheckResult:
    rows = con.execute(check.sql.format(year=int(year))).df()
    passed = rows.empty
    examples = rows.head(check.max_examples)
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(list(check.asset)),
        check_name=check.name,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR if check.blocking else dg.AssetCheckSeverity.WARN,
        description=check.description if passed else f"{len(rows)} offending row(s): {check.description}",
        metadata={
            "survey_year": int(year),
            "offending_rows": len(rows),
            ("differences" if check.max_examples > 10 else "examples"): dg.MetadataValue.md(
                examples.to_markdown(index=False) if not rows.empty else "none"
            ),
        },
    )


def sql_check_group(name: str, checks: list[SqlCheck]):
    @dg.multi_asset_check(
        name=name,
        specs=[
            dg.AssetCheckSpec(
                name=c.name,
                asset=dg.AssetKey(list(c.asset)),
                description=c.description,
                blocking=c.blocking,
                partitions_def=survey_years,
            )
            for c in checks
        ],
        can_subset=True,
    )
    def _checks(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource):
        year = int(context.partition_key)
        questionnaire_for_year(year)  # refuse a year without a questionnaire before querying
        with warehouse(duckdb) as con:
            for c in checks:
                if check_key(c) in context.selected_asset_check_keys:
                    yield evaluate_sql_check(con, c, year)

    return _checks


mart_checks = sql_check_group("mart_checks", INTEGRITY_CHECKS + WARNING_CHECKS)
