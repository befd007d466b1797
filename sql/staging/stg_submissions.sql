-- One row per export row: types parsed, labels trimmed and case-folded, personal data dropped.
-- Answer columns come from the questionnaire; respondent_* columns are never selected, and their
-- values do not pass either (rule 7): free text, the CSP name as typed, and anything typed where
-- a label, a status, a time or a code belongs, is redacted of the row's own respondent values
-- and of any e-mail address or UK phone number (redact_personal, sql/macros/personal_data.sql).
{#- A cell that is one of its column's labels (or a valid status, time or code) is kept as it
    is, so an answer-choice cell costs one comparison; only what is left goes through the macro
    (an empty cell compares as NULL: kept). #}
{%- set phone = 'respondent_phone' if 'respondent_phone' in qn.personal_data_columns else 'null' %}
{%- macro redacted(column, unless=None) -%}
{%- if unless -%}
case when not ({{ unless }}) then redact_personal({{ column }}, personal) else {{ column }} end
{%- else -%}
redact_personal({{ column }}, personal)
{%- endif -%}
{%- endmacro %}
{%- macro one_of(column, labels) -%}
{{ column }} in ({% for label in labels %}{{ lit(label.strip(label_padding).lower()) }}{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}
with export as (
    select
        source_row,
        response_id,
        nullif(lower(trim(status)), '') as status,
        nullif(trim(started), '') as started,
        nullif(trim(ended), '') as ended,
        try_strptime(nullif(trim(started), ''), {{ lit(qn.timestamp_format) }}) as started_at,
        try_strptime(nullif(trim(ended), ''), {{ lit(qn.timestamp_format) }}) as ended_at,
        nullif(upper(trim(csp_code)), '') as csp_code,
        nullif(trim(csp_name), '') as csp_name,
{%- for c in qn.columns() %}
{%- if c.role == 'text' %}
        nullif(trim({{ ident(c.name) }}), '') as {{ ident(c.name) }},
{%- else %}
        nullif(lower(trim({{ ident(c.name) }}, {{ lit(label_padding) }})), '') as {{ ident(c.name) }},
{%- endif %}
{%- endfor %}
        personal_values(respondent_name, respondent_email, {{ phone }}) as personal
    from {{ source('raw', 'survey_export') }}
),
redacted as (
    select
        source_row,
        response_id,
        {{ redacted('status', "status in ('completed', 'partial')") }} as status,
        {{ redacted('started', 'started_at is not null') }} as started,
        {{ redacted('ended', 'ended_at is not null') }} as ended,
        started_at,
        ended_at,
        {{ redacted('csp_code', "regexp_full_match(csp_code, '[A-Z][0-9]{8}')") }} as csp_code,
        {{ redacted('csp_name') }} as csp_name,
{%- for c in qn.columns() %}
{%- if c.role == 'text' %}
        {{ redacted(ident(c.name)) }} as {{ ident(c.name) }}{{ "," if not loop.last }}
{%- elif c.role == 'tick' %}
        {{ redacted(ident(c.name), one_of(ident(c.name), [c.label])) }} as {{ ident(c.name) }}{{ "," if not loop.last }}
{%- else %}
        {{ redacted(ident(c.name), one_of(ident(c.name), qn.question(c.item_id).options | map(attribute='label'))) }} as {{ ident(c.name) }}{{ "," if not loop.last }}
{%- endif %}
{%- endfor %}
    from export
)
select
    {{ year }} as survey_year,
    try_cast(trim(response_id) as bigint) as response_id,
    source_row,
    status,
    started,
    ended,
    started_at,
    ended_at,
    csp_code,
    csp_name,
    normalise_csp_name(csp_name) as csp_name_normalised,
{%- for c in qn.columns() %}
    {{ ident(c.name) }}{{ "," if not loop.last }}
{%- endfor %}
from redacted
