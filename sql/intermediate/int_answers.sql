-- The answers that count: cells the routing asked, less an exclusive tick given with others.
-- A filter of int_answer_cells kept as a view over every year, so its 20M rows at 1M returns
-- are never written a second time.
select
    survey_year, response_id, csp_code, item_id, block_no, role, unit, option_id, text_value
from {{ ref('int_answer_cells') }}
where asked and not exclusive_with_other
-- materialised: view
