"""Publication domain checks: nothing leaves the gate that should not."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from iom_pipeline.defs.shared import survey_years, warehouse, year_of
from iom_pipeline.personal_data import UNREADABLE, find_in_files, personal_values
from iom_pipeline.publish import staging_dir

REPORT = dg.AssetKey(["publication", "report"])


@dg.asset_check(
    asset=REPORT,
    name="no_personal_data_in_publication",
    blocking=True,
    partitions_def=survey_years,
    additional_deps=[dg.AssetKey(["publication", "spreadsheets"])],
    description="No respondent name, e-mail or phone number of the year's export appears in any staged "
    "publication file (report, figures, CSV, spreadsheets).",
)
def no_personal_data_in_publication(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource):
    year = year_of(context)
    out = staging_dir(year, context.run.run_id)
    with warehouse(duckdb) as con:
        values = personal_values(con, year)
    hits = find_in_files(out, values)
    unreadable = sorted({f"{f} ({v})" for f, v in hits if v.startswith(UNREADABLE)})
    found = [(f, v) for f, v in hits if not v.startswith(UNREADABLE)]
    files = sorted(p.name for p in out.rglob("*") if p.is_file())
    problems = [f"{len(found)} personal value(s) in {len({f for f, _ in found})} file(s)"] if found else []
    problems += [f"{len(unreadable)} file(s) that could not be read: {', '.join(unreadable)}"] if unreadable else []
    return dg.AssetCheckResult(
        passed=not hits,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) or "none found",
        metadata={
            "files_scanned": len(files),
            "personal_values_searched": len(values),
            # Never echo the values themselves: name the files only.
            "files_with_personal_data": dg.MetadataValue.json(sorted({f for f, _ in found})),
            "files_unreadable": dg.MetadataValue.json(unreadable),
        },
    )


@dg.asset_check(
    asset=REPORT,
    name="release_ready",
    blocking=True,
    partitions_def=survey_years,
    additional_deps=[dg.AssetKey(["publication", "spreadsheets"])],
    description="A publication of real returns has a complete release entry (publication date, next update, "
    "statistics status, contact) in assets/publication/releases.yaml, and every code readers see has a "
    "reader label.",
)
def release_ready(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource):
    from iom_pipeline.defs.publication.assets import is_synthetic, read_marts
    from iom_pipeline.publication import release_problems

    year = year_of(context)
    with warehouse(duckdb) as con:
        marts = read_marts(con, year)
    problems = release_problems(year, is_synthetic(year), marts=marts)
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) or "ready to release",
        metadata={"survey_year": str(year), "problems_found": len(problems), "problems": dg.MetadataValue.json(problems)},
    )
