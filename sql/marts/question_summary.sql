-- One row per (question, option): base, count and percentage, for every option of every
-- question asked this year, zero counts included. The base of a question is every unit (a
-- CSP's counted return, or an arrangement) that answered it: answered means asked by the
-- routing and given a choice (a multi-select: at least one tick). The response rate's base is
-- the frame. Half-up rounding is done in integers; the interval is Wilson's score interval.
with choices as (
    select item_id as question_id, option_id, response_id, block_no
    from {{ ref('int_answers') }}
    where role in ('single', 'tick')
),
-- A unit gives one answer per option at most, so an option's count is its rows' count and a
-- question's base its distinct units: no per-unit lists except for the derived options.
chosen_counts as (
    select question_id, option_id, count(*) as n from choices group by question_id, option_id
),
bases as (
    select question_id, count(*) as base_n
    from (select distinct question_id, response_id, block_no from choices)
    group by question_id
),
derived_units as (
    select c.question_id, c.response_id, c.block_no, list(c.option_id) as chosen
    from choices c
    semi join (select question_id from {{ source('config', 'option') }} where is_derived) d using (question_id)
    group by c.question_id, c.response_id, c.block_no
),
derived_counts as (
    select
        o.question_id,
        o.option_id,
        count(u.response_id) filter (
            where case when o.all_of is not null then list_has_all(u.chosen, o.all_of) else len(u.chosen) >= o.min_selected end
        ) as n
    from {{ source('config', 'option') }} o
    join derived_units u using (question_id)
    where o.is_derived
    group by o.question_id, o.option_id
),
option_counts as (
    select o.question_id, o.option_id, coalesce(c.n, d.n, 0) as n
    from {{ source('config', 'option') }} o
    left join chosen_counts c on not o.is_derived and c.question_id = o.question_id and c.option_id = o.option_id
    left join derived_counts d on o.is_derived and d.question_id = o.question_id and d.option_id = o.option_id
),
question_rows as (
    select
        q.question_id, o.option_id, q.unit,
        coalesce(b.base_n, 0) as base_n, c.n,
        q.question_text, o.option_label, q.question_order, o.option_order, o.is_derived, q.questionnaire_version
    from {{ source('config', 'question') }} q
    join {{ source('config', 'option') }} o using (question_id)
    join option_counts c using (question_id, option_id)
    left join bases b using (question_id)
),
response_row as (
    select
        'response' as question_id, 'responded' as option_id, 'csp' as unit,
        (select count(*) from {{ ref('stg_frame') }}) as base_n,
        (select count(*) from {{ ref('int_submission_outcome') }} where outcome = 'counted') as n,
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
