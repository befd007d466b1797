-- The counted returns' non-empty answer cells, one row each (the grain changes from return to
-- cell), with what the questionnaire says the cell is and whether the routing asked it (rule 4).
-- A question is asked when every condition on its chain holds on the return's own answers.
with counted as (
    select response_id, csp_code from {{ ref('int_submission_outcome') }} where outcome = 'counted'
),
cells as (
    unpivot (
        select s.response_id,
        {%- for c in qn.columns() %}
            s.{{ ident(c.name) }}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ ref('stg_submissions') }} s
        semi join counted using (response_id)
    )
    on columns(* exclude (response_id))
    into name column_name value cell_value
),
typed as (
    select
        c.response_id,
        k.csp_code,
        c.column_name,
        m.item_id,
        m.block_no,
        m.role,
        m.unit,
        case m.role when 'single' then o.option_id when 'tick' then m.option_id end as option_id,
        case when m.role = 'text' then c.cell_value end as text_value
    from cells c
    join counted k using (response_id)
    join {{ source('config', 'column_map') }} m using (column_name)
    left join {{ source('config', 'option') }} o
        on m.role = 'single' and o.question_id = m.item_id and o.label_norm = c.cell_value and not o.is_derived
),
conditions as (
    select item_id, block_no, count(*) as required
    from {{ source('config', 'item_routing') }}
    group by item_id, block_no
),
conditions_met as (
    select t.response_id, r.item_id, r.block_no, count(*) as met
    from {{ source('config', 'item_routing') }} r
    join typed t
        on t.role = 'single' and t.block_no = 0
       and t.item_id = r.cond_question_id and t.option_id = r.cond_option_id
    group by t.response_id, r.item_id, r.block_no
),
routed as (
    select
        t.*,
        coalesce(met.met, 0) = coalesce(req.required, 0) as asked
    from typed t
    left join conditions req using (item_id, block_no)
    left join conditions_met met using (response_id, item_id, block_no)
)
select
    {{ year }} as survey_year,
    r.*,
    -- rule 5: an exclusive option (`none`) ticked together with another option of the question
    coalesce(o.is_exclusive, false) and r.asked
        and count(*) filter (where r.role = 'tick' and r.asked)
            over (partition by r.response_id, r.item_id, r.block_no) > 1 as exclusive_with_other
from routed r
left join {{ source('config', 'option') }} o
    on r.role = 'tick' and o.question_id = r.item_id and o.option_id = r.option_id
