-- Rule 7: respondents' personal data never leaves the raw layer, by value as well as by column.
-- One definition of what it looks like in text: staging redacts it with `redact_personal`, and
-- the checks look for it everywhere else with `personal_data_findings`. Values shorter than five
-- characters are neither redacted nor looked for: they would match ordinary words.

-- Any e-mail address, with the character before it (group 1, kept). An address inside a URL
-- (sftp://user@host/...) is not one: a slash may neither precede it nor be part of it.
create or replace macro personal_email_pattern() as
    '(^|[\s<>()\[\]{},;:"])[^\s@<>()\[\]{},;:"/]+@[^\s@<>()\[\]{},;:"''/]+\.[^\s@<>()\[\]{},;:"''/.]+';

-- Any UK phone number: 0, +44 or 0044 (and (0)), then 9 or 10 digits, whatever the spaces,
-- dots, hyphens or brackets between them; group 1 is the character before it (kept). A digit
-- or letter before it makes it part of something else (a code, a digest).
create or replace macro personal_phone_pattern() as
    '(^|[^0-9A-Za-z+])((?:\+|00)\s*44\s*(?:\(\s*0\s*\)\s*)?|\(?0)(?:[0-9][\s.\-()]{0,3}){8,9}[0-9]';

-- A text as its words: lower case, split at anything not a letter or digit ("O'Brien" -> o, brien).
create or replace macro personal_words(t) as
    list_filter(regexp_split_to_array(lower(t), '[^\p{L}\p{N}]+'), lambda w: w <> '');

-- A phone number's digits without the trunk or country prefix: the same for 01632 960001,
-- +44 (0)1632 960001 and 0044 1632-960001.
create or replace macro phone_digits(t) as
    regexp_replace(regexp_replace(t, '[^0-9]', '', 'g'), '^(?:0044|44|0)', '');

-- Redaction, one step each; `[redacted]` replaces what is found.
create or replace macro redact_patterns(t) as
    regexp_replace(regexp_replace(t, personal_email_pattern(), '\1[redacted]', 'g'),
                   personal_phone_pattern(), '\1[redacted]', 'g');

-- A row's respondent values as redaction uses them, worked out once per row (not per cell):
-- a name or e-mail shorter than five characters is NULL (the phone number is read only where
-- a cell has six digits).
create or replace macro personal_values(name, email, phone) as {
    'name': case when length(trim(name)) >= 5 then trim(name) end,
    'first_word': case when length(trim(name)) >= 5 then lower(split_part(trim(name), ' ', 1)) end,
    'email': case when length(trim(email)) >= 5 then lower(trim(email)) end,
    'phone': phone
};

-- A value anywhere in the text, case-insensitive, any run of spaces where it has one.
create or replace macro redact_value(t, v) as
    case when v is null or not contains(lower(t), lower(split_part(v, ' ', 1))) then t
         else regexp_replace(t, regexp_replace(regexp_escape(v), '(\\\s)+', '\\s+', 'g'), '[redacted]', 'gi') end;

-- A phone number's digits (phone_digits, at least six) in that order, whatever separates them,
-- with any prefix.
create or replace macro redact_phone(t, phone) as
    list_transform([phone_digits(phone)], lambda d:
        case when coalesce(length(d) < 6 or not contains(regexp_replace(t, '[^0-9]', '', 'g'), d), true) then t
             else regexp_replace(t, '(?:(?:\+|00)\s*44\s*(?:\(\s*0\s*\)\s*)?|\(?0|\+|00)?\s*'
                                    || array_to_string(string_split(d, ''), '[^0-9\pL]{0,3}'), '[redacted]', 'g') end)[1];

-- A text cell of a submission, redacted of the row's own respondent values (`personal`, from
-- personal_values) and of any e-mail address or UK phone number. Linear, and cheap where there
-- is nothing to redact: a cell without an @, six digits or the first word of the row's name or
-- e-mail is returned after a few substring tests and one regular expression; the expressions
-- built from the row's values run only on the others.
create or replace macro redact_personal(cell, personal) as
    case when cell is null then null
         when contains(cell, '@') or contains(lower(cell), personal.first_word) or contains(lower(cell), personal.email)
           or regexp_matches(cell, '[0-9](?:[^0-9]*[0-9]){5}')
           then list_transform([cell], lambda c: list_transform([redact_value(c, personal.name)], lambda r:
                    redact_patterns(redact_phone(redact_value(r, personal.email), personal.phone)))[1])[1]
         else cell end;

-- The SQL that lists every text cell (VARCHAR, JSON, STRUCT, MAP or list columns, cast to text)
-- of every table of `catalog` outside the raw layer: the year's rows where a table has
-- survey_year, all rows otherwise. `located`: with each cell's table and column. Views are
-- left out: their rows are those of the tables they read (see `personal_data_views`).
create or replace macro personal_data_cells_sql(catalog, year, located) as (
    select coalesce(string_agg(
        'select ' || case when located then '''' || replace(c.table_schema || '.' || c.table_name, '''', '''''')
                                            || ''' as table_name, ''' || replace(c.column_name, '''', '''''')
                                            || ''' as column_name, ' else '' end
        || '"' || replace(c.column_name, '"', '""') || '"::varchar as cell from "' || replace(catalog, '"', '""')
        || '"."' || replace(c.table_schema, '"', '""') || '"."' || replace(c.table_name, '"', '""') || '" where "'
        || replace(c.column_name, '"', '""') || '" is not null'
        || case when y.table_name is not null then ' and survey_year = ' || cast(year as integer) else '' end,
        ' union all ' order by c.table_schema, c.table_name, c.ordinal_position), 'select null::varchar as cell where false')
    from information_schema.columns c
    join information_schema.tables t
        on t.table_catalog = c.table_catalog and t.table_schema = c.table_schema and t.table_name = c.table_name
    left join (select table_schema, table_name from information_schema.columns
               where table_catalog = catalog and column_name = 'survey_year') y
        on y.table_schema = c.table_schema and y.table_name = c.table_name
    where c.table_catalog = catalog and c.table_schema <> 'raw' and t.table_type = 'BASE TABLE'
      and regexp_matches(c.data_type, '^(VARCHAR|JSON|STRUCT|MAP|UNION)|\[\]$')
      -- Provenance of the landing files (the source's URL, password shown as ***, file names and
      -- checksums) holds no survey data; an SFTP URL's `user@host` reads as an e-mail address.
      -- The checks' remembered findings are MD5 digests (32 hex digits), never values: a million
      -- of them would double the texts scanned.
      and not (c.table_schema = 'audit' and c.table_name in ('source_file', 'check_finding'))
);

-- Views outside the raw layer that read it: their rows are not those of a scanned table.
create or replace macro personal_data_views(catalog) as table
    select schema_name || '.' || view_name as table_name, cast(null as varchar) as column_name,
           'a view that reads the raw layer' as found, cast(0 as bigint) as distinct_values
    from duckdb_views()
    where database_name = catalog and not internal and schema_name <> 'raw'
      and regexp_matches(sql, '(^|[^\w"])"?raw"?\s*\.', 'i');

-- Where the cells of `texts_sql` (see personal_data_cells_sql; `located_sql` the same cells with
-- their table and column) hold personal data of the export `export_table`: one row per table,
-- column and kind of finding, with the number of distinct values found, never the values.
-- Found: a cell equal to a respondent's value (case-insensitive); a respondent's value among a
-- cell's words (in the same order, whatever the punctuation between them); a respondent's phone
-- number among a cell's digits (the digits of a number written with spaces, brackets, hyphens or
-- a prefix); any e-mail address; any UK phone number. Linear in the cells: each distinct text is
-- hashed once and tested with a few regular expressions; words are joined to the values' first
-- words before longer runs are built, phone digits to the values' digits.
create or replace macro personal_data_findings(texts_sql, located_sql, export_table) as table
with respondent_values as materialized (
    select distinct kind, lower(trim(v)) as value
    from (unpivot (select columns('^respondent_') from query_table(export_table)) on columns(*) into name kind value v)
    where length(trim(v)) >= 5
),
value_words as materialized (select distinct personal_words(value) as words from respondent_values),
value_grams as (select distinct array_to_string(words, ' ') as gram from value_words where len(words) > 0),
first_words as (select words[1] as word, max(len(words)) as longest from value_words where len(words) > 0 group by all),
value_phones as (
    select distinct phone_digits(value) as digits from respondent_values
    where kind = 'respondent_phone' and length(phone_digits(value)) >= 6
),
phone_lengths as (select coalesce(list(distinct length(digits)), []) as lengths from value_phones),
texts as materialized (select distinct cell from query(texts_sql)),
text_words as (
    select cell, w, unnest(w) as word, generate_subscripts(w, 1) as i
    from (select cell, personal_words(cell) as w from texts where regexp_matches(cell, '[\p{L}\p{N}]'))
),
grams as (
    select cell, unnest(list_transform(range(1, longest + 1), lambda n: array_to_string(w[i:i + n - 1], ' '))) as gram
    from text_words join first_words using (word)
),
digit_windows as (
    select cell, unnest(flatten(list_transform(lengths, lambda n:
        list_transform(range(1, length(digits) - n + 2), lambda i: substr(digits, i, n))))) as digits
    from (
        -- runs of digits and separators, not glued to a letter or digit (not part of a code)
        select cell, regexp_replace(unnest(list_filter(
            regexp_extract_all(cell, '(?:^|[^0-9A-Za-z])[0-9][0-9\s.()/+\-]*[0-9][A-Za-z]?', 0),
            lambda r: not regexp_matches(r, '[A-Za-z]$'))), '[^0-9]', '', 'g') as digits
        from texts where regexp_matches(cell, '[0-9](?:[^0-9]*[0-9]){5}')
    ), phone_lengths
),
found as (
    select t.cell, 'a respondent''s value' as found from texts t join respondent_values v on lower(trim(t.cell)) = v.value
    union all
    select g.cell, 'a respondent''s value among its words' from grams g join value_grams using (gram)
    union all
    select w.cell, 'a respondent''s phone number among its digits' from digit_windows w join value_phones using (digits)
    union all
    select cell, 'an e-mail address' from texts where regexp_matches(cell, personal_email_pattern())
    union all
    select cell, 'a UK phone number' from texts where regexp_matches(cell, personal_phone_pattern() || '([^0-9A-Za-z]|$)')
)
-- (the cells' tables and columns are read again only when something was found)
select c.table_name, c.column_name, f.found, count(distinct c.cell) as distinct_values
from (select distinct cell, found from found) f join query(located_sql) c using (cell)
group by all;
