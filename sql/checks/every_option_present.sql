-- asset: marts.question_summary
-- blocking: true
-- description: Every option of every question in the year's questionnaire has a row, zero counts included
select o.question_id, o.option_id
from config.option o
left join marts.question_summary q
    on q.survey_year = o.survey_year and q.question_id = o.question_id and q.option_id = o.option_id
where o.survey_year = {{ year }} and q.option_id is null
