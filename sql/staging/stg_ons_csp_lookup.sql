-- ONS local authority district -> CSP -> police force area lookup (January 2017), renamed.
-- Source: Office for National Statistics licensed under the Open Government Licence v.3.0.
select
    {{ year }} as survey_year,
    LAD17CD as lad_code,
    LAD17NM as lad_name,
    CSP17CD as csp_code,
    CSP17NM as csp_name,
    PFA17CD as pfa_code,
    PFA17NM as pfa_name
from read_csv({{ lit(reference_dir ~ '/ons_lad17_csp17_pfa17_lookup_EW_jan2017_v2.csv') }},
              header = true, all_varchar = true, encoding = 'utf-8')
