-- asset: marts.arrangement
-- blocking: true
-- description: (survey_year, csp_code, arrangement_no) identifies one row of marts.arrangement
-- applies_when: select count(*) > 0 from intermediate.int_arrangements where survey_year = {{ year }}
select survey_year, csp_code, arrangement_no, count(*) as copies
from marts.arrangement
where survey_year = {{ year }}
group by all
having count(*) > 1
