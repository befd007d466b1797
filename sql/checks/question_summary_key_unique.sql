-- asset: marts.question_summary
-- blocking: true
-- description: (survey_year, question_id, option_id) identifies one row of marts.question_summary
select survey_year, question_id, option_id, count(*) as copies
from marts.question_summary
where survey_year = {{ year }}
group by all
having count(*) > 1
