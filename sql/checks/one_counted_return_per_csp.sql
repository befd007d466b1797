-- asset: marts.submission_outcome
-- blocking: true
-- description: At most one counted row per frame CSP, and every counted row belongs to the frame (rules 1 and 2)
select o.csp_code, count(*) as counted, d.csp_code is not null as in_frame
from marts.submission_outcome o
left join marts.dim_csp d on d.survey_year = o.survey_year and d.csp_code = o.csp_code
where o.survey_year = {{ year }} and o.outcome = 'counted'
group by o.csp_code, d.csp_code
having count(*) > 1 or d.csp_code is null
