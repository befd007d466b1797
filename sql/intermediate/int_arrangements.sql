-- One row per arrangement (rule 6): a block the routing asked with at least one non-empty cell.
-- The block number is kept as the arrangement number, so gaps (a1, a3) stay traceable.
select
    survey_year,
    response_id,
    csp_code,
    unnest(arrangement_blocks) as arrangement_no
from {{ ref('int_counted_answers') }}
