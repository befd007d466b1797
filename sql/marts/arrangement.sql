-- One row per arrangement of a counted return (rule 6), with its answers: single-choice
-- questions as option ids, agencies as flags (NULL when no agency was given for it).
-- The answers are pivoted per (return, block) first, a multi-select question as a bit mask of
-- its ticks (bit k for its k-th option), then joined to the arrangements.
with pivoted as (
    select
        response_id,
        block_no,
{%- for q in qn.arrangement_questions %}
{%- if q.type == 'single' %}
        max(option_id) filter (where item_id = {{ lit(q.id) }}) as {{ ident(q.id) }},
{%- else %}
        bit_or(case option_id{% for o in q.options %} when {{ lit(o.id) }} then {{ 2 ** loop.index0 }}{% endfor %} end)
            filter (where item_id = {{ lit(q.id) }}) as {{ ident('chosen_' ~ q.id) }},
{%- endif %}
{%- endfor %}
{%- for t in qn.free_text if t.unit == 'arrangement' %}
        max(text_value) filter (where item_id = {{ lit(t.id) }}) as {{ ident(t.id) }},
{%- endfor %}
    from {{ ref('int_answers') }}
    where block_no > 0
    group by response_id, block_no
)
select
    r.survey_year,
    r.csp_code,
    r.arrangement_no,
    r.response_id,
{%- for q in qn.arrangement_questions %}
{%- if q.type == 'single' %}
    p.{{ ident(q.id) }},
{%- else %}
{%- set chosen = "p." ~ ident('chosen_' ~ q.id) %}
{%- for o in q.options %}
    case when {{ chosen }} is not null then ({{ chosen }} & {{ 2 ** loop.index0 }}) <> 0 end as {{ ident(q.id ~ '_' ~ o.id) }},
{%- endfor %}
{%- endif %}
{%- endfor %}
{%- for t in qn.free_text if t.unit == 'arrangement' %}
    p.{{ ident(t.id) }},
{%- endfor %}
from {{ ref('int_arrangements') }} r
left join pivoted p on p.response_id = r.response_id and p.block_no = r.arrangement_no
