"""Great Expectations suites on the marts with one row per question and option.

The suites are GX ExpectationSuites, kept as GX's own JSON in `assets/expectations/`, one per
mart and questionnaire version (`question_summary_iom_2013.json`): what must follow the
questionnaire (its question/option pairs, units, version) is written into them by `build_suite`
(`python -m iom_pipeline.quality.expectations` rewrites the files; a test keeps them current).
What depends on the year's data is a suite parameter (`{"$PARAMETER": "frame_size"}`), given at
run time by `suite_parameters`.

`run_suites` validates the year's rows of each mart, read into a pandas frame (GX's SQL
datasource returns empty metrics over duckdb-engine; these marts stay small at any export size),
with a ValidationDefinition and a Checkpoint whose UpdateDataDocsAction adds the run to the Data
Docs site. The validation results the site is built from are kept beside it (`_store/`), the
latest run per suite and survey year, so the site shows every year.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from iom_pipeline.paths import ASSETS_DIR
from iom_pipeline.quality import SUITE_TABLES
from iom_pipeline.questionnaire import Questionnaire, all_questionnaires, questionnaire_for_year

SUITES_DIR = ASSETS_DIR / "expectations"
DATASOURCE = "iom_warehouse"
DOCS_SITE = "iom_data_docs"
# BASIC: counts and up to 10 unexpected values, enough to say what went wrong.
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 10}
MAX_EXAMPLES = 5
# The response rate's row, which question_summary adds to the questionnaire's questions.
RESPONSE = ("response", "responded", "csp")


def parameter(name: str) -> dict:
    return {"$PARAMETER": name}


# -- the suites ---------------------------------------------------------------------------
def suite_name(table: str, version: str) -> str:
    return f"{table}_{version}"


def build_suite(table: str, qn: Questionnaire) -> gx.ExpectationSuite:
    """The suite for one mart under one questionnaire version."""
    pairs = [[RESPONSE[0], RESPONSE[1]], *([q.id, o.id] for q in qn.questions for o in [*q.options, *q.derived_options])]
    units = [[RESPONSE[0], RESPONSE[2]], *([q.id, q.unit] for q in qn.questions)]
    question_options = gxe.ExpectColumnPairValuesToBeInSet(
        column_A="question_id", column_B="option_id", value_pairs_set=pairs,
        notes="No option that the questionnaire does not define.")
    question_units = gxe.ExpectColumnPairValuesToBeInSet(
        column_A="question_id", column_B="unit", value_pairs_set=units,
        notes="Each question is summarised in its questionnaire unit.")
    percentages = [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=100) for c in ("pct", "pct_rounded")]
    if table == "question_summary":
        expectations = [
            gxe.ExpectTableColumnsToMatchSet(exact_match=True, column_set=[
                "survey_year", "question_id", "option_id", "unit", "base_n", "n", "pct", "pct_rounded", "ci_lower",
                "ci_upper", "question_text", "option_label", "question_order", "option_order", "is_derived",
                "questionnaire_version"]),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["survey_year", "question_id", "option_id"]),
            question_options,
            gxe.ExpectTableRowCountToEqual(
                value=len(pairs),
                notes="With the two above: every option of every question (derived options too) has its row."),
            question_units,
            *(gxe.ExpectColumnValuesToNotBeNull(column=c) for c in ("question_id", "option_id", "base_n", "n")),
            gxe.ExpectColumnValuesToBeInSet(column="questionnaire_version", value_set=[qn.version]),
            *(gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in ("base_n", "n")),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="base_n", column_B="n", or_equal=True, notes="n <= base_n."),
            *percentages,
            *(gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=100) for c in ("ci_lower", "ci_upper")),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="pct", column_B="ci_lower", or_equal=True, ignore_row_if="either_value_is_missing",
                notes="The interval contains the estimate."),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="ci_upper", column_B="pct", or_equal=True, ignore_row_if="either_value_is_missing"),
            gxe.ExpectColumnValuesToNotBeNull(column="pct", row_condition=Column("base_n") > 0),
            gxe.ExpectColumnValuesToBeNull(column="pct", row_condition=Column("base_n") == 0,
                                           notes="No percentage of an empty base."),
            gxe.ExpectColumnValuesToNotBeNull(column="pct_rounded", row_condition=Column("base_n") > 0),
            gxe.ExpectColumnValuesToBeBetween(
                column="base_n", min_value=parameter("frame_size"), max_value=parameter("frame_size"),
                row_condition=Column("question_id") == RESPONSE[0], notes="The response rate's base is the frame."),
            gxe.ExpectColumnValuesToBeBetween(
                column="n", min_value=parameter("counted_returns"), max_value=parameter("counted_returns"),
                row_condition=Column("question_id") == RESPONSE[0], notes="The responding CSPs are the counted returns."),
        ]
    elif table == "year_comparison":
        pair_columns = [f"{c}_{end}" for end in ("from", "to") for c in ("base_n", "n", "pct", "pct_rounded")]
        expectations = [
            gxe.ExpectTableColumnsToMatchSet(exact_match=True, column_set=[
                "year_from", "year_to", "question_id", "option_id", "unit", "base_n_from", "n_from", "pct_from",
                "pct_rounded_from", "base_n_to", "n_to", "pct_to", "pct_rounded_to", "change_pp", "change_pp_rounded",
                "diff_ci_lower", "diff_ci_upper", "significant", "method", "question_text", "option_label",
                "question_order", "option_order"]),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["year_to", "year_from", "question_id", "option_id"]),
            question_options,
            question_units,
            *(gxe.ExpectColumnValuesToNotBeNull(column=c) for c in (
                "year_from", "question_id", "option_id", *pair_columns, "change_pp", "diff_ci_lower", "diff_ci_upper",
                "significant")),
            gxe.ExpectColumnValuesToBeInSet(
                column="year_from", value_set=parameter("previous_survey_year"),
                notes="Each year is compared with the latest earlier survey year in the warehouse."),
            *(gxe.ExpectColumnValuesToBeBetween(column=c, min_value=1) for c in ("base_n_from", "base_n_to")),
            *(gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in ("n_from", "n_to")),
            *(gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A=f"base_n_{end}", column_B=f"n_{end}", or_equal=True)
              for end in ("from", "to")),
            *(gxe.ExpectColumnValuesToBeBetween(column=f"{c}_{end}", min_value=0, max_value=100)
              for c in ("pct", "pct_rounded") for end in ("from", "to")),
            *(gxe.ExpectColumnValuesToBeBetween(column=c, min_value=-100, max_value=100)
              for c in ("change_pp", "change_pp_rounded")),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="diff_ci_upper", column_B="diff_ci_lower", or_equal=True,
                notes="Newcombe's interval is an interval."),
            gxe.ExpectColumnValuesToBeInSet(
                column="method", value_set=["Newcombe hybrid score interval (method 10), 95%, two independent proportions"]),
        ]
    else:
        raise ValueError(f"no expectation suite for {table!r}: one of {', '.join(SUITE_TABLES)}")
    return gx.ExpectationSuite(
        name=suite_name(table, qn.version),
        expectations=expectations,
        meta={"table": SUITE_TABLES[table][0], "questionnaire": qn.version},
    )


def suite_path(table: str, version: str) -> Path:
    return SUITES_DIR / f"{suite_name(table, version)}.json"


def suite_json(suite: gx.ExpectationSuite) -> str:
    """GX's own serialisation of a suite, as the files keep it."""
    return json.dumps(suite.to_json_dict(), indent=2) + "\n"


def write_suites() -> list[Path]:
    """(Re)write every suite file: each mart under each questionnaire version."""
    written = []
    SUITES_DIR.mkdir(parents=True, exist_ok=True)
    for qn in all_questionnaires():
        for table in SUITE_TABLES:
            path = suite_path(table, qn.version)
            path.write_text(suite_json(build_suite(table, qn)), encoding="utf-8")
            written.append(path)
    return written


def load_suite(table: str, version: str) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(**json.loads(suite_path(table, version).read_text(encoding="utf-8")))


def suite_parameters(con, year: int) -> dict:
    """The values the suites take from the year's data."""
    year = int(year)
    one = lambda sql, *args: con.execute(sql, list(args)).fetchall()[0][0]  # noqa: E731
    previous = one("select max(survey_year) from marts.question_summary where survey_year < ?", year)
    return {
        "frame_size": one(f"select count(*) from raw.frame_{year}"),
        "counted_returns": one(
            "select count(*) from marts.submission_outcome where survey_year = ? and outcome = 'counted'", year),
        "previous_survey_year": [] if previous is None else [previous],
    }


# -- running them --------------------------------------------------------------------------
@dataclass
class SuiteResult:
    table: str  # e.g. question_summary
    suite: str  # the GX suite, e.g. question_summary_iom_2013
    results: list[dict]  # one per expectation, in suite order (see _expectation_row)
    docs_url: str | None = None  # this run's Data Docs page

    @property
    def failures(self) -> list[dict]:
        return [r for r in self.results if not r["success"]]

    @property
    def success(self) -> bool:
        """No critical expectation failed (warnings and infos are reported only)."""
        return not any(r["severity"] == "critical" for r in self.failures)

    def summary(self) -> str:
        met = len(self.results) - len(self.failures)
        lines = [f"{self.suite}: {met}/{len(self.results)} expectations met"]
        lines += [f"  [{r['severity']}] {describe(r)}" for r in self.failures]
        return "\n".join(lines)


def describe(r: dict) -> str:
    """One line for an expectation's outcome: what, where, and what was seen."""
    text = r["expectation"] + (f" ({r['columns']})" if r["columns"] else "")
    if r["row_condition"]:
        text += f" where {r['row_condition']}"
    seen = [f"error: {r['exception']}"] if r["exception"] else []
    if r["unexpected_count"]:
        seen.append(f"{r['unexpected_count']} unexpected, e.g. {r['unexpected_examples']}")
    if r["missing"]:
        seen.append(f"missing {r['missing']}")
    if not seen and r["observed_value"] is not None:
        seen.append(f"observed {r['observed_value']}")
    return text + (": " + "; ".join(seen) if seen else "")


def _plain(value):
    """A JSON-friendly copy of a value GX observed (numpy and pandas scalars included)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


def _expectation_row(number: int, expectation, result) -> dict:
    """One expectation's outcome, as a row of audit.expectation_result."""
    kwargs = expectation.configuration.kwargs
    raw = result.result or {}
    columns = kwargs.get("column_list") or [kwargs[k] for k in ("column", "column_A", "column_B") if kwargs.get(k)]
    mismatched = (raw.get("details") or {}).get("mismatched") or {}  # a column set: too many, too few
    unexpected = raw.get("partial_unexpected_list") or mismatched.get("unexpected") or []
    info = result.exception_info or {}
    # exception_info is one dict, or one per metric
    infos = [info] if "raised_exception" in info else [i for i in info.values() if isinstance(i, dict)]
    errors = list(dict.fromkeys(str(i.get("exception_message")) for i in infos if i.get("raised_exception")))
    condition = getattr(expectation, "row_condition", None)  # table expectations have none
    return {
        "expectation_no": number,
        "expectation": expectation.expectation_type,
        "columns": ", ".join(columns),
        "row_condition": repr(condition) if condition else None,
        "severity": str(getattr(expectation.severity, "value", expectation.severity)),
        "success": bool(result.success) and not errors,
        "observed_value": _plain(raw.get("observed_value")),
        "element_count": raw.get("element_count"),
        "unexpected_count": raw.get("unexpected_count", len(mismatched.get("unexpected") or []) or None),
        "unexpected_examples": _plain(unexpected[:MAX_EXAMPLES]) or None,
        "missing": _plain(raw.get("partial_missing_list") or mismatched.get("missing")) or None,
        "exception": "; ".join(errors) or None,
        "description": expectation.notes,
    }


def _context(docs_dir: Path):
    """An ephemeral context: validation definitions and checkpoints live for the run; the suites
    and validation results the Data Docs are built from are kept beside the site."""
    in_memory = {"store_backend": {"class_name": "InMemoryStoreBackend"}}
    on_disk = {"class_name": "TupleFilesystemStoreBackend"}
    return gx.get_context(mode="ephemeral", project_config={
        "config_version": 4,
        "stores": {
            "expectations_store": {"class_name": "ExpectationsStore", "store_backend": {
                **on_disk, "base_directory": str(docs_dir / "_store" / "expectations")}},
            "validation_definition_store": {"class_name": "ValidationDefinitionStore", **in_memory},
            "checkpoint_store": {"class_name": "CheckpointStore", **in_memory},
            "validation_results_store": {"class_name": "ValidationResultsStore", "store_backend": {
                **on_disk, "base_directory": str(docs_dir / "_store" / "validations")}},
        },
        "expectations_store_name": "expectations_store",
        "validation_results_store_name": "validation_results_store",
        "checkpoint_store_name": "checkpoint_store",
        "data_docs_sites": {DOCS_SITE: {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {**on_disk, "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }},
        "analytics_enabled": False,
        "progress_bars": {"globally": False},
    })


def _forget_earlier_runs(context, suite: str, batch_id: str) -> None:
    """Keep one run per suite and survey year: the site drops the pages of the runs removed."""
    store = context.validation_results_store
    for key in store.list_keys():
        if key.expectation_suite_identifier.name == suite and key.batch_identifier == batch_id:
            store.remove_key(key)


def run_suites(con, year: int, run_name: str, docs_dir: Path) -> dict[str, SuiteResult]:
    """Validate the year's rows of every suite's mart; the Data Docs site in `docs_dir` gets the run."""
    year = int(year)
    version = questionnaire_for_year(year).version
    docs_dir = Path(docs_dir).resolve()
    context = _context(docs_dir)
    source = context.data_sources.add_pandas(DATASOURCE)
    parameters = suite_parameters(con, year)
    run_id = gx.RunIdentifier(run_name=run_name)
    results = {}
    for table, (qualified, year_column) in SUITE_TABLES.items():
        frame = con.execute(f"select * from {qualified} where {year_column} = ?", [year]).df()
        suite = context.suites.add_or_update(load_suite(table, version))
        # One data asset per year's rows: the site lists each survey year's latest run.
        batch = source.add_dataframe_asset(f"{table}_{year}").add_batch_definition_whole_dataframe("rows of the year")
        validation = context.validation_definitions.add(gx.ValidationDefinition(name=suite.name, data=batch, suite=suite))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=suite.name, validation_definitions=[validation], result_format=RESULT_FORMAT,
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=[DOCS_SITE])]))
        _forget_earlier_runs(context, suite.name, batch.get_batch(batch_parameters={"dataframe": frame}).id)
        outcome = checkpoint.run(batch_parameters={"dataframe": frame}, expectation_parameters=parameters, run_id=run_id)
        (key, validated), = outcome.run_results.items()
        by_id = {r.expectation_config.id: r for r in validated.results}
        urls = context.get_docs_sites_urls(resource_identifier=key, site_names=[DOCS_SITE])
        results[table] = SuiteResult(
            table=table,
            suite=suite.name,
            results=[_expectation_row(i, e, by_id[e.id]) for i, e in enumerate(suite.expectations, start=1)],
            docs_url=urls[0]["site_url"] if urls else None,
        )
    return results


def docs_index(docs_dir: Path) -> str:
    """The Data Docs site's index page, named as GX names its pages (file:// and the path)."""
    return "file://" + str(Path(docs_dir).resolve() / "index.html")


if __name__ == "__main__":
    for path in write_suites():
        print(path)
