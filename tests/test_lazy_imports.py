"""Deferred imports: Great Expectations loads without scipy.stats and altair, which still work
when something does use them (tests/test_expectations.py shows the suites never need them)."""

import subprocess
import sys
import textwrap

from iom_pipeline.paths import PROJECT_ROOT


def run_python(code: str) -> None:
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True, cwd=PROJECT_ROOT)


def test_a_deferred_module_runs_on_first_use():
    run_python(
        """
        import sys
        from iom_pipeline.lazy_imports import defer
        defer({"colorsys"})
        import colorsys
        assert type(sys.modules["colorsys"]).__name__ == "_LazyModule"
        assert colorsys.rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
        assert type(sys.modules["colorsys"]).__name__ == "module"
        """
    )


def test_great_expectations_loads_without_scipy_stats_and_altair_which_still_work():
    run_python(
        """
        import sys
        from iom_pipeline.lazy_imports import UNUSED_BY_GREAT_EXPECTATIONS, load_great_expectations
        gx = load_great_expectations()
        assert gx.ExpectationSuite
        for name in UNUSED_BY_GREAT_EXPECTATIONS:
            assert type(sys.modules[name]).__name__ == "_LazyModule", name
        from scipy import stats
        assert stats.norm.cdf(0.0) == 0.5
        import altair
        assert altair.Chart
        """
    )
