"""The data dictionary (assets/data_dictionary.yaml) describes every table the pipeline writes in
the warehouse, column by column, with the type each column really has; docs/data-dictionary.md
is generated from it; only the marts are in the BI snapshot."""

from __future__ import annotations

from collections import defaultdict

import duckdb
import pytest

from iom_pipeline import dictionary
from iom_pipeline.mart_digests import DDL as DIGEST_DDL
from iom_pipeline.sql_models import discover_models
from iom_pipeline.validation import FAILURE_DDL
from iom_pipeline.warehouse import CONFIG_TABLES, SCHEMAS

YEARS = (2011, 2013)


def ddl_columns(ddl: str) -> dict[str, str]:
    return dict(column.split(" ", 1) for column in ddl.split(", "))


def yaml_columns(table: str) -> dict[str, str]:
    return {c.name: c.type for c in dictionary.fixed_columns(table)}


def test_the_data_dictionary_markdown_is_generated_from_the_yaml():
    assert dictionary.DICTIONARY_MARKDOWN.read_text(encoding="utf-8") == dictionary.data_dictionary_markdown(), (
        "docs/data-dictionary.md differs from assets/data_dictionary.yaml: run `.venv/bin/python -m iom_pipeline.dictionary`"
    )


def test_the_markdown_is_grouped_by_layer_marts_first():
    markdown = dictionary.data_dictionary_markdown()
    layers = dictionary.load_dictionary()["layers"]
    assert list(layers)[0] == "marts"
    assert set(layers) == set(SCHEMAS)
    positions = [markdown.index(f"\n## {spec['title']}\n") for spec in layers.values()]
    assert positions == sorted(positions)
    for table in dictionary.described_tables():
        assert f"\n### `{table}` — " in markdown, table


def test_only_the_marts_are_in_the_snapshot():
    snapshot = dictionary.described_tables(snapshot_only=True)
    assert snapshot and all(t.startswith("marts.") for t in snapshot)
    assert [t for t in dictionary.described_tables() if t.startswith("marts.")] == snapshot
    assert not dictionary.in_snapshot("audit.expectation_result")
    assert not dictionary.in_snapshot("raw.survey_export_2013")


def test_per_year_tables_resolve_to_their_entry():
    assert dictionary.dictionary_key("raw.survey_export_2013") == "raw.survey_export_<year>"
    assert dictionary.dictionary_key("iom.raw.frame_2011") == "raw.frame_<year>"
    assert dictionary.dictionary_key("raw.published_2027") == "raw.published_<year>"
    assert dictionary.dictionary_key("csp_return") == "marts.csp_return"
    assert dictionary.dictionary_key("snapshot.marts.csp_return") == "marts.csp_return"
    for unknown in ("raw.survey_export_latest", "raw.survey_export_13", "staging.stg_unknown", "audit.nothing"):
        with pytest.raises(KeyError):
            dictionary.dictionary_key(unknown)


def test_every_model_and_table_the_code_writes_has_an_entry():
    described = set(dictionary.described_tables())
    expected = {f"{m.layer}.{m.name}" for m in discover_models().values()}
    expected |= {f"config.{name}" for name in CONFIG_TABLES}
    expected |= {"raw.survey_export_<year>", "raw.frame_<year>", "raw.published_<year>"}
    expected |= {"audit.validation_failure", "audit.source_file", "audit.check_finding", "audit.expectation_result",
                 "audit.checked_mart_digest"}
    assert expected <= described, sorted(expected - described)


def test_tables_created_from_a_fixed_ddl_match_it_column_for_column():
    """The tables the code creates with a fixed list of columns, checked without a warehouse."""
    for name, ddl in CONFIG_TABLES.items():
        assert yaml_columns(f"config.{name}") == ddl_columns(ddl), name
    assert yaml_columns("audit.validation_failure") == ddl_columns(FAILURE_DDL)
    assert yaml_columns("audit.checked_mart_digest") == ddl_columns(DIGEST_DDL)


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory):
    """The sample's 2011 and 2013 run through the pipeline (`iom sample`, then `iom run`)."""
    data = tmp_path_factory.mktemp("dictionary")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IOM_DATA_DIR", str(data))
        mp.setenv("DAGSTER_HOME", str(data / "dagster_home"))
        from iom_pipeline.cli import main

        assert main(["sample", *(a for y in YEARS for a in ("--year", str(y)))]) == 0
        assert main(["run", *(a for y in YEARS for a in ("--year", str(y))), "--quiet"]) == 0
    con = duckdb.connect(str(data / "warehouse" / "iom.duckdb"), read_only=True)
    yield con
    con.close()


def warehouse_tables(con) -> list[str]:
    return [
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() order by all"
        ).fetchall()
    ]


@pytest.mark.slow
def test_every_column_of_every_warehouse_table_is_described_with_its_type(built_warehouse):
    con = built_warehouse
    tables = warehouse_tables(con)
    assert {t.split(".")[0] for t in tables} == set(SCHEMAS)
    undescribed = []
    for table in tables:
        try:
            dictionary.dictionary_key(table)
        except KeyError:
            undescribed.append(table)
    assert not undescribed, f"tables assets/data_dictionary.yaml does not describe: {undescribed}"
    for table in tables:
        actual = {c: t for c, t, *_ in con.execute(f"describe {table}").fetchall()}
        assert dictionary.table_description(table), table
        for year in YEARS:
            documented = dictionary.documented_columns(con, table, year)
            assert list(documented) == list(actual), table
            missing = sorted(c for c, doc in documented.items() if doc is None or not doc.description.strip())
            assert not missing, f"{table}: no description in assets/data_dictionary.yaml for {missing}"
            wrong = {c: (doc.type, actual[c]) for c, doc in documented.items() if doc.type != actual[c]}
            assert not wrong, f"{table}: documented type differs from the warehouse's (documented, actual): {wrong}"
            # what the UI and the snapshot's comments show
            assert all(dictionary.column_descriptions(con, table, year).values()), table


@pytest.mark.slow
def test_the_samples_export_columns_are_each_described_from_the_questionnaire(built_warehouse):
    """No column of the sample's exports falls back to `other_columns` (kept for a real export's
    extra columns): each is described from its year's questionnaire."""
    con = built_warehouse
    other = dictionary.load_dictionary()["layers"]["raw"]["tables"]["raw.survey_export_<year>"]["other_columns"]
    for year in YEARS:
        documented = dictionary.documented_columns(con, f"raw.survey_export_{year}", year)
        assert [c for c, doc in documented.items() if doc.description == other["description"]] == [], year
        # and from its own year's questionnaire: 2011's arrangement agencies are asked about its area
        if year == 2011:
            assert "in your area" in documented["a1_agency_police"].description


@pytest.mark.slow
def test_no_fixed_column_of_the_dictionary_is_missing_from_the_warehouse(built_warehouse):
    """A description left behind by a dropped or renamed column fails here."""
    con = built_warehouse
    seen: dict[str, set[str]] = defaultdict(set)
    for table in warehouse_tables(con):
        seen[dictionary.dictionary_key(table)] |= {r[0] for r in con.execute(f"describe {table}").fetchall()}
    for key in dictionary.described_tables():
        if key not in seen:
            continue  # a table this sample's run does not write
        stale = sorted(set(yaml_columns(key)) - seen[key])
        assert not stale, f"{key}: described but not in the warehouse: {stale}"
