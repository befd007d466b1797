-- asset: marts.question_summary
-- blocking: true
-- description: 0 <= n <= base_n <= the frame's CSPs (CSP questions) or the arrangements (arrangement questions)
select question_id, option_id, unit, n, base_n
from marts.question_summary
where survey_year = {{ year }} and (
    n < 0 or n > base_n
    or (unit = 'csp' and base_n > (select count(*) from marts.dim_csp where survey_year = {{ year }}))
    or (unit = 'arrangement' and base_n > (select count(*) from marts.arrangement where survey_year = {{ year }}))
)
