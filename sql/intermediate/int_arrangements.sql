-- One row per arrangement (rule 6): a block the routing asked with at least one non-empty cell.
-- The block number is kept as the arrangement number, so gaps (a1, a3) stay traceable.
select
    survey_year,
    response_id,
    csp_code,
    block_no as arrangement_no
from {{ ref('int_answer_cells') }}
where block_no > 0 and asked
group by survey_year, response_id, csp_code, block_no
