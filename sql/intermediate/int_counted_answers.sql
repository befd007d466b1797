-- One row per counted return (the grain changes from submission to return), each answer column
-- as the rules decide it: a single-choice answer as its option id, a tick as TRUE, a free text
-- as given, and NULL where the routing did not ask the item (rule 4) or an exclusive option was
-- ticked with another of its question (rule 5, the exclusive tick is dropped). Beside them, what
-- the warnings and the arrangements need: the blocks that count as arrangements (rule 6), the
-- columns answered although not asked, and the exclusive ticks dropped.
-- Everything is decided on the wide row, in one pass: `facts` has a bit for each routing
-- condition the return meets and `exclusive_ticks` a bit for each exclusive option ticked with
-- another of its question, so a column's rule is an integer comparison (sql_models.routing_plan).
{%- macro asked(c) -%}
{%- set required = routing.rule(c.name).required -%}
{%- if required == 0 %}true{% else %}(facts & {{ required }}) = {{ required }}{% endif -%}
{%- endmacro %}
with returns as (
    select
        s.survey_year,
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
)
select
    survey_year,
    response_id,
    csp_code,
{%- for c in qn.columns() %}
{%- if c.role == 'single' %}
    case when {{ asked(c) }} then case {{ ident(c.name) }}
        {%- for o in qn.question(c.item_id).options %} when {{ lit(normalise_label(o.label)) }} then {{ lit(o.id) }}{% endfor %} end
    end as {{ ident(c.name) }},
{%- elif c.role == 'tick' %}
{%- set exclusive_bit = routing.rule(c.name).exclusive_bit %}
    case when {{ asked(c) }} and {{ ident(c.name) }} is not null
        {%- if exclusive_bit %} and (exclusive_ticks & {{ exclusive_bit }}) = 0{% endif %} then true end as {{ ident(c.name) }},
{%- else %}
    case when {{ asked(c) }} then {{ ident(c.name) }} end as {{ ident(c.name) }},
{%- endif %}
{%- endfor %}
    -- rule 6: a block the routing asked with at least one non-empty cell
    list_filter([
    {%- for b in qn.blocks %}
        case when {% for c in qn.columns() if c.block_no == b %}({{ asked(c) }} and {{ ident(c.name) }} is not null){{ " or " if not loop.last }}{% endfor %}
             then {{ b }} end{{ "," if not loop.last }}
    {%- endfor %}
    ]::integer[], lambda b: b is not null) as arrangement_blocks,
    -- rule 4: answered although the routing did not ask it (a column always asked cannot be)
    list_filter([
    {%- for c in qn.columns() if routing.rule(c.name).required %}
        case when {{ ident(c.name) }} is not null and not ({{ asked(c) }}) then {{ lit(c.name) }} end{{ "," if not loop.last }}
    {%- endfor %}
    ]::varchar[], lambda c: c is not null) as routing_ignored,
    -- rule 5: an exclusive option ticked together with another option of its question
    list_filter([
    {%- for c in qn.columns() if routing.rule(c.name).exclusive_bit %}
        case when {{ asked(c) }} and (exclusive_ticks & {{ routing.rule(c.name).exclusive_bit }}) <> 0 then {{ lit(c.name) }} end{{ "," if not loop.last }}
    {%- endfor %}
    ]::varchar[], lambda c: c is not null) as exclusive_dropped
from returns
