"""The year's publication: figures, report, spreadsheets and CSVs, from the marts.

Pure functions: the caller passes pandas DataFrames read from the marts for one survey year
and an output directory. Nothing here knows about Dagster.

    figures = render_figures(year, marts["question_summary"], out_dir, marts["year_comparison"])
    render_report(year, marts, figures, out_dir / "report.html", synthetic=False)
    write_spreadsheets(year, marts, out_dir, synthetic=False)

Configuration lives in assets/publication/: publication.yaml (suppression rule, wording,
notes, reader labels for codes), figures.yaml (Table 1, Figures 1-6 and the comparison figure),
releases.yaml (statistics status, release dates and contact per survey year), report.yaml (the
report's sections and sentences) and report.html.j2 (its layout).

`release_problems(year, synthetic)` says why a year's publication is not ready to release
(empty when it is); the pipeline's gate refuses to publish while it says anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from iom_pipeline.publication.config import FigureSpec, Settings, figure_specs, load_settings
from iom_pipeline.publication.release import Release, release_for, release_problems

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FigureSpec",
    "Release",
    "Settings",
    "figure_specs",
    "load_settings",
    "release_for",
    "release_problems",
    "render_figures",
    "render_publication",
    "render_report",
    "write_spreadsheets",
]


def render_figures(
    year: int,
    question_summary: pd.DataFrame,
    out_dir: Path,
    year_comparison: pd.DataFrame | None = None,
    **kwargs,
) -> list[dict]:
    from iom_pipeline.publication.figures import render_figures as _render_figures

    return _render_figures(year, question_summary, out_dir, year_comparison, **kwargs)


def render_report(
    year: int,
    marts: dict[str, pd.DataFrame],
    figures: list[dict],
    out_path: Path,
    synthetic: bool,
    **kwargs,
) -> Path:
    from iom_pipeline.publication.report import render_report as _render_report

    return _render_report(year, marts, figures, out_path, synthetic, **kwargs)


def write_spreadsheets(
    year: int,
    marts: dict[str, pd.DataFrame],
    out_dir: Path,
    synthetic: bool,
    **kwargs,
) -> list[Path]:
    from iom_pipeline.publication.spreadsheets import write_spreadsheets as _write_spreadsheets

    return _write_spreadsheets(year, marts, out_dir, synthetic, **kwargs)


render_figures.__doc__ = "See iom_pipeline.publication.figures.render_figures."
render_report.__doc__ = "See iom_pipeline.publication.report.render_report."
write_spreadsheets.__doc__ = "See iom_pipeline.publication.spreadsheets.write_spreadsheets."


def render_publication(
    year: int,
    marts: dict[str, pd.DataFrame],
    out_dir: Path,
    synthetic: bool,
    settings: Settings | None = None,
) -> dict[str, object]:
    """Everything for one year in out_dir: figures, report.html, spreadsheets and CSVs."""
    out_dir = Path(out_dir)
    figures = render_figures(year, marts["question_summary"], out_dir, marts.get("year_comparison"), settings=settings)
    report = render_report(year, marts, figures, out_dir / "report.html", synthetic, settings=settings)
    files = write_spreadsheets(year, marts, out_dir, synthetic, settings=settings)
    return {"figures": figures, "report": report, "files": files}
