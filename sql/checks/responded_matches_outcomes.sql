-- asset: marts.csp_return
-- blocking: true
-- description: One row per CSP of the year's frame and none for another; responded and response_id agree with the CSP's counted row in submission_outcome
with frame as (
    select csp_code from staging.stg_frame where survey_year = {{ year }}
),
csp_return as (
    select csp_code, responded, response_id from marts.csp_return where survey_year = {{ year }}
),
counted as (
    select csp_code, response_id from marts.submission_outcome where survey_year = {{ year }} and outcome = 'counted'
)
select
    csp_code, f.csp_code is not null as in_frame, c.csp_code is not null as in_csp_return,
    c.responded, c.response_id, o.response_id as counted_response_id
from frame f
full join csp_return c using (csp_code)
full join counted o using (csp_code)
where f.csp_code is null or c.csp_code is null
   or coalesce(c.responded, false) <> (o.response_id is not null)
   or c.response_id is distinct from o.response_id
