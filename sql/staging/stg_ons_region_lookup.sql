-- ONS local authority district -> region lookup (2018), renamed. Welsh districts carry the
-- region name "Wales" and no region code: Wales is a country, so its country code stands in.
-- Source: Office for National Statistics licensed under the Open Government Licence v.3.0.
select
    {{ year }} as survey_year,
    LAD18CD as lad_code,
    LAD18NM as lad_name,
    coalesce(nullif(trim(RGN18CD), ''), case when RGN18NM = 'Wales' then 'W92000004' end) as region_code,
    RGN18NM as region_name
from read_csv({{ lit(reference_dir ~ '/ons_lad18_to_rgn18_lookup_EW.csv') }},
              header = true, all_varchar = true, encoding = 'utf-8')
