-- One row per ONS CSP: its police force area and region (a merged CSP spans several districts,
-- all in one force area and region).
select
    c.survey_year,
    c.csp_code,
    any_value(c.csp_name) as ons_csp_name,
    any_value(c.pfa_code) as pfa_code,
    any_value(c.pfa_name) as pfa_name,
    any_value(r.region_code) as region_code,
    any_value(r.region_name) as region_name,
    count(distinct c.pfa_code) as pfa_count,
    count(distinct r.region_name) as region_count
from {{ ref('stg_ons_csp_lookup') }} c
left join {{ ref('stg_ons_region_lookup') }} r using (lad_code)
group by c.survey_year, c.csp_code
