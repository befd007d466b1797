-- asset: marts.submission_outcome
-- blocking: true
-- description: No text cell of any table outside the raw layer holds a respondent's name, e-mail or phone number of the year's export, nor any e-mail address or UK phone number (rule 7, by value)
-- examines: information_schema.columns where table_catalog = current_database() and table_schema <> 'raw' and regexp_matches(data_type, '^(VARCHAR|JSON|STRUCT|MAP|UNION)|\[\]$')
-- examples: 50
-- The year's rows of every table (all rows of a table without survey_year), each distinct text
-- once (personal_data_findings in sql/macros/personal_data.sql says what is looked for and why
-- it stays linear). Rows name the table, the column and what was found, never the value.
set variable personal_data_texts = personal_data_cells_sql(current_database(), {{ year }}, false);
set variable personal_data_located = personal_data_cells_sql(current_database(), {{ year }}, true);
select * from personal_data_findings(getvariable('personal_data_texts'), getvariable('personal_data_located'),
                                     'raw.survey_export_{{ year }}')
union all
select * from personal_data_views(current_database())
order by all
