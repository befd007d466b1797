"""Reconstructed (SYNTHETIC) survey years.

The IOM survey microdata is not public. `reconstruct` writes, for a survey year, a synthetic
`survey_export.csv`, `frame.csv` and `published.csv` in the exact format of the input contract
(docs/spec/survey-export-format.md), built so that applying the contract's rules and bases
reproduces every figure the report published for that year. How the counts were derived is in
docs/reconstruction.md; the per-year parameters are in assets/synthetic/.
"""

from __future__ import annotations

__all__ = ["reconstruct_year", "write_reconstructed_year"]


def __getattr__(name: str):
    # Imported on first use, so `python -m iom_synthetic.reconstruct` runs cleanly.
    if name in __all__:
        from iom_synthetic import reconstruct

        return getattr(reconstruct, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
