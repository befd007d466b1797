-- asset: marts.year_comparison
-- blocking: true
-- description: One row per option asked this year and in the latest earlier survey year with a base in both, carrying both years' question_summary figures; change_pp = pct_to - pct_from, change_pp_rounded the difference of the rounded figures, inside its interval, and significant exactly when the interval excludes zero
-- applies_when: select count(*) > 0 from marts.question_summary where survey_year < {{ year }}
-- examines: marts.year_comparison where year_to = {{ year }}
with summaries as (
    select * from marts.question_summary where survey_year <= {{ year }}
),
previous as (
    select max(survey_year) as year_from from summaries where survey_year < {{ year }}
),
expected as (
    select t.question_id, t.option_id, p.survey_year as year_from,
           p.base_n as base_n_from, p.n as n_from, p.pct as pct_from, p.pct_rounded as pct_rounded_from,
           t.base_n as base_n_to, t.n as n_to, t.pct as pct_to, t.pct_rounded as pct_rounded_to
    from summaries t
    join summaries p using (question_id, option_id)
    where t.survey_year = {{ year }} and p.survey_year = (select year_from from previous)
      and t.base_n > 0 and p.base_n > 0
),
actual as (
    select * from marts.year_comparison where year_to = {{ year }}
)
select
    question_id, option_id, a.year_from, e.year_from as expected_year_from,
    a.n_from, e.n_from as expected_n_from, a.n_to, e.n_to as expected_n_to,
    a.change_pp, a.diff_ci_lower, a.diff_ci_upper, a.significant,
    case
        when e.question_id is null then 'not an option with a base in both years'
        when a.question_id is null then 'missing'
        when a.year_from is distinct from e.year_from
          or (a.base_n_from, a.n_from, a.pct_rounded_from, a.base_n_to, a.n_to, a.pct_rounded_to)
             is distinct from (e.base_n_from, e.n_from, e.pct_rounded_from, e.base_n_to, e.n_to, e.pct_rounded_to)
          or abs(a.pct_from - e.pct_from) > 1e-9 or abs(a.pct_to - e.pct_to) > 1e-9
            then 'differs from question_summary'
        when abs(a.change_pp - (a.pct_to - a.pct_from)) > 1e-9
          or a.change_pp_rounded is distinct from a.pct_rounded_to - a.pct_rounded_from
            then 'change is not the difference of the two years'
        when not (a.diff_ci_lower <= a.change_pp and a.change_pp <= a.diff_ci_upper)
            then 'change outside its interval'
        when a.significant is distinct from (a.diff_ci_lower > 0 or a.diff_ci_upper < 0)
            then 'significant disagrees with the interval'
    end as problem
from actual a
full join expected e using (question_id, option_id)
where problem is not null
