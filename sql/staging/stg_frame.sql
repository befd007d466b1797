-- The survey frame: the CSPs the survey was sent to, codes and names tidied for matching.
select
    {{ year }} as survey_year,
    upper(trim(csp_code)) as csp_code,
    trim(csp_name) as csp_name,
    normalise_csp_name(csp_name) as csp_name_normalised
from {{ source('raw', 'frame') }}
