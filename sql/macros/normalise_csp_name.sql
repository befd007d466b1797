-- Rule 1's name normalisation, one definition for every model that matches CSPs by name:
-- case folded; `&` read as `and`; apostrophes removed; every other punctuation mark read as a
-- space; runs of spaces collapsed to one; leading and trailing spaces trimmed.
create or replace macro normalise_csp_name(name) as
    nullif(trim(regexp_replace(
        regexp_replace(
            regexp_replace(replace(lower(name), '&', ' and '), '[''’‘ʼ`]', '', 'g'),
            '[^\p{L}\p{N}\s]', ' ', 'g'),
        '\s+', ' ', 'g')), '');
