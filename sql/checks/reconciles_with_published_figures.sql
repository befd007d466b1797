-- asset: marts.question_summary
-- blocking: true
-- description: Every figure of the year in landing/<year>/published.csv equals question_summary: pct_rounded = published_pct and n = published_n where given. Applies when a published.csv was supplied; a supplied file with no row for the year fails
-- applies_when: select count(*) > 0 from raw.published_{{ year }}
-- examines: raw.published_{{ year }} where cast(survey_year as integer) = {{ year }}
-- examples: 100
-- The landing step has already refused a file with a value it cannot read (a year, an id or a
-- number), naming the row, so the casts here cannot hide a row from the comparison.
select
    p.question_id, p.option_id,
    cast(nullif(trim(p.published_pct), '') as integer) as published_pct, q.pct_rounded,
    cast(nullif(trim(p.published_n), '') as integer) as published_n, q.n, q.base_n,
    round(q.pct, 2) as pct, p.source
from raw.published_{{ year }} p
left join marts.question_summary q
    on q.survey_year = {{ year }} and q.question_id = trim(p.question_id) and q.option_id = trim(p.option_id)
where cast(p.survey_year as integer) = {{ year }} and (
    q.option_id is null
    or cast(nullif(trim(p.published_pct), '') as integer) is distinct from
       case when nullif(trim(p.published_pct), '') is null then null else q.pct_rounded end
    or cast(nullif(trim(p.published_n), '') as integer) is distinct from
       case when nullif(trim(p.published_n), '') is null then null else q.n end
)
order by p.question_id, p.option_id
