-- The counted returns' non-empty answer cells, one row each (the grain changes from return to
-- cell), with what the questionnaire says the cell is and whether the routing asked it (rule 4).
-- A question is asked when every condition on its chain holds on the return's own answers.
-- Rules 4 and 5 are decided on the wide row, in the one pass that also unpivots it: `facts` has
-- a bit for each routing condition the return meets, `exclusive_ticks` a bit for each exclusive
-- option ticked with another of its question; a cell then only compares integers with its
-- column's rule (see sql_models.routing_plan).
with returns as (
    select
        s.response_id,
        k.csp_code,
        0
        {%- for a in routing.atoms if a.column %}
        + case when s.{{ ident(a.column) }} = {{ lit(a.label_norm) }} then {{ a.bit }} else 0 end
        {%- endfor %} as facts,
        0
        {%- for g in routing.exclusive_groups %}
        + case when s.{{ ident(g.exclusive_column) }} is not null and (
            {%- for t in g.tick_columns %}(s.{{ ident(t) }} is not null)::integer{{ " + " if not loop.last }}{% endfor %}) > 1
          then {{ g.bit }} else 0 end
        {%- endfor %} as exclusive_ticks,
    {%- for c in qn.columns() %}
        s.{{ ident(c.name) }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ ref('stg_submissions') }} s
    join {{ ref('int_submission_outcome') }} k using (response_id)
    where k.outcome = 'counted'
),
cells as (
    unpivot returns
    on {% for c in qn.columns() %}{{ ident(c.name) }}{{ ", " if not loop.last }}{% endfor %}
    into name column_name value cell_value
),
column_rule (column_name, required, exclusive_bit) as (
    values
    {%- for r in routing.columns %}
        ({{ lit(r.column) }}, {{ r.required }}, {{ r.exclusive_bit }}){{ "," if not loop.last }}
    {%- endfor %}
),
column_info as (
    select m.*, r.required, r.exclusive_bit
    from {{ source('config', 'column_map') }} m
    join column_rule r using (column_name)
)
select
    {{ year }} as survey_year,
    c.response_id,
    c.csp_code,
    c.column_name,
    m.item_id,
    m.block_no,
    m.role,
    m.unit,
    case m.role when 'single' then o.option_id when 'tick' then m.option_id end as option_id,
    case when m.role = 'text' then c.cell_value end as text_value,
    (c.facts & m.required) = m.required as asked,
    -- rule 5: an exclusive option (`none`) ticked together with another option of the question
    (c.facts & m.required) = m.required and (c.exclusive_ticks & m.exclusive_bit) <> 0 as exclusive_with_other
from cells c
join column_info m using (column_name)
left join {{ source('config', 'option') }} o
    on m.role = 'single' and o.question_id = m.item_id and o.label_norm = c.cell_value and not o.is_derived
