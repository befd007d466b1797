-- asset: marts.submission_outcome
-- blocking: false
-- description: Rows quarantined (unknown CSP or invalid values): kept, accounted for, not counted
select response_id, source_row, reason, detail
from marts.submission_outcome
where survey_year = {{ year }} and outcome = 'quarantined'
order by source_row
