"""Preview a publication from mart extracts saved as CSV.

    python -m iom_pipeline.publication --marts tests/fixtures/publication --year 2013 --out /tmp/pub [--synthetic]

Reads `<mart>.csv` for question_summary, submission_outcome, quality_warning and
year_comparison from --marts, and writes what the pipeline publishes for the year to --out.
Anything that would stop the release at the gate (release_problems) is printed to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from iom_pipeline.publication import release_problems, render_publication
from iom_pipeline.publication.data import read_marts_csv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iom_pipeline.publication", description=__doc__.splitlines()[0])
    parser.add_argument("--marts", type=Path, required=True, help="directory holding <mart>.csv extracts")
    parser.add_argument("--year", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--synthetic", action="store_true", help="the marts come from the synthetic reconstruction")
    args = parser.parse_args(argv)
    marts = read_marts_csv(args.marts)
    result = render_publication(args.year, marts, args.out, args.synthetic)
    print(result["report"])
    for figure in result["figures"]:
        print(figure["svg"], figure["png"], figure["csv"], sep="\n")
    for path in result["files"]:
        print(path)
    for problem in release_problems(args.year, args.synthetic, marts=marts):
        print(f"not ready to release: {problem}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
