-- asset: marts.csp_return
-- blocking: true
-- description: Each row as the questionnaire defines it: an ONS GSS code and a name; responded given; a counted return with its arrangements (0 to the questionnaire's blocks) and an answer to the screening question; single-choice answers among their question's option ids; the columns only another year's questionnaire has left empty; and the table's columns are the key, geography and response columns and the questionnaires' answer columns
--
-- Answer columns are named by the questionnaire (sql/marts/csp_return.sql): a single-choice
-- question's id, <question>_<option> for each option of a multi-select question (derived options
-- too), a free-text item's id. The table holds every survey year's rows, hence every year's
-- columns. The first statement lists them from config.*, for every year loaded; the second
-- names the columns to read (this year's single-choice answers, and those only other years have);
-- csp_code keeps that list from being empty.
set variable csp_return_answer_columns = (
    select list({'survey_year': survey_year, 'column_name': column_name, 'single': single})
    from (
        select survey_year, question_id as column_name, true as single
        from config.question where unit = 'csp' and question_type = 'single'
        union all
        select q.survey_year, q.question_id || '_' || o.option_id, false
        from config.question q join config.option o using (survey_year, question_id)
        where q.unit = 'csp' and q.question_type = 'multi'
        union all
        select distinct survey_year, item_id, false from config.column_map where unit = 'csp' and role = 'text'
    )
);
set variable csp_return_read_columns = (
    select ['csp_code'] || coalesce(list(distinct a.column_name), [])
    from unnest(getvariable('csp_return_answer_columns')) as t(a)
    join information_schema.columns c
        on c.table_schema = 'marts' and c.table_name = 'csp_return' and c.column_name = a.column_name
    where (a.survey_year = {{ year }} and a.single)
       or a.column_name not in (
           select b.column_name from unnest(getvariable('csp_return_answer_columns')) as u(b) where b.survey_year = {{ year }})
);
with answer_columns as (
    select a.* from unnest(getvariable('csp_return_answer_columns')) as t(a)
),
this_year as (
    select column_name, single from answer_columns where survey_year = {{ year }}
),
screening as (
    select question_id from config.question where survey_year = {{ year }} and unit = 'csp'
    order by question_order limit 1
),
blocks as (
    select max(block_no) as block_count from config.column_map where survey_year = {{ year }}
),
-- one row per (CSP, column read); the csp_code row carries the row-level rules
cells as (
    select * from (
        select
            csp_code as row_csp_code, csp_name as row_csp_name, responded as row_responded,
            response_id as row_response_id, arrangements_returned as row_arrangements_returned,
            columns(getvariable('csp_return_read_columns'))::varchar
        from marts.csp_return
        where survey_year = {{ year }}
    ) unpivot include nulls (answer for column_name in (columns(* exclude (
        row_csp_code, row_csp_name, row_responded, row_response_id, row_arrangements_returned))))
),
problems as (
    select
        c.row_csp_code as csp_code, c.column_name, c.answer,
        case
            when c.column_name = 'csp_code' then case
                when c.row_csp_code is null then 'no csp_code'
                when not regexp_full_match(c.row_csp_code, '[EW][0-9]{8}') then 'csp_code is not an ONS GSS code'
                when c.row_csp_name is null then 'no csp_name'
                when c.row_responded is null then 'responded not given'
                when c.row_response_id is not null and c.row_arrangements_returned is null
                    then 'a counted return without its number of arrangements'
                when c.row_arrangements_returned not between 0 and (select block_count from blocks)
                    then 'arrangements_returned outside 0 to the questionnaire''s blocks'
            end
            when t.single then case
                when c.answer is null and c.row_response_id is not null and c.column_name in (select question_id from screening)
                    then 'a counted return without an answer to the screening question'
                when c.answer is not null and o.option_id is null then 'not an option id of the question'
            end
            when c.answer is not null then 'an answer in a column only another year''s questionnaire has'
        end as problem
    from cells c
    left join this_year t using (column_name)
    left join config.option o
        on o.survey_year = {{ year }} and o.question_id = c.column_name and o.option_id = c.answer
),
layout as (
    select null as csp_code, column_name, null as answer, 'a column of this year''s questionnaire is missing' as problem
    from this_year
    where column_name not in (select column_name from information_schema.columns where table_schema = 'marts' and table_name = 'csp_return')
    union all
    select null, column_name, null, 'a column neither the mart nor any questionnaire defines'
    from information_schema.columns
    where table_schema = 'marts' and table_name = 'csp_return'
      and column_name not in ('survey_year', 'csp_code', 'csp_name', 'pfa_code', 'pfa_name', 'region_code', 'region_name',
                              'responded', 'response_id', 'arrangements_returned')
      and column_name not in (select column_name from answer_columns)
)
select * from layout
union all
select * from problems where problem is not null
