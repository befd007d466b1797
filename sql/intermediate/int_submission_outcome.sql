-- Every submission's outcome, decided in the order of rule 2: invalid or unmatched rows are
-- quarantined; a row that leaves the screening question (q1) unanswered is not analysable; of
-- a CSP's remaining rows the latest Completed by `ended` counts, else the latest Partial by
-- `started` (ties: the larger response_id); every other row is superseded.
with validation as (
    select response_id, arg_min(reason, column_name) as reason,
           string_agg(column_name || '=' || coalesce('''' || value || '''', 'empty') || ' (' || check_name || ')', '; '
                      order by column_name) as detail
    from {{ source('audit', 'validation_failure') }}
    group by response_id
),
classified as (
    select
        s.survey_year,
        s.response_id,
        s.source_row,
        s.status,
        s.started_at,
        s.ended_at,
        m.csp_code,
        m.matched_by,
        case
            when v.response_id is not null then 'quarantined'
            when m.csp_code is null then 'quarantined'
            when s.{{ ident(qn.question(qn.screening_question).column) }} is null then 'not_analysable'
        end as early_outcome,
        case
            when v.response_id is not null then v.reason
            when m.name_ambiguous then 'ambiguous_csp'
            when m.csp_code is null then 'unknown_csp'
            when s.{{ ident(qn.question(qn.screening_question).column) }} is null then 'screening_question_unanswered'
        end as early_reason,
        v.detail
    from {{ ref('stg_submissions') }} s
    join {{ ref('int_submission_match') }} m using (response_id)
    left join validation v using (response_id)
),
ranked as (
    select
        *,
        row_number() over (
            partition by csp_code
            order by status = 'completed' desc,
                     case when status = 'completed' then ended_at else started_at end desc,
                     response_id desc
        ) as preference
    from classified
    where early_outcome is null
),
decided as (
    select
        r.*,
        first_value(response_id) over w as counted_response_id,
        first_value(status) over w as counted_status
    from ranked r
    window w as (partition by csp_code order by preference)
)
select
    survey_year, response_id, source_row, status, started_at, ended_at,
    csp_code,
    matched_by,
    early_outcome as outcome,
    early_reason as reason,
    cast(null as bigint) as superseded_by,
    detail
from classified
where early_outcome is not null
union all
select
    survey_year, response_id, source_row, status, started_at, ended_at, csp_code, matched_by,
    case when preference = 1 then 'counted' else 'superseded' end as outcome,
    case
        when preference = 1 then null
        when counted_status = 'completed' and status = 'partial' then 'completed_return_preferred'
        else 'later_return_counted'
    end as reason,
    case when preference > 1 then counted_response_id end as superseded_by,
    null as detail
from decided
