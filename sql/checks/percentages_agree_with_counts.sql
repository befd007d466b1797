-- asset: marts.question_summary
-- blocking: true
-- description: pct = 100 n / base_n in [0, 100]; pct_rounded is pct rounded half up
select question_id, option_id, n, base_n, pct, pct_rounded
from marts.question_summary
where survey_year = {{ year }} and base_n > 0 and (
    abs(pct - 100.0 * n::double / base_n) > 1e-9 or pct < 0 or pct > 100
    or pct_rounded <> floor(100.0 * n::double / base_n + 0.5 + 1e-9)
)
