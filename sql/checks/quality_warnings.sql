-- asset: marts.quality_warning
-- blocking: false
-- description: Inputs the rules handled, counted by kind: answers the routing did not ask, ignored (rule 4); `none` ticked with another option, the `none` tick dropped (rule 5); a declared number of arrangements that differs from the blocks returned (rule 6)
-- count_by: warning
select warning, response_id, csp_code, item, detail
from marts.quality_warning
where survey_year = {{ year }}
order by warning, response_id
