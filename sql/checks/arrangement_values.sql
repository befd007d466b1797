-- asset: marts.arrangement
-- blocking: true
-- description: Each row as the questionnaire defines it: a CSP, an arrangement number among the questionnaire's blocks and the response_id of that CSP's counted return; single-choice answers (a caseload band) among their question's option ids; the columns only another year's questionnaire has left empty; and the table's columns are the key and the questionnaires' arrangement answer columns
-- applies_when: select count(*) > 0 from intermediate.int_arrangements where survey_year = {{ year }}
--
-- Answer columns are named by the questionnaire (sql/marts/arrangement.sql): a single-choice
-- question's id, <question>_<option> for each option of a multi-select question, a free-text
-- item's id. The table holds every survey year's rows, hence every year's columns. The first
-- statement lists them from config.*, for every year loaded; the second names the columns to
-- read (this year's single-choice answers, and those only other years have); csp_code keeps
-- that list from being empty.
set variable arrangement_answer_columns = (
    select list({'survey_year': survey_year, 'column_name': column_name, 'single': single})
    from (
        select survey_year, question_id as column_name, true as single
        from config.question where unit = 'arrangement' and question_type = 'single'
        union all
        select q.survey_year, q.question_id || '_' || o.option_id, false
        from config.question q join config.option o using (survey_year, question_id)
        where q.unit = 'arrangement' and q.question_type = 'multi' and not o.is_derived
        union all
        select distinct survey_year, item_id, false from config.column_map where unit = 'arrangement' and role = 'text'
    )
);
set variable arrangement_read_columns = (
    select ['csp_code'] || coalesce(list(distinct a.column_name), [])
    from unnest(getvariable('arrangement_answer_columns')) as t(a)
    join information_schema.columns c
        on c.table_schema = 'marts' and c.table_name = 'arrangement' and c.column_name = a.column_name
    where (a.survey_year = {{ year }} and a.single)
       or a.column_name not in (
           select b.column_name from unnest(getvariable('arrangement_answer_columns')) as u(b) where b.survey_year = {{ year }})
);
with answer_columns as (
    select a.* from unnest(getvariable('arrangement_answer_columns')) as t(a)
),
this_year as (
    select column_name, single from answer_columns where survey_year = {{ year }}
),
blocks as (
    select max(block_no) as block_count from config.column_map where survey_year = {{ year }}
),
counted as (
    select response_id, csp_code as counted_csp_code from marts.submission_outcome where survey_year = {{ year }} and outcome = 'counted'
),
-- one row per (arrangement, column read); the csp_code row carries the row-level rules
cells as (
    select * from (
        select
            a.csp_code as row_csp_code, a.arrangement_no as row_arrangement_no, a.response_id as row_response_id,
            o.counted_csp_code as row_counted_csp_code,
            columns(getvariable('arrangement_read_columns'))::varchar
        from marts.arrangement a
        left join counted o using (response_id)
        where a.survey_year = {{ year }}
    ) unpivot include nulls (answer for column_name in (columns(* exclude (
        row_csp_code, row_arrangement_no, row_response_id, row_counted_csp_code))))
),
problems as (
    select
        c.row_csp_code as csp_code, c.row_arrangement_no as arrangement_no, c.column_name, c.answer,
        case
            when c.column_name = 'csp_code' then case
                when c.row_csp_code is null then 'no csp_code'
                when c.row_arrangement_no is null then 'no arrangement_no'
                when c.row_arrangement_no not between 1 and (select block_count from blocks)
                    then 'arrangement_no is not one of the questionnaire''s blocks'
                when c.row_response_id is null then 'no response_id'
                when c.row_counted_csp_code is distinct from c.row_csp_code
                    then 'response_id is not the counted return of the CSP'
            end
            when t.single then case
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
    select null as csp_code, null as arrangement_no, column_name, null as answer,
        'a column of this year''s questionnaire is missing' as problem
    from this_year
    where column_name not in (select column_name from information_schema.columns where table_schema = 'marts' and table_name = 'arrangement')
    union all
    select null, null, column_name, null, 'a column neither the mart nor any questionnaire defines'
    from information_schema.columns
    where table_schema = 'marts' and table_name = 'arrangement'
      and column_name not in ('survey_year', 'csp_code', 'arrangement_no', 'response_id')
      and column_name not in (select column_name from answer_columns)
)
select * from layout
union all
select * from problems where problem is not null
