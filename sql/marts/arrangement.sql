-- One row per arrangement of a counted return (rule 6), with its answers: single-choice
-- questions as option ids, agencies as flags (NULL when no agency was given for it).
with answers as (
    select * from {{ ref('int_answers') }} where block_no > 0
)
select
    r.survey_year,
    r.csp_code,
    r.arrangement_no,
    r.response_id,
{%- for q in qn.arrangement_questions %}
{%- if q.type == 'single' %}
    max(a.option_id) filter (where a.item_id = {{ lit(q.id) }}) as {{ ident(q.id) }},
{%- else %}
{%- for o in q.options %}
    case when count(a.option_id) filter (where a.item_id = {{ lit(q.id) }}) > 0
         then bool_or(a.item_id = {{ lit(q.id) }} and a.option_id = {{ lit(o.id) }}) end as {{ ident(q.id ~ '_' ~ o.id) }},
{%- endfor %}
{%- endif %}
{%- endfor %}
{%- for t in qn.free_text if t.unit == 'arrangement' %}
    max(a.text_value) filter (where a.item_id = {{ lit(t.id) }}) as {{ ident(t.id) }},
{%- endfor %}
from {{ ref('int_arrangements') }} r
left join answers a on a.response_id = r.response_id and a.block_no = r.arrangement_no
group by all
