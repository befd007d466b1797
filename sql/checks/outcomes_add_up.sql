-- asset: marts.submission_outcome
-- blocking: true
-- description: Every export row has exactly one outcome (rule 3): one outcome per row of the raw export, each naming a different export row (source_row 1 to the number of rows)
-- examines: marts.submission_outcome where survey_year = {{ year }}
with export as (
    select count(*) as export_rows from raw.survey_export_{{ year }}
),
outcomes as (
    select
        count(*) as outcome_rows,
        count(distinct source_row) as distinct_source_rows,
        min(source_row) as first_source_row,
        max(source_row) as last_source_row
    from marts.submission_outcome
    where survey_year = {{ year }}
)
select *
from export, outcomes
where outcome_rows <> export_rows
   or distinct_source_rows <> outcome_rows
   or first_source_row < 1
   or last_source_row > export_rows
