-- One row per frame CSP, respondent or not, with its counted return's answers: single-choice
-- questions as option ids, multi-select options as flags (TRUE ticked, FALSE answered but not
-- ticked, NULL not asked or not answered). Columns are generated from the questionnaire, and
-- read straight off the counted return's row (int_counted_answers), where the rules are applied.
{%- macro ticks(q) -%}
{%- for o in q.options %}c.{{ ident(column(q.id, 0, o.id)) }}{{ ", " if not loop.last }}{% endfor -%}
{%- endmacro %}
select
    d.survey_year,
    d.csp_code,
    d.csp_name,
    d.pfa_code,
    d.pfa_name,
    d.region_code,
    d.region_name,
    c.response_id is not null as responded,
    c.response_id,
    case when c.response_id is not null then cast(len(c.arrangement_blocks) as integer) end as arrangements_returned,
{%- for q in qn.csp_questions %}
{%- if q.type == 'single' %}
    c.{{ ident(column(q.id)) }} as {{ ident(q.id) }},
{%- else %}
{#- a multi-select question is answered when at least one of its options is ticked (rule 5) #}
{%- set answered = "coalesce(" ~ ticks(q) ~ ") is not null" %}
{%- for o in q.options %}
    case when {{ answered }} then coalesce(c.{{ ident(column(q.id, 0, o.id)) }}, false) end as {{ ident(q.id ~ '_' ~ o.id) }},
{%- endfor %}
{%- for d in q.derived_options %}
    case when {{ answered }} then
        {%- if d.all_of %}
        {% for x in d.all_of %}coalesce(c.{{ ident(column(q.id, 0, x)) }}, false){{ " and " if not loop.last }}{% endfor %}
        {%- else %}
        {% for o in q.options %}coalesce(c.{{ ident(column(q.id, 0, o.id)) }}, false)::integer{{ " + " if not loop.last }}{% endfor %} >= {{ d.min_selected }}
        {%- endif %}
    end as {{ ident(q.id ~ '_' ~ d.id) }},
{%- endfor %}
{%- endif %}
{%- endfor %}
{%- for t in qn.free_text if t.unit == 'csp' %}
    c.{{ ident(column(t.id)) }} as {{ ident(t.id) }},
{%- endfor %}
from {{ ref('dim_csp') }} d
left join {{ ref('int_counted_answers') }} c using (csp_code)
