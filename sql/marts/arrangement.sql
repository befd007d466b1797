-- One row per arrangement of a counted return (rule 6), with its answers: single-choice
-- questions as option ids, agencies as flags (NULL when no agency was given for it). Each block
-- of the questionnaire is read off the counted return's row (int_counted_answers) into the
-- same columns, and only the blocks that count as arrangements are kept.
{%- macro ticks(q, b) -%}
{%- for o in q.options %}{{ ident(column(q.id, b, o.id)) }}{{ ", " if not loop.last }}{% endfor -%}
{%- endmacro %}
{%- for b in qn.blocks %}
select
    survey_year,
    csp_code,
    {{ b }} as arrangement_no,
    response_id,
{%- for q in qn.arrangement_questions %}
{%- if q.type == 'single' %}
    {{ ident(column(q.id, b)) }} as {{ ident(q.id) }},
{%- else %}
{%- set answered = "coalesce(" ~ ticks(q, b) ~ ") is not null" %}
{%- for o in q.options %}
    case when {{ answered }} then coalesce({{ ident(column(q.id, b, o.id)) }}, false) end as {{ ident(q.id ~ '_' ~ o.id) }},
{%- endfor %}
{%- endif %}
{%- endfor %}
{%- for t in qn.free_text if t.unit == 'arrangement' %}
    {{ ident(column(t.id, b)) }} as {{ ident(t.id) }},
{%- endfor %}
from {{ ref('int_counted_answers') }}
where list_contains(arrangement_blocks, {{ b }})
{{ "union all" if not loop.last }}
{%- else %}
{#- a questionnaire without arrangement blocks: no rows, the same columns #}
select null::integer as survey_year, null::varchar as csp_code, null::integer as arrangement_no, null::bigint as response_id
{%- for q in qn.arrangement_questions %}
{%- if q.type == 'single' %},
    null::varchar as {{ ident(q.id) }}
{%- else %}
{%- for o in q.options %},
    null::boolean as {{ ident(q.id ~ '_' ~ o.id) }}
{%- endfor %}
{%- endif %}
{%- endfor %}
{%- for t in qn.free_text if t.unit == 'arrangement' %},
    null::varchar as {{ ident(t.id) }}
{%- endfor %}
where false
{%- endfor %}
