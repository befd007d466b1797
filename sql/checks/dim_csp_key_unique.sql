-- asset: marts.dim_csp
-- blocking: true
-- description: (survey_year, csp_code) identifies one row of marts.dim_csp
select survey_year, csp_code, count(*) as copies
from marts.dim_csp
where survey_year = {{ year }}
group by all
having count(*) > 1
