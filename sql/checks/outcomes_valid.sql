-- asset: marts.submission_outcome
-- blocking: true
-- description: Each row has a response_id and an outcome (counted, superseded, not_analysable or quarantined) with a reason of its own (none for a counted row); unless quarantined, a CSP and the status completed or partial; matched by code or name; superseded_by exactly on superseded rows; and the table's columns are the data dictionary's
with problems as (
    select response_id, source_row, outcome, reason, csp_code, status, matched_by, superseded_by, problem
    from (
        select
            *,
            case
                when response_id is null then 'no response_id'
                when outcome is null or outcome not in ('counted', 'superseded', 'not_analysable', 'quarantined')
                    then 'unknown outcome'
                when (outcome = 'counted') <> (reason is null) then 'a counted row has no reason, every other row has one'
                when outcome = 'superseded' and reason not in ('completed_return_preferred', 'later_return_counted')
                  or outcome = 'not_analysable' and reason <> 'screening_question_unanswered'
                  or outcome = 'quarantined' and reason not in ('unknown_csp', 'ambiguous_csp', 'invalid_value', 'invalid_timestamp')
                    then 'reason does not belong to the outcome'
                when outcome <> 'quarantined' and csp_code is null then 'no CSP for a matched row'
                when outcome <> 'quarantined' and (status is null or status not in ('completed', 'partial'))
                    then 'status neither completed nor partial'
                when matched_by not in ('code', 'name') then 'matched_by neither code nor name'
                when (outcome = 'superseded') <> (superseded_by is not null) then 'superseded_by set on a row that is not superseded, or missing on one that is'
            end as problem
        from marts.submission_outcome
        where survey_year = {{ year }}
    )
    where problem is not null
),
layout as (
    select e.column_name as expected, a.column_name as present
    from (select unnest(['survey_year', 'response_id', 'csp_code', 'outcome', 'reason', 'source_row', 'status',
                         'matched_by', 'superseded_by', 'detail']) as column_name) e
    full join (select column_name from information_schema.columns
               where table_schema = 'marts' and table_name = 'submission_outcome') a using (column_name)
    where e.column_name is null or a.column_name is null
)
select * from problems
union all
select null, null, null, null, null, null, null, null,
       coalesce(expected, present) || case when expected is null then ': a column the data dictionary does not have'
                                           else ': a column missing' end
from layout
