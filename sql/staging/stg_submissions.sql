-- One row per export row: types parsed, labels trimmed and case-folded, personal data dropped.
-- Answer columns come from the questionnaire; respondent_* columns are never selected.
select
    {{ year }} as survey_year,
    try_cast(trim(response_id) as bigint) as response_id,
    rowid + 1 as source_row,
    nullif(lower(trim(status)), '') as status,
    nullif(trim(started), '') as started,
    nullif(trim(ended), '') as ended,
    try_strptime(nullif(trim(started), ''), {{ lit(qn.timestamp_format) }}) as started_at,
    try_strptime(nullif(trim(ended), ''), {{ lit(qn.timestamp_format) }}) as ended_at,
    nullif(upper(trim(csp_code)), '') as csp_code,
    nullif(trim(csp_name), '') as csp_name,
    normalise_csp_name(csp_name) as csp_name_normalised,
{%- for c in qn.columns() %}
{%- if c.role == 'text' %}
    nullif(trim({{ ident(c.name) }}), '') as {{ ident(c.name) }}{{ "," if not loop.last }}
{%- else %}
    nullif(lower(trim({{ ident(c.name) }}, {{ lit(label_padding) }})), '') as {{ ident(c.name) }}{{ "," if not loop.last }}
{%- endif %}
{%- endfor %}
from {{ source('raw', 'survey_export') }}
