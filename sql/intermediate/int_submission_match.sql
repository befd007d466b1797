-- Each submission matched to a frame CSP (rule 1): by the code it carries when that code is in
-- the frame, otherwise by normalised name. A name shared by two frame CSPs matches neither.
with frame as (
    select csp_code, csp_name_normalised from {{ ref('stg_frame') }}
),
frame_names as (
    select csp_name_normalised, min(csp_code) as csp_code, count(*) as csps
    from frame
    group by csp_name_normalised
)
select
    s.survey_year,
    s.response_id,
    coalesce(by_code.csp_code, case when by_name.csps = 1 then by_name.csp_code end) as csp_code,
    case
        when by_code.csp_code is not null then 'code'
        when by_name.csps = 1 then 'name'
    end as matched_by,
    coalesce(by_code.csp_code is null and by_name.csps > 1, false) as name_ambiguous
from {{ ref('stg_submissions') }} s
left join frame by_code on by_code.csp_code = s.csp_code
left join frame_names by_name on by_name.csp_name_normalised = s.csp_name_normalised
