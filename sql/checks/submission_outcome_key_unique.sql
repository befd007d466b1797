-- asset: marts.submission_outcome
-- blocking: true
-- description: (survey_year, response_id) identifies one row of marts.submission_outcome
select survey_year, response_id, count(*) as copies
from marts.submission_outcome
where survey_year = {{ year }}
group by all
having count(*) > 1
