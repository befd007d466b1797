-- asset: marts.year_comparison
-- examines: marts.year_comparison where year_to = {{ year }}
-- blocking: true
-- description: (year_to, year_from, question_id, option_id) identifies one row of marts.year_comparison
-- applies_when: select count(*) > 0 from marts.question_summary where survey_year < {{ year }}
select year_to, year_from, question_id, option_id, count(*) as copies
from marts.year_comparison
where year_to = {{ year }}
group by all
having count(*) > 1
