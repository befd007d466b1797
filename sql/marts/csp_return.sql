-- One row per frame CSP, respondent or not, with its counted return's answers: single-choice
-- questions as option ids, multi-select options as flags (TRUE ticked, FALSE answered but not
-- ticked, NULL not asked or not answered). Columns are generated from the questionnaire.
with counted as (
    select response_id, csp_code from {{ ref('int_submission_outcome') }} where outcome = 'counted'
),
answers as (
    select * from {{ ref('int_answers') }} where block_no = 0
),
arrangements as (
    select response_id, count(*) as arrangements_returned from {{ ref('int_arrangements') }} group by response_id
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
    max(a.option_id) filter (where a.item_id = {{ lit(q.id) }}) as {{ ident(q.id) }},
{%- else %}
{%- set answered = "count(a.option_id) filter (where a.item_id = " ~ lit(q.id) ~ ") > 0" %}
{%- for o in q.options %}
    case when {{ answered }} then bool_or(a.item_id = {{ lit(q.id) }} and a.option_id = {{ lit(o.id) }}) end as {{ ident(q.id ~ '_' ~ o.id) }},
{%- endfor %}
{%- for d in q.derived_options %}
{%- set chosen = "list(a.option_id) filter (where a.item_id = " ~ lit(q.id) ~ ")" %}
    case when {{ answered }} then
        {%- if d.all_of %} list_has_all({{ chosen }}, [{% for x in d.all_of %}{{ lit(x) }}{{ ", " if not loop.last }}{% endfor %}])
        {%- else %} len({{ chosen }}) >= {{ d.min_selected }}{% endif %} end as {{ ident(q.id ~ '_' ~ d.id) }},
{%- endfor %}
{%- endif %}
{%- endfor %}
{%- for t in qn.free_text if t.unit == 'csp' %}
    max(a.text_value) filter (where a.item_id = {{ lit(t.id) }}) as {{ ident(t.id) }},
{%- endfor %}
from {{ ref('dim_csp') }} d
left join counted c using (csp_code)
left join arrangements r using (response_id)
left join answers a on a.response_id = c.response_id
group by all
