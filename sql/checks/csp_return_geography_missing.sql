-- asset: marts.csp_return
-- blocking: false
-- description: Frame CSPs absent from the ONS lookups: no police force area or region, so missing from those breakdowns
select csp_code, csp_name, pfa_code, region_code
from marts.csp_return
where survey_year = {{ year }} and (pfa_code is null or region_code is null)
