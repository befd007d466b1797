-- One row per (question, option): base, count and percentage, for every option of every
-- question asked this year, zero counts included. The base of a question is every unit (a
-- CSP's counted return, or an arrangement) that answered it: answered means asked by the
-- routing and given a choice (a multi-select: at least one tick). The response rate's base is
-- the frame. Half-up rounding is done in integers; the interval is Wilson's score interval.
-- Counted from the marts that hold one row per counted return (csp_return) and per arrangement
-- (arrangement), whose flags already say answered (not NULL) and ticked (TRUE): one pass over
-- each with one count per option, then the one row of counts is unpivoted. A question's base is
-- its units with a non-NULL answer.
{%- macro counts(questions, derived) %}
{%- for q in questions %}
{%- if q.type == 'single' %}
        count({{ ident(q.id) }}) as {{ ident(q.id ~ '|') }},
{%- for o in q.options %}
        count(*) filter (where {{ ident(q.id) }} = {{ lit(o.id) }}) as {{ ident(q.id ~ '|' ~ o.id) }},
{%- endfor %}
{%- else %}
        count({{ ident(q.id ~ '_' ~ q.options[0].id) }}) as {{ ident(q.id ~ '|') }},
{%- for o in q.options %}
        count(*) filter (where {{ ident(q.id ~ '_' ~ o.id) }}) as {{ ident(q.id ~ '|' ~ o.id) }},
{%- endfor %}
{%- for d in q.derived_options %}
{%- if derived %}
        count(*) filter (where {{ ident(q.id ~ '_' ~ d.id) }}) as {{ ident(q.id ~ '|' ~ d.id) }},
{%- elif d.all_of %}
        count(*) filter (where {% for x in d.all_of %}{{ ident(q.id ~ '_' ~ x) }}{{ " and " if not loop.last }}{% endfor %}) as {{ ident(q.id ~ '|' ~ d.id) }},
{%- else %}
        count(*) filter (where {% for o in q.options %}coalesce({{ ident(q.id ~ '_' ~ o.id) }}, false)::integer{{ " + " if not loop.last }}{% endfor %} >= {{ d.min_selected }}) as {{ ident(q.id ~ '|' ~ d.id) }},
{%- endif %}
{%- endfor %}
{%- endif %}
{%- endfor %}
{%- endmacro %}
with csp_counts as (
    select
{{- counts(qn.csp_questions, true) }}
        count(*) as {{ ident('response|') }},
        count(*) filter (where responded) as {{ ident('response|responded') }}
    from {{ ref('csp_return') }}
),
{%- if qn.arrangement_questions %}
arrangement_counts as (
    select
{{- counts(qn.arrangement_questions, false) }}
        count(*) as arrangements
    from {{ ref('arrangement') }}
),
{%- endif %}
counted as (
    select split_part(key, '|', 1) as question_id, nullif(split_part(key, '|', 2), '') as option_id, n
    from (
        unpivot csp_counts on columns(*) into name key value n
        {%- if qn.arrangement_questions %}
        union all by name
        unpivot (select * exclude (arrangements) from arrangement_counts) on columns(*) into name key value n
        {%- endif %}
    )
),
option_counts as (
    select question_id, option_id, n from counted where option_id is not null
),
bases as (
    select question_id, n as base_n from counted where option_id is null
),
question_rows as (
    select
        q.question_id, o.option_id, q.unit,
        coalesce(b.base_n, 0) as base_n, coalesce(c.n, 0) as n,
        q.question_text, o.option_label, q.question_order, o.option_order, o.is_derived, q.questionnaire_version
    from {{ source('config', 'question') }} q
    join {{ source('config', 'option') }} o using (question_id)
    left join option_counts c using (question_id, option_id)
    left join bases b using (question_id)
),
response_row as (
    select
        'response' as question_id, 'responded' as option_id, 'csp' as unit,
        (select base_n from bases where question_id = 'response') as base_n,
        (select n from option_counts where question_id = 'response') as n,
        'Did the CSP return an analysable submission?' as question_text,
        'Responded' as option_label, -1 as question_order, 0 as option_order, false as is_derived,
        (select any_value(questionnaire_version) from {{ source('config', 'question') }}) as questionnaire_version
),
all_rows as (
    select * from question_rows
    union all
    select * from response_row
),
z as (select 1.959963984540054 as z)
select
    {{ year }} as survey_year,
    question_id,
    option_id,
    unit,
    cast(base_n as integer) as base_n,
    cast(n as integer) as n,
    100.0 * n / nullif(base_n, 0) as pct,
    cast((200 * n + base_n) // nullif(2 * base_n, 0) as integer) as pct_rounded,
    greatest(0.0, 100.0 * ((n / base_n + z * z / (2 * base_n)) - z * sqrt(n / base_n * (1 - n / base_n) / base_n + z * z / (4 * base_n * base_n)))
        / (1 + z * z / base_n)) as ci_lower,
    least(100.0, 100.0 * ((n / base_n + z * z / (2 * base_n)) + z * sqrt(n / base_n * (1 - n / base_n) / base_n + z * z / (4 * base_n * base_n)))
        / (1 + z * z / base_n)) as ci_upper,
    question_text,
    option_label,
    cast(question_order as integer) as question_order,
    cast(option_order as integer) as option_order,
    is_derived,
    questionnaire_version
from all_rows, z
