-- One row per input row of the export: what became of it, and why (rule 3). No personal data.
select
    survey_year,
    response_id,
    csp_code,
    outcome,
    reason,
    source_row,
    status,
    matched_by,
    superseded_by,
    detail
from {{ ref('int_submission_outcome') }}
