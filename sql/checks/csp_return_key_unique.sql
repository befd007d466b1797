-- asset: marts.csp_return
-- blocking: true
-- description: (survey_year, csp_code) identifies one row of marts.csp_return
select survey_year, csp_code, count(*) as copies
from marts.csp_return
where survey_year = {{ year }}
group by all
having count(*) > 1
