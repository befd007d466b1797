-- asset: marts.submission_outcome
-- blocking: true
-- description: No table outside the raw layer has a respondent_* column (rule 7)
-- examines: information_schema.columns where table_catalog = current_database() and table_schema <> 'raw'
select table_schema, table_name, column_name
from information_schema.columns
where table_catalog = current_database() and table_schema <> 'raw' and column_name like 'respondent\_%' escape '\'
