-- One row per frame CSP, respondent or not, with its counted return's answers: single-choice
-- questions as option ids, multi-select options as flags (TRUE ticked, FALSE answered but not
-- ticked, NULL not asked or not answered). Columns are generated from the questionnaire.
-- The answers are pivoted per return first (one pass, grouped by response_id alone: a
-- multi-select question becomes a bit mask of its ticks, bit k for its k-th option), then the
-- flags are read off the masks.
with counted as (
    select response_id, csp_code from {{ ref('int_submission_outcome') }} where outcome = 'counted'
),
arrangements as (
    select response_id, count(*) as arrangements_returned from {{ ref('int_arrangements') }} group by response_id
),
pivoted as (
    select
        response_id,
{%- for q in qn.csp_questions %}
{%- if q.type == 'single' %}
        max(option_id) filter (where item_id = {{ lit(q.id) }}) as {{ ident(q.id) }},
{%- else %}
        bit_or(case option_id{% for o in q.options %} when {{ lit(o.id) }} then {{ 2 ** loop.index0 }}{% endfor %} end)
            filter (where item_id = {{ lit(q.id) }}) as {{ ident('chosen_' ~ q.id) }},
{%- endif %}
{%- endfor %}
{%- for t in qn.free_text if t.unit == 'csp' %}
        max(text_value) filter (where item_id = {{ lit(t.id) }}) as {{ ident(t.id) }},
{%- endfor %}
    from {{ ref('int_answers') }}
    where block_no = 0
    group by response_id
)
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
    case when c.response_id is not null then cast(coalesce(r.arrangements_returned, 0) as integer) end as arrangements_returned,
{%- for q in qn.csp_questions %}
{%- if q.type == 'single' %}
    p.{{ ident(q.id) }},
{%- else %}
{%- set chosen = "p." ~ ident('chosen_' ~ q.id) %}
{%- set answered = chosen ~ " is not null" %}
{%- for o in q.options %}
    case when {{ answered }} then ({{ chosen }} & {{ 2 ** loop.index0 }}) <> 0 end as {{ ident(q.id ~ '_' ~ o.id) }},
{%- endfor %}
{%- for d in q.derived_options %}
{%- set ids = q.options | map(attribute='id') | list %}
    case when {{ answered }} then
        {%- if d.all_of %}
        {%- set ns = namespace(mask=0) %}{% for x in d.all_of %}{% set ns.mask = ns.mask + 2 ** ids.index(x) %}{% endfor %}
        ({{ chosen }} & {{ ns.mask }}) = {{ ns.mask }}
        {%- else %} bit_count({{ chosen }}) >= {{ d.min_selected }}{% endif %} end as {{ ident(q.id ~ '_' ~ d.id) }},
{%- endfor %}
{%- endif %}
{%- endfor %}
{%- for t in qn.free_text if t.unit == 'csp' %}
    p.{{ ident(t.id) }},
{%- endfor %}
from {{ ref('dim_csp') }} d
left join counted c using (csp_code)
left join arrangements r using (response_id)
left join pivoted p using (response_id)
