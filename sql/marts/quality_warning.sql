-- Problems in counted returns that do not block publication, one row each: answers the routing
-- did not ask (rule 4), an exclusive option ticked with others (rule 5), and a declared number
-- of arrangements that differs from the blocks returned (rule 6).
with declared as (
    -- the narrowest range any answer declares: q3 = several says 2+, q3a = 3 says exactly 3
    select a.response_id, a.csp_code, max(o.declares_min) as declared_min, min(o.declares_max) as declared_max,
           string_agg(a.item_id || '=' || a.option_id, ', ' order by a.item_id) as declared_by
    from {{ ref('int_answers') }} a
    join (select * from {{ source('config', 'option') }} where declares_min is not null) o
        on o.question_id = a.item_id and o.option_id = a.option_id
    group by a.response_id, a.csp_code
),
returned as (
    select response_id, count(*) as arrangements from {{ ref('int_arrangements') }} group by response_id
)
select {{ year }} as survey_year, response_id, csp_code,
       case when not asked then 'routing' else 'exclusive_option_with_other' end as warning,
       column_name as item,
       case when not asked then 'answered although the routing did not ask it; ignored'
            else 'ticked together with another option; this tick is dropped' end as detail
from {{ ref('int_answer_cells') }}
where not asked or exclusive_with_other
union all
select {{ year }}, d.response_id, d.csp_code, 'arrangement_count_mismatch', d.declared_by,
       'declared ' || d.declared_min || coalesce(case when d.declared_max = d.declared_min then '' else '-' || d.declared_max end, ' or more')
       || ' arrangement(s), returned ' || coalesce(r.arrangements, 0)
from declared d
left join returned r using (response_id)
where coalesce(r.arrangements, 0) < d.declared_min
   or coalesce(r.arrangements, 0) > d.declared_max
