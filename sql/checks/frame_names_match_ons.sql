-- asset: marts.dim_csp
-- blocking: false
-- description: Frame CSPs whose name differs from the ONS name for the same code (after rule 1's normalisation): the frame may have a code and a name swapped or mistyped
-- examines: staging.stg_frame where survey_year = {{ year }}
select f.csp_code, f.csp_name as frame_name, g.ons_csp_name
from staging.stg_frame f
join intermediate.int_csp_geography g on g.survey_year = f.survey_year and g.csp_code = f.csp_code
where f.survey_year = {{ year }}
  -- the frame's name as staging normalised it (normalising it here, inside the join's condition,
  -- ran for every row of the frame: a second at a million rows)
  and f.csp_name_normalised is distinct from normalise_csp_name(g.ons_csp_name)
order by f.csp_code
