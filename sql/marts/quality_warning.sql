-- Problems in counted returns that do not block publication, one row each: answers the routing
-- did not ask (rule 4), an exclusive option ticked with others (rule 5), and a declared number
-- of arrangements that differs from the blocks returned (rule 6).
{#- the single-choice questions whose options declare a number of arrangements (q3, q3a) #}
{%- set ns = namespace(declaring=[]) %}
{%- for q in qn.csp_questions if q.type == 'single' and q.options | selectattr('declares_arrangements') | list %}
{%- set ns.declaring = ns.declaring + [q] %}
{%- endfor %}
{%- set declaring = ns.declaring %}
with answers as (
    select * from {{ ref('int_counted_answers') }}
),
{%- if declaring %}
declared as (
    -- the narrowest range any answer declares: q3 = several says 2+, q3a = 3 says exactly 3
    select a.response_id, a.csp_code, any_value(a.arrangements) as arrangements,
           max(o.declares_min) as declared_min, min(o.declares_max) as declared_max,
           string_agg(a.question_id || '=' || a.option_id, ', ' order by a.question_id) as declared_by
    from (
        select response_id, csp_code, len(arrangement_blocks) as arrangements,
               unnest([{% for q in declaring %}{'question_id': {{ lit(q.id) }}, 'option_id': {{ ident(column(q.id)) }}}{{ ", " if not loop.last }}{% endfor %}],
                      recursive := true)
        from answers
    ) a
    join (select * from {{ source('config', 'option') }} where declares_min is not null) o
        using (question_id, option_id)
    group by a.response_id, a.csp_code
),
{%- endif %}
ignored as (
    select response_id, csp_code, 'routing' as warning, unnest(routing_ignored) as item,
           'answered although the routing did not ask it; ignored' as detail
    from answers
    union all
    select response_id, csp_code, 'exclusive_option_with_other', unnest(exclusive_dropped),
           'ticked together with another option; this tick is dropped'
    from answers
)
select {{ year }} as survey_year, response_id, csp_code, warning, item, detail
from ignored
{%- if declaring %}
union all
select {{ year }}, response_id, csp_code, 'arrangement_count_mismatch', declared_by,
       'declared ' || declared_min || coalesce(case when declared_max = declared_min then '' else '-' || declared_max end, ' or more')
       || ' arrangement(s), returned ' || arrangements
from declared
where arrangements < declared_min
   or arrangements > declared_max
{%- endif %}
