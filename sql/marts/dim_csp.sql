-- The CSP dimension: every frame CSP with its police force area and region.
select
    f.survey_year,
    f.csp_code,
    f.csp_name,
    g.pfa_code,
    g.pfa_name,
    g.region_code,
    g.region_name,
    g.csp_code is not null as in_ons_lookup
from {{ ref('stg_frame') }} f
left join {{ ref('int_csp_geography') }} g using (csp_code)
