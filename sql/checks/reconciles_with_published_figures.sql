-- asset: marts.question_summary
-- blocking: true
-- description: Every figure in landing/<year>/published.csv equals question_summary: pct_rounded = published_pct and n = published_n where given (no published.csv: nothing to compare)
-- examines: raw.published_{{ year }}
-- examples: 100
select
    p.question_id, p.option_id,
    try_cast(nullif(trim(p.published_pct), '') as integer) as published_pct, q.pct_rounded,
    try_cast(nullif(trim(p.published_n), '') as integer) as published_n, q.n, q.base_n,
    round(q.pct, 2) as pct, p.source
from raw.published_{{ year }} p
left join marts.question_summary q
    on q.survey_year = {{ year }} and q.question_id = trim(p.question_id) and q.option_id = trim(p.option_id)
where try_cast(p.survey_year as integer) = {{ year }} and (
    q.option_id is null
    or try_cast(nullif(trim(p.published_pct), '') as integer) is distinct from
       case when nullif(trim(p.published_pct), '') is null then null else q.pct_rounded end
    or try_cast(nullif(trim(p.published_n), '') as integer) is distinct from
       case when nullif(trim(p.published_n), '') is null then null else q.n end
)
order by p.question_id, p.option_id
