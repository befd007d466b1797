-- asset: marts.submission_outcome
-- blocking: true
-- description: The year has at least one counted return: a year with no analysable return publishes nothing
-- A row per year with nothing to publish, with the outcomes that left it empty.
select
    count(*) as export_rows,
    count(*) filter (where outcome = 'quarantined') as quarantined,
    count(*) filter (where outcome = 'not_analysable') as not_analysable,
    'no return can be counted: every row was quarantined or left the screening question unanswered' as why
from marts.submission_outcome
where survey_year = {{ year }}
having count(*) filter (where outcome = 'counted') = 0
