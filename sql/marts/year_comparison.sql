-- One row per (question, option) asked both this year and in the previous survey year in the
-- warehouse: the change in percentage points, with Newcombe's hybrid score interval (method 10)
-- for the difference of two independent proportions, built from each year's Wilson interval.
-- A change is significant at 95 % when that interval excludes zero.
-- partition column: year_to
with this_year as (
    select * from {{ ref('question_summary') }}
),
earlier as (
    select * from {{ ref('question_summary', all_years=True) }} where survey_year < {{ year }}
),
previous_year as (
    select * from earlier where survey_year = (select max(survey_year) from earlier)
),
paired as (
    select
        p.survey_year as year_from,
        t.survey_year as year_to,
        t.question_id,
        t.option_id,
        t.unit,
        p.base_n as base_n_from,
        p.n as n_from,
        p.pct as pct_from,
        p.pct_rounded as pct_rounded_from,
        t.base_n as base_n_to,
        t.n as n_to,
        t.pct as pct_to,
        t.pct_rounded as pct_rounded_to,
        t.pct - p.pct as change_pp,
        (t.pct - p.pct) - sqrt(power(t.pct - t.ci_lower, 2) + power(p.ci_upper - p.pct, 2)) as diff_ci_lower,
        (t.pct - p.pct) + sqrt(power(t.ci_upper - t.pct, 2) + power(p.pct - p.ci_lower, 2)) as diff_ci_upper,
        t.question_text,
        t.option_label,
        t.question_order,
        t.option_order
    from this_year t
    join previous_year p using (question_id, option_id)
    where t.base_n > 0 and p.base_n > 0
)
select
    year_from,
    year_to,
    question_id,
    option_id,
    unit,
    base_n_from,
    n_from,
    pct_from,
    pct_rounded_from,
    base_n_to,
    n_to,
    pct_to,
    pct_rounded_to,
    change_pp,
    -- the change as a report quotes it: between the published whole percentages
    pct_rounded_to - pct_rounded_from as change_pp_rounded,
    diff_ci_lower,
    diff_ci_upper,
    diff_ci_lower > 0 or diff_ci_upper < 0 as significant,
    'Newcombe hybrid score interval (method 10), 95%, two independent proportions' as method,
    question_text,
    option_label,
    question_order,
    option_order
from paired
