"""Publication domain checks: nothing leaves the gate that should not."""

import importlib.util
import json
import os
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from iom_pipeline.defs.quality.assets import DOCS_DIR_NAME, EXPECTATION_RESULT, docs_dir
from iom_pipeline.defs.shared import survey_years, warehouse, year_of
from iom_pipeline.personal_data import UNREADABLE, PersonalDataFinder, find_in_files, personal_values
from iom_pipeline.publish import staging_dir

REPORT = dg.AssetKey(["publication", "report"])
MAX_PLACES_SHOWN = 10


def _strings(value) -> list[str]:
    """Every string in a deserialised record (keys included: a metadata label is text too)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for k, v in value.items() for text in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [text for v in value for text in _strings(v)]
    return []


def run_record_texts(instance: dg.DagsterInstance, run: dg.DagsterRun):
    """(place, text) for what Dagster records for a run: the run itself (tags, configuration) and
    every event of its event log so far (log messages, materialisations and check results with
    their metadata), through the instance's public API."""
    yield "run record", "\n".join(_strings(json.loads(dg.serialize_value(run))))
    for entry in instance.all_logs(run.run_id):
        event = entry.dagster_event
        place = f"event log: {entry.step_key or 'run'}, {event.event_type_value if event else 'log message'}"
        yield place, "\n".join(_strings(json.loads(dg.serialize_value(entry))))


def packaged_docs_assets(docs: Path) -> set[Path]:
    """The Data Docs site's files that are Great Expectations' own packaged assets (fonts, images,
    styles under `static/`), byte for byte: copied from the library, never from data, so they are
    not searched (two animated GIFs were most of the check's time). Found without importing GX."""
    spec = importlib.util.find_spec("great_expectations")
    if spec is None or not spec.origin:
        return set()
    packaged, static = Path(spec.origin).parent / "render" / "view" / "static", docs / "static"
    same = set()
    for path in static.rglob("*") if static.is_dir() else ():
        original = packaged / path.relative_to(static)
        if (path.is_file() and original.is_file() and original.stat().st_size == path.stat().st_size
                and original.read_bytes() == path.read_bytes()):
            same.add(path)
    return same


def compute_logs_dir(instance: dg.DagsterInstance, run_id: str) -> Path:
    """Where the instance keeps the run's captured stdout and stderr, when it captures them."""
    home = instance.root_directory or os.environ.get("DAGSTER_HOME", "")
    return Path(home) / "storage" / run_id / "compute_logs"


@dg.asset_check(
    asset=REPORT,
    name="no_personal_data_in_publication",
    blocking=True,
    partitions_def=survey_years,
    additional_deps=[dg.AssetKey(["publication", "spreadsheets"]), EXPECTATION_RESULT],
    description="No respondent name, e-mail or phone number of the year's export appears in any staged "
    "publication file (report, figures, CSV, spreadsheets), in the Great Expectations Data Docs, or in what "
    "Dagster recorded for the run (its event log: messages and metadata; its captured compute logs). Text is "
    "read as a reader sees it (HTML and XML entities unescaped), phone numbers compared as digits.",
)
def no_personal_data_in_publication(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource):
    year = year_of(context)
    run_id = context.run.run_id
    with warehouse(duckdb) as con:
        values = personal_values(con, year)
    finder = PersonalDataFinder(values)
    scanned = {
        "publication": staging_dir(year, run_id),
        DOCS_DIR_NAME: docs_dir(),
        "compute logs": compute_logs_dir(context.instance, run_id),
    }
    packaged = packaged_docs_assets(docs_dir())
    hits: list[tuple[str, str]] = []
    files = 0
    for name, directory in scanned.items():
        hits += [(f"{name}/{f}", v) for f, v in find_in_files(directory, finder, skip=packaged)]
        files += sum(1 for p in directory.rglob("*") if p.is_file() and p not in packaged) if directory.is_dir() else 0
    records = 0
    for place, text in run_record_texts(context.instance, context.run):
        records += 1
        hits += [(place, v) for v in sorted(finder.find(text))]
    unreadable = sorted({f"{f} ({v})" for f, v in hits if v.startswith(UNREADABLE)})
    # Never echo the values themselves: name the places only.
    places = sorted({f for f, v in hits if not v.startswith(UNREADABLE)})
    problems = []
    if places:
        shown = ", ".join(places[:MAX_PLACES_SHOWN]) + (f" and {len(places) - MAX_PLACES_SHOWN} more" if len(places) > MAX_PLACES_SHOWN else "")
        problems.append(f"personal data in {len(places)} place(s): {shown}")
    if unreadable:
        problems.append(f"{len(unreadable)} file(s) that could not be read: {', '.join(unreadable)}")
    return dg.AssetCheckResult(
        passed=not hits,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) or "none found",
        metadata={
            "survey_year": dg.MetadataValue.text(str(year)),
            "files_scanned": files,
            "run_records_scanned": records,
            "personal_values_searched": len(finder),
            "places_with_personal_data": dg.MetadataValue.json(places),
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
