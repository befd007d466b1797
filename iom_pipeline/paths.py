"""Where things live: the project's static assets and the run-time data directory."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
SQL_DIR = PROJECT_ROOT / "sql"
QUESTIONNAIRE_DIR = ASSETS_DIR / "questionnaires"
REFERENCE_DIR = ASSETS_DIR / "reference"
PUBLISHED_FIGURES_CSV = ASSETS_DIR / "published" / "published-figures.csv"


def data_dir() -> Path:
    """`$IOM_DATA_DIR`, default `data/` in the project root (outputs contract)."""
    return Path(os.environ.get("IOM_DATA_DIR") or PROJECT_ROOT / "data").resolve()


def landing_dir(year: int | str | None = None) -> Path:
    base = data_dir() / "landing"
    return base if year is None else base / str(year)


def warehouse_path() -> Path:
    return data_dir() / "warehouse" / "iom.duckdb"


def publication_dir(year: int | str | None = None) -> Path:
    base = data_dir() / "publication"
    return base if year is None else base / str(year)


def bi_snapshot_path() -> Path:
    return publication_dir() / "iom_marts.duckdb"


def work_dir() -> Path:
    """Scratch space on the same filesystem as publication/, so finished files can be renamed in."""
    return data_dir() / "work"


def load_yaml(source):
    """A YAML document (a path or text), parsed with libyaml's C loader where PyYAML has it.

    Every configuration file of the project is read through here: the pure-Python loader cost
    a few hundred milliseconds of each run.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if isinstance(source, Path):
        with source.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=loader)
    return yaml.load(source, Loader=loader)
